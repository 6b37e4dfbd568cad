"""Jenkins dialect: the Pipeline as a declarative Jenkinsfile."""
from __future__ import annotations

from dataclasses import dataclass

from ...manifest import Manifest
from ...plan import OUT_DIR, REPORT_DIR, Credential, Job, Pipeline
from ...templating import render_template

# How each credential purpose is bound (withCredentials binding, variables it sets).
BINDINGS = {
    "registry": ("usernamePassword", (("usernameVariable", "CI_GEN_REGISTRY_USER"), ("passwordVariable", "CI_GEN_REGISTRY_PASSWORD"))),
    "kubeconfig": ("file", (("variable", "KUBECONFIG"),)),
    "cosign": ("file", (("variable", "COSIGN_KEY"),)),
    "infra-state": ("usernamePassword", (("usernameVariable", "TF_HTTP_USERNAME"), ("passwordVariable", "TF_HTTP_PASSWORD"))),
}


@dataclass(frozen=True)
class Binding:
    kind: str
    credentials_id: str
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class JenkinsStage:
    name: str
    agent_label: str | None  # None: the pipeline's agent
    agent_image: str | None
    environment: tuple[tuple[str, str], ...]
    bindings: tuple[Binding, ...]
    unstash: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    stash_includes: str | None
    gate: str | None
    submitter: str | None  # comma-separated user ids and groups, as Jenkins' input reads it
    gate_timeout: tuple[int, str] | None  # (time, unit) of the stage's timeout option
    branch: str | None
    skip_on_schedule: bool
    only_on_schedule: bool
    rollback_command: tuple[str, ...] | None
    archive: str | None  # report glob archived after the stage, whatever its result
    junit: tuple[str, ...] = ()  # JUnit XML files for the junit step (Test Results view)
    sarif: tuple[str, ...] = ()  # SARIF files for warnings-ng's recordIssues, when installed


@dataclass(frozen=True)
class JenkinsGroup:
    name: str
    mode: str  # single | sequential | parallel
    stages: tuple[JenkinsStage, ...]


@dataclass(frozen=True)
class _Settings:
    """What the Jenkinsfile reads from the manifest's Jenkins settings."""

    default_label: str | None
    gpu_label: str | None
    credential_ids: dict[tuple[str, str | None], str]  # (purpose, environment) -> credential id


def render(pipeline: Pipeline, manifest: Manifest) -> str:
    groups = tuple(_group(pipeline, _settings(manifest), stage) for stage in pipeline.stages)
    # A Multibranch project runs this one file on every branch: each schedule only on its own.
    by_branch = pipeline.schedules_by_branch if manifest.jenkins.kind == "multibranch" else ()
    # `agent none` at the top, an agent per stage: a stage waiting for approval holds no executor.
    return render_template(
        "jenkins/Jenkinsfile.j2", pipeline=pipeline, groups=groups, crons_by_branch=by_branch,
        environment=pipeline.env + pipeline.variables,
    )


def _settings(manifest: Manifest) -> _Settings:
    runners = manifest.runners.of("jenkins")
    ids: dict[tuple[str, str | None], str] = {(p, None): i for p, i in manifest.jenkins.credentials}
    for env in manifest.deploy.environments if manifest.deploy else ():
        if env.kubeconfig:
            ids[("kubeconfig", env.name)] = env.kubeconfig
        if env.registry:
            ids[("registry", env.name)] = env.registry
    return _Settings(runners.default[0] if runners.default else None, runners.gpu[0] if runners.gpu else None, ids)


def _group(pipeline: Pipeline, settings: _Settings, stage: str) -> JenkinsGroup:
    jobs = pipeline.jobs_in(stage)
    stages = tuple(_stage(pipeline, settings, job) for job in jobs)
    if len(jobs) == 1 and jobs[0].name == stage:
        mode = "single"
    elif len(jobs) == 1 or any(set(j.needs) & {o.name for o in jobs} for j in jobs):
        mode = "sequential"
    else:
        mode = "parallel"
    return JenkinsGroup(stage, mode, stages)


def _stage(pipeline: Pipeline, settings: _Settings, job: Job) -> JenkinsStage:
    images = pipeline.images
    label = settings.gpu_label if job.gpu else settings.default_label
    image = images.gpu if job.gpu and images.gpu else (None if job.gpu else images.default)
    env = job.env + ((("CI_GEN_TEST_IN_IMAGE", "1"),) if job.in_built_image else ())
    producers = [n for n in job.needs if OUT_DIR in pipeline.job(n).artifacts]
    return JenkinsStage(
        name=job.name,
        agent_label=label,
        agent_image=image,
        environment=env,
        # A purpose with no Jenkins credential id configured is left to the agent's environment.
        bindings=tuple(_binding(c, settings.credential_ids[(c.purpose, c.environment)]) for c in job.credentials
                       if (c.purpose, c.environment) in settings.credential_ids),
        unstash=tuple(producers),
        commands=(job.command,),
        stash_includes=",".join(f"{p}/**" for p in job.artifacts) or None,
        gate=job.gate.message if job.gate else None,
        submitter=",".join(job.gate.submitters) or None if job.gate else None,
        gate_timeout=_timeout(job.gate.timeout) if job.gate else None,
        branch=job.branch,
        skip_on_schedule=job.skip_on_schedule,
        only_on_schedule=job.only_on_schedule,
        rollback_command=(job.command[0], "rollback") if job.rollback_on_failure else None,
        archive=_archive(job),
        junit=tuple(p for k, p in job.reports if k == "junit"),
        sarif=tuple(p for k, p in job.reports if k == "sarif"),
    )


def _archive(job: Job) -> str | None:
    """The report folder, and any report file the job keeps elsewhere (the binary Terraform plan)."""
    if REPORT_DIR not in job.artifacts:
        return None
    return ",".join([f"{REPORT_DIR}/**"] + [p for _, p in job.reports if not p.startswith(REPORT_DIR + "/")])


_UNITS = {"s": "SECONDS", "m": "MINUTES", "h": "HOURS"}


def _timeout(duration: str) -> tuple[int, str]:
    return int(duration[:-1]), _UNITS[duration[-1]]


def _binding(credential: Credential, credentials_id: str) -> Binding:
    kind, variables = BINDINGS[credential.purpose]
    return Binding(kind, credentials_id, variables)
