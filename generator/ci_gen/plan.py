"""The target-neutral pipeline: the same jobs, order, conditions and gates for every CI system.

Renderers only translate this plan into their dialect; no decision about *what* runs lives in a
template. Environment values here are data (already stringified) that renderers escape.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import __version__
from .fingerprint import K8S_DIR, STEPS_DIR
from .fingerprint import OUT_DIR as OUT_DIR, REPORT_DIR as REPORT_DIR  # re-exported: callers import them from here
from .infra_jobs import apply_branch, apply_job, infra_jobs
from .manifest import Environment, Manifest

SLI_FILE = ".ci-gen/monitoring/sli.json"  # written by monitoring/sli.py; read by rollout and verify
IMAGE_ENV = f"{OUT_DIR}/image.env"

# Report files the steps write, by the kind of report view that shows them.
REPORTS = {
    "container_scanning": f"{REPORT_DIR}/gl-container-scanning-report.json",
    "sarif": f"{REPORT_DIR}/trivy.sarif",
    "secret_detection": f"{REPORT_DIR}/gl-secret-detection-report.json",
    "cyclonedx": f"{REPORT_DIR}/sbom.cdx.json",
    "model_scan": f"{REPORT_DIR}/model-scan.json",
}


def junit_report(test_name: str) -> str:
    """Where run-test asks pytest (through PYTEST_ADDOPTS) to write its JUnit XML."""
    return f"{REPORT_DIR}/junit-{test_name}.xml"


def deploy_record_path(environment: str) -> str:
    """Where rollout's exit trap writes the deploy record (shared-steps/_deploy_record.py);
    one file per environment, since a Jenkins build deploys them all (docs/report.md)."""
    return f"{REPORT_DIR}/deploy-{environment}.json"


@dataclass(frozen=True)
class Credential:
    """A secret the CI system binds into the job's environment, by purpose; never its value nor
    a CI system's id for it (each target maps purposes to its own credential ids or secrets)."""

    purpose: str  # registry | kubeconfig | cosign
    environment: str | None = None  # the deployment environment's own; None: the pipeline's


@dataclass(frozen=True)
class Images:
    """Toolbox images jobs run in, by runner role; None: the runner's own environment."""

    default: str | None
    gpu: str | None


@dataclass(frozen=True)
class Gate:
    """A person must approve before the job runs."""

    message: str
    submitters: tuple[str, ...] = ()  # user ids and groups; empty: anyone allowed to run the job
    timeout: str = "24h"  # then the job aborts instead of waiting forever


@dataclass(frozen=True)
class Job:
    name: str
    stage: str
    step: str  # shared step script under .ci-gen/steps/
    action: str | None = None  # positional argument of the step
    gpu: bool = False  # runs on the GPU runner class
    needs: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    credentials: tuple[Credential, ...] = ()
    artifacts: tuple[str, ...] = ()  # paths passed on to later jobs
    reports: tuple[tuple[str, str], ...] = ()  # (kind, path) shown by the CI system
    in_built_image: bool = False  # runs inside the freshly built app image
    gate: Gate | None = None
    branch: str | None = None  # runs only on this branch
    environment: str | None = None  # deployment environment it changes
    tier: str | None = None  # the environment's deployment tier
    rollback_on_failure: bool = False  # a failure triggers `rollout rollback` for its environment
    skip_on_schedule: bool = False  # scheduled pipelines never run it
    only_on_schedule: bool = False  # only scheduled pipelines run it (the infra drift check)
    # audience of the OIDC ID token the job gets as SIGSTORE_ID_TOKEN (keyless cosign signing)
    id_token: str | None = None

    @property
    def command(self) -> tuple[str, ...]:
        return (f"{STEPS_DIR}/{self.step}",) + ((self.action,) if self.action else ())


@dataclass(frozen=True)
class Pipeline:
    jobs: tuple[Job, ...]
    variables: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...]
    crons: tuple[str, ...]
    images: Images
    env: tuple[tuple[str, str], ...] = field(default=())  # pipeline-wide CI_GEN_* values
    # (branch, its crons), sorted: for a CI system whose one file runs on every branch
    schedules_by_branch: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def stages(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for job in self.jobs:
            seen.setdefault(job.stage, None)
        return tuple(seen)

    def jobs_in(self, stage: str) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.stage == stage)

    def job(self, name: str) -> Job:
        return next(j for j in self.jobs if j.name == name)


def build_plan(manifest: Manifest) -> Pipeline:
    jobs: list[Job] = []
    jobs += _convert_jobs(manifest)
    jobs.append(_build_job(manifest, jobs))
    jobs += _test_jobs(manifest)
    jobs += _scan_jobs(manifest)
    jobs += infra_jobs(manifest)
    jobs += _deploy_jobs(manifest, jobs)
    return Pipeline(
        jobs=tuple(jobs),
        variables=manifest.variables,
        secrets=manifest.secrets,
        crons=tuple(sorted({s.cron for s in manifest.schedules})),
        schedules_by_branch=_crons_by_branch(manifest),
        images=Images(manifest.runners.image_default, manifest.runners.image_gpu),
        env=(("CI_GEN_APP", manifest.name), ("CI_GEN_VERSION", __version__),
             ("CI_GEN_OUT_DIR", OUT_DIR), ("CI_GEN_REPORT_DIR", REPORT_DIR)),
    )


def _crons_by_branch(manifest: Manifest) -> tuple[tuple[str, tuple[str, ...]], ...]:
    branches: dict[str, set[str]] = {}
    for schedule in manifest.schedules:
        branches.setdefault(schedule.branch, set()).add(schedule.cron)
    return tuple((branch, tuple(sorted(crons))) for branch, crons in sorted(branches.items()))


def _model_file(manifest: Manifest) -> str:
    """Path of the model the image ships: the last conversion's output, or the model itself."""
    if manifest.model is None:
        return ""
    if not manifest.model.convert:
        return manifest.model.path
    last = manifest.model.convert[-1].format
    return f"{OUT_DIR}/model.{_EXTENSIONS[last]}"


_EXTENSIONS = {"onnx": "onnx", "tensorrt": "plan"}


def _convert_jobs(manifest: Manifest) -> list[Job]:
    model = manifest.model
    if model is None:
        return []
    jobs: list[Job] = []
    source, framework = model.path, model.framework
    inputs = json.dumps([{"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in model.inputs],
                        separators=(",", ":"))
    for step in model.convert:
        output = f"{OUT_DIR}/model.{_EXTENSIONS[step.format]}"
        env = [
            ("CI_GEN_CONVERT_FORMAT", step.format),
            ("CI_GEN_MODEL_SOURCE", source),
            ("CI_GEN_MODEL_FRAMEWORK", framework),
            ("CI_GEN_MODEL_INPUTS", inputs),
            ("CI_GEN_CONVERT_OUTPUT", output),
            ("CI_GEN_PARITY_RTOL", repr(step.rtol)),
            ("CI_GEN_PARITY_ATOL", repr(step.atol)),
        ]
        if step.opset is not None:
            env.append(("CI_GEN_ONNX_OPSET", str(step.opset)))
        if model.dynamic:
            env.append(("CI_GEN_MODEL_DYNAMIC", json.dumps({a: list(r) for a, r in model.dynamic}, separators=(",", ":"))))
        if step.precision is not None:
            env.append(("CI_GEN_TRT_PRECISION", step.precision))
        if step.calibration is not None:
            env.append(("CI_GEN_TRT_CALIBRATION", step.calibration))
        if model.entrypoint and framework == "pytorch":
            env.append(("CI_GEN_MODEL_ENTRYPOINT", model.entrypoint))
        jobs.append(Job(
            name=f"convert-{step.format}", stage="convert", step="convert-model",
            gpu=step.format == "tensorrt", needs=tuple(j.name for j in jobs[-1:]),
            env=tuple(env), artifacts=(OUT_DIR, REPORT_DIR),
        ))
        source, framework = output, "onnx"
    return jobs


def _registry(manifest: Manifest) -> tuple[Credential, ...]:
    return (Credential("registry"),)


def _build_job(manifest: Manifest, previous: list[Job]) -> Job:
    image = manifest.image
    env = [
        ("CI_GEN_IMAGE_NAME", image.name),
        ("CI_GEN_IMAGE_BASE", image.base),
        ("CI_GEN_DOCKERFILE", image.dockerfile or ""),
        ("CI_GEN_CONTEXT", image.context),
        ("CI_GEN_BUILDER", image.builder),
        ("CI_GEN_BUILD_ARGS", json.dumps(dict(image.build_args), sort_keys=True, separators=(",", ":"))),
        ("CI_GEN_MODEL_FILE", _model_file(manifest)),
    ]
    if manifest.deploy is not None:  # for the generated Dockerfile's HEALTHCHECK
        env += [("CI_GEN_PORT", str(manifest.deploy.port)), ("CI_GEN_HEALTH_PATH", manifest.deploy.health_path)]
    return Job(name="build-image", stage="build", step="build-image",
               needs=tuple(j.name for j in previous[-1:]), env=tuple(env),
               credentials=_registry(manifest), artifacts=(OUT_DIR,), reports=(("dotenv", IMAGE_ENV),))


def _test_jobs(manifest: Manifest) -> list[Job]:
    return [
        Job(name=f"test-{t.name}", stage="test", step="run-test", gpu=t.gpu, needs=("build-image",),
            env=(("CI_GEN_TEST_NAME", t.name), ("CI_GEN_TEST_COMMAND", t.run), ("CI_GEN_TEST_GPU", "1" if t.gpu else "0"),
                 ("CI_GEN_IMAGE_NAME", manifest.image.name), ("CI_GEN_TEST_JUNIT", junit_report(t.name))),
            credentials=_registry(manifest), in_built_image=True, reports=(("junit", junit_report(t.name)),))
        for t in manifest.tests
    ]


def _scan_jobs(manifest: Manifest) -> list[Job]:
    scan = manifest.scan
    image_env = (("CI_GEN_IMAGE_NAME", manifest.image.name),)
    jobs = [Job(
        name="scan-image", stage="scan", step="scan", action="image", needs=("build-image",),
        env=image_env + (("CI_GEN_SCAN_SEVERITY", scan.severity),
                         ("CI_GEN_SCAN_IGNORE_UNFIXED", "1" if scan.ignore_unfixed else "0")),
        credentials=_registry(manifest), artifacts=(REPORT_DIR,),
        reports=(("container_scanning", REPORTS["container_scanning"]), ("sarif", REPORTS["sarif"])),
    )]
    if scan.secrets:
        jobs.append(Job(name="scan-secrets", stage="scan", step="scan", action="secrets", artifacts=(REPORT_DIR,),
                        reports=(("secret_detection", REPORTS["secret_detection"]),)))
    if scan.sbom:
        jobs.append(Job(name="sbom", stage="scan", step="scan", action="sbom", needs=("build-image",), env=image_env,
                        credentials=_registry(manifest), artifacts=(REPORT_DIR,),
                        reports=(("cyclonedx", REPORTS["cyclonedx"]),)))
    if scan.model and manifest.model is not None:
        jobs.append(Job(name="scan-model", stage="scan", step="scan", action="model",
                        env=(("CI_GEN_MODEL_SOURCE", manifest.model.path),), artifacts=(REPORT_DIR,),
                        reports=(("model_scan", REPORTS["model_scan"]),)))
    if scan.sign:
        jobs.append(Job(name="sign-image", stage="scan", step="sign", action="sign", needs=("build-image", "scan-image"),
                        env=image_env, credentials=_registry(manifest) + (Credential("cosign"),),
                        skip_on_schedule=True, id_token="sigstore"))
    return jobs


def _deploy_jobs(manifest: Manifest, previous: list[Job]) -> list[Job]:
    deploy = manifest.deploy
    if deploy is None:
        return []
    gates = [j.name for j in previous if j.stage in ("build", "test", "scan")]
    jobs: list[Job] = []
    branch = None
    for env in deploy.environments:
        # An environment waits for the one before it, so it can only run where that one runs:
        # it inherits the branch rule (else GitLab refuses a job that needs an excluded job).
        # The same holds for the infrastructure apply it waits for.
        branch = apply_branch(manifest, env.name, env.branch or branch)
        before = tuple(j.name for j in jobs[-1:])
        apply = apply_job(manifest, env.name, env.tier, env.approval, branch)
        jobs += [apply] if apply else []
        needs = tuple(gates) + before + ((apply.name,) if apply else ())
        jobs.append(Job(
            name=f"deploy-{env.name}", stage=f"deploy-{env.name}", step="rollout", action="deploy",
            gpu=False, needs=needs, env=_rollout_env(manifest, env), credentials=_deploy_credentials(manifest, env),
            gate=_gate(manifest, env), branch=branch, environment=env.name, tier=env.tier,
            rollback_on_failure=True, skip_on_schedule=True,
            reports=(("deploy_record", deploy_record_path(env.name)),),
        ))
        watch = watch_period(manifest, env)
        if deploy.smoke or watch:
            jobs.append(Job(
                name=f"verify-{env.name}", stage=f"verify-{env.name}", step="verify", action="verify",
                needs=(f"deploy-{env.name}",), env=_verify_env(manifest, env, watch),
                credentials=tuple(c for c in _deploy_credentials(manifest, env) if c.purpose == "kubeconfig"),
                branch=branch, skip_on_schedule=True,
            ))
    return jobs


def _gate(manifest: Manifest, env: Environment) -> Gate | None:
    if env.approval is None:
        return None
    return Gate(f"Deploy {manifest.name} to {env.name}?", env.approval.submitters, env.approval.timeout)


def _deploy_credentials(manifest: Manifest, env: Environment) -> tuple[Credential, ...]:
    """The environment's own credentials: staging's deploy job never holds production's kubeconfig.

    The registry account is bound when the environment names its own (its pull secret) or when
    the deploy checks the image signature (cosign logs in to read it)."""
    creds = [Credential("kubeconfig", env.name)]
    if env.registry:  # an environment with a registry account of its own
        creds.append(Credential("registry", env.name))
    elif manifest.scan.verify:
        creds.extend(_registry(manifest))
    return tuple(creds)


def watch_period(manifest: Manifest, env: Environment) -> str | None:
    """The post-deploy watch of `env`: the last environment's, unless `watch` is zero."""
    mon, deploy = manifest.monitoring, manifest.deploy
    if mon is None or deploy is None or env != deploy.environments[-1]:
        return None
    return None if mon.watch.rstrip("smh").lstrip("0") == "" else mon.watch


def _verify_env(manifest: Manifest, env: Environment, watch: str | None) -> tuple[tuple[str, str], ...]:
    deploy = manifest.deploy
    assert deploy is not None
    # the rollout's variables too: a breach runs the same `rollout rollback` as a failed deploy
    values = dict(_rollout_env(manifest, env))
    prometheus = (manifest.monitoring and manifest.monitoring.prometheus) or (deploy.canary and deploy.canary.prometheus)
    values.update({
        "CI_GEN_SERVICE_URL": f"http://{manifest.name}.{env.namespace}.svc.cluster.local:{deploy.port}",
        "CI_GEN_SMOKE": deploy.smoke or "",
        "CI_GEN_WATCH": watch or "0s",
        "CI_GEN_SLI_FILE": SLI_FILE,
    })
    if prometheus:
        values["CI_GEN_PROMETHEUS_URL"] = prometheus
    return tuple(values.items())



def _rollout_env(manifest: Manifest, env: Environment) -> tuple[tuple[str, str], ...]:
    deploy = manifest.deploy
    assert deploy is not None
    values = [
        ("CI_GEN_ENVIRONMENT", env.name),
        ("CI_GEN_KUBE_CONTEXT", env.kube_context or ""),
        ("CI_GEN_KUBE_NAMESPACE", env.namespace),
        ("CI_GEN_REPLICAS", str(env.replicas)),
        ("CI_GEN_GPU", str(env.gpu)),
        ("CI_GEN_STRATEGY", deploy.strategy),
        ("CI_GEN_MANIFESTS", deploy.manifests or f"{K8S_DIR}/{env.name}"),
        ("CI_GEN_IMAGE_NAME", manifest.image.name),
        ("CI_GEN_PORT", str(deploy.port)),
        ("CI_GEN_HEALTH_PATH", deploy.health_path),
        ("CI_GEN_ROLLOUT_TIMEOUT", deploy.timeout),
    ]
    if deploy.canary is not None:
        c = deploy.canary
        values += [
            ("CI_GEN_CANARY_STEPS", " ".join(str(s) for s in c.steps)),
            ("CI_GEN_CANARY_INTERVAL", c.interval),
            ("CI_GEN_PROMETHEUS_URL", c.prometheus),
            ("CI_GEN_MAX_ERROR_RATE", repr(c.max_error_rate)),
            ("CI_GEN_MAX_P90_LATENCY_MS", repr(c.max_p90_latency_ms)),
            ("CI_GEN_SLI_FILE", SLI_FILE),
        ]
    if deploy.strategy == "blue-green":
        values.append(("CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY", deploy.scale_down_delay))
    if env.registry:  # the cluster pulls with this environment's own registry account
        values.append(("CI_GEN_PULL_SECRET", f"{manifest.name}-registry"))
    values += _signature_env(manifest)
    return tuple(values)


def _signature_env(manifest: Manifest) -> tuple[tuple[str, str], ...]:
    """What the deploy checks the image signature against before applying (see _cosign.sh)."""
    check = manifest.scan.verify
    if check is None:
        return ()
    values = [("CI_GEN_VERIFY_SIGNATURE", "1")]
    for name, value in (("CI_GEN_COSIGN_PUBLIC_KEY", check.key), ("CI_GEN_COSIGN_IDENTITY", check.identity),
                        ("CI_GEN_COSIGN_IDENTITY_REGEXP", check.identity_regexp),
                        ("CI_GEN_COSIGN_OIDC_ISSUER", check.issuer)):
        if value is not None:
            values.append((name, value))
    return tuple(values)
