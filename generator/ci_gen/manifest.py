"""The typed, defaulted manifest model and `load_manifest`, the one way to get one.

load (ruamel, positions) -> schema problems + semantic rule problems -> defaults -> frozen
dataclasses. Downstream layers read attributes only; every default lives in the JSON Schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .manifest_axes import DEFAULT_RANGES, dynamic_axes
from .schema import approval_defaults, with_defaults
from .targets import TARGETS
from .tiers import guess_tier
from .validation import validate_document
from .workspace import MANIFEST_NAME as MANIFEST_NAME  # re-exported: callers import it from here
from .yamlio import decode, parse, read_text


@dataclass(frozen=True)
class ModelInput:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class ConvertStep:
    format: str  # onnx | tensorrt
    opset: int | None  # onnx only
    precision: str | None  # tensorrt only
    rtol: float
    atol: float
    calibration: str | None = None  # int8 only: a calibration cache path, or "none"


@dataclass(frozen=True)
class Model:
    path: str
    framework: str
    entrypoint: str | None
    inputs: tuple[ModelInput, ...]
    convert: tuple[ConvertStep, ...]
    # (axis, (min, opt, max)) for every dynamic axis an input uses, sorted: batch, dim1, ...
    dynamic: tuple[tuple[str, tuple[int, int, int]], ...] = ()


@dataclass(frozen=True)
class Image:
    name: str
    base: str
    dockerfile: str | None
    context: str
    builder: str
    build_args: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Test:
    name: str
    run: str
    gpu: bool


@dataclass(frozen=True)
class Scan:
    severity: str
    ignore_unfixed: bool
    secrets: bool
    sbom: bool
    model: bool
    sign: bool
    verify: SignatureCheck | None = None


@dataclass(frozen=True)
class SignatureCheck:
    """What a deploy checks the image signature against: a public key, or a keyless signer."""

    key: str | None
    identity: str | None
    identity_regexp: str | None
    issuer: str | None


@dataclass(frozen=True)
class Approval:
    """Who may approve a deployment, how many must, and how long a Jenkins stage waits."""

    users: tuple[str, ...]
    groups: tuple[str, ...]
    required: int
    timeout: str

    @property
    def submitters(self) -> tuple[str, ...]:
        return self.users + self.groups


@dataclass(frozen=True)
class Environment:
    name: str
    tier: str
    kube_context: str | None
    namespace: str
    replicas: int
    gpu: int
    approval: Approval | None
    branch: str | None
    kubeconfig: str | None  # Jenkins credential id of this environment's kubeconfig
    registry: str | None  # Jenkins credential id of the registry login its deploy job binds


@dataclass(frozen=True)
class NetworkPolicy:
    enabled: bool
    ingress_namespaces: tuple[str, ...]
    prometheus_namespaces: tuple[str, ...]
    same_namespace: bool


@dataclass(frozen=True)
class Canary:
    steps: tuple[int, ...]
    interval: str
    prometheus: str
    max_error_rate: float
    max_p90_latency_ms: float


@dataclass(frozen=True)
class Resources:
    cpu: str | None
    memory: str | None


@dataclass(frozen=True)
class Autoscale:
    min: int
    max: int
    cpu_percent: int
    requests_per_second: float | None
    gpu_percent: int | None


@dataclass(frozen=True)
class Deploy:
    strategy: str
    canary: Canary | None
    scale_down_delay: str
    manifests: str | None
    port: int
    health_path: str
    timeout: str
    environments: tuple[Environment, ...]
    network_policy: NetworkPolicy
    resources: Resources | None = None
    autoscale: Autoscale | None = None
    smoke: str | None = None


@dataclass(frozen=True)
class Monitoring:
    metrics: str  # http
    availability: float  # percent of non-5xx requests over 30 days
    latency_threshold_ms: int
    latency_percent: float  # percent of requests faster than the threshold
    gpu: bool
    operator: bool
    datadog: bool
    prometheus: str | None
    watch: str  # duration; "0s" (any zero) turns the watch off
    labels: tuple[tuple[str, str], ...]
    runbook: str | None
    queries: tuple[tuple[str, str], ...] = ()  # metrics: custom, the SLI templates by name


@dataclass(frozen=True)
class RunnerRoles:
    """One target's runners by role: GitLab tags, Jenkins label, GitHub labels, CircleCI class.
    Empty: the target's own default."""

    default: tuple[str, ...]
    gpu: tuple[str, ...]


@dataclass(frozen=True)
class Runners:
    by_target: tuple[tuple[str, RunnerRoles], ...]  # (target name, its runners), every target
    image_default: str | None
    image_gpu: str | None

    def of(self, target: str) -> RunnerRoles:
        return dict(self.by_target).get(target, RunnerRoles((), ()))


@dataclass(frozen=True)
class MultibranchSettings:
    """`jenkins.multibranch`: how a Multibranch Pipeline project finds branches. None where the
    manifest leaves the choice to the source (see `targets.jenkins.multibranch`)."""

    source: str | None = None  # "gitlab" | "git"
    server: str = "default"
    branches: str | None = None
    merge_requests: str | None = None
    tags: bool = False
    days_to_keep: int | None = None
    num_to_keep: int | None = None
    scan: str = "1d"


@dataclass(frozen=True)
class JenkinsSettings:
    folder: str | None
    credentials: tuple[tuple[str, str], ...]  # (purpose, credential id)
    kind: str = "pipeline"  # "pipeline" | "multibranch"
    multibranch: MultibranchSettings = MultibranchSettings()

    def credential(self, purpose: str) -> str | None:
        return dict(self.credentials).get(purpose)


@dataclass(frozen=True)
class GitlabSettings:
    project: str | None


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    branch: str


@dataclass(frozen=True)
class Infra:
    """`infra:`: the Terraform / OpenTofu stage; every field has its schema default."""

    tool: str  # terraform | tofu
    dir: str
    environments: tuple[str, ...]
    state: str  # gitlab | backend
    approval: bool
    branch: str
    drift: str | None  # cron of the drift schedule


@dataclass(frozen=True)
class Manifest:
    """A validated manifest with every default filled in."""

    file: str
    name: str
    targets: tuple[str, ...]
    model: Model | None
    image: Image
    tests: tuple[Test, ...]
    scan: Scan
    deploy: Deploy | None
    runners: Runners
    jenkins: JenkinsSettings
    gitlab: GitlabSettings
    variables: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...]
    schedules: tuple[Schedule, ...]
    monitoring: Monitoring | None = None
    infra: Infra | None = None


def load_manifest(path: Path, repo_root: Path | None = None, display: str | None = None) -> Manifest:
    """Read, validate and model the manifest at `path`; raise ManifestError with every problem."""
    display = display or path.name
    text = read_text(path, display)
    return load_manifest_text(text, display, repo_root if repo_root is not None else path.parent)


def load_manifest_bytes(raw: bytes, display: str = MANIFEST_NAME, repo_root: Path | None = None) -> Manifest:
    return load_manifest_text(decode(raw, display), display, repo_root)


def load_manifest_text(text: str, display: str = MANIFEST_NAME, repo_root: Path | None = None) -> Manifest:
    doc = parse(text, display)
    validate_document(doc, repo_root)
    return build(with_defaults(doc.data), display)


def build(data: dict[str, Any], file: str) -> Manifest:
    return Manifest(
        file=file,
        name=data["name"],
        targets=tuple(t for t in TARGETS if t in data["targets"]),
        model=_model(data["model"]) if "model" in data else None,
        image=_image(data["image"]),
        tests=tuple(Test(t["name"], t["run"], t["gpu"]) for t in data["test"]),
        scan=_scan(data["scan"]),
        deploy=_deploy(data["deploy"], data["jenkins"]["credentials"]) if "deploy" in data else None,
        runners=_runners(data["runners"]),
        jenkins=_jenkins(data["jenkins"]),
        gitlab=GitlabSettings(data["gitlab"].get("project")),
        variables=tuple((k, _text(v)) for k, v in data["variables"].items()),
        secrets=tuple(data["secrets"]),
        schedules=tuple(Schedule(s["name"], s["cron"], s["branch"]) for s in data["schedules"]) + _drift(data),
        monitoring=_monitoring(data["monitoring"]) if "monitoring" in data else None,
        infra=_infra(data["infra"]) if "infra" in data else None,
    )


def _drift(data: dict[str, Any]) -> tuple[Schedule, ...]:
    """The drift check is one more scheduled pipeline: sync creates it like the others."""
    infra = data.get("infra")
    if infra is None or "drift" not in infra:
        return ()
    return (Schedule(DRIFT_SCHEDULE, infra["drift"], infra["branch"]),)


DRIFT_SCHEDULE = "ci-gen infra drift"


def _infra(data: dict[str, Any]) -> Infra:
    return Infra(data["tool"], data["dir"].rstrip("/") or ".", tuple(data["environments"]), data["state"],
                 data["approval"], data["branch"], data.get("drift"))


def _jenkins(data: dict[str, Any]) -> JenkinsSettings:
    branching = data.get("multibranch", {})
    orphaned = branching.get("orphaned", {})
    multibranch = MultibranchSettings(
        branching.get("source"), branching.get("server", "default"), branching.get("branches"),
        branching.get("merge_requests"), bool(branching.get("tags", False)), orphaned.get("days_to_keep"),
        orphaned.get("num_to_keep"), branching.get("scan", "1d"))
    return JenkinsSettings(data.get("folder"), tuple(sorted(data["credentials"].items())),
                           data.get("kind", "pipeline"), multibranch)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _model(data: dict[str, Any]) -> Model:
    steps = tuple(
        ConvertStep(
            format=s["format"],
            opset=s["opset"] if s["format"] == "onnx" else None,
            precision=s["precision"] if s["format"] == "tensorrt" else None,
            rtol=float(s["parity"]["rtol"]),
            atol=float(s["parity"]["atol"]),
            calibration=s.get("calibration") if s["format"] == "tensorrt" and s["precision"] == "int8" else None,
        )
        for s in data["convert"]
    )
    inputs = tuple(ModelInput(i["name"], tuple(i["shape"]), i["dtype"]) for i in data["inputs"])
    given = data.get("dynamic") or {}
    dynamic = tuple((axis, _range(given.get(axis) or DEFAULT_RANGES[axis])) for axis in dynamic_axes(inputs))
    return Model(data["path"], data["framework"], data.get("entrypoint"), inputs, steps, dynamic)


def _range(values: Any) -> tuple[int, int, int]:
    low, opt, high = values
    return int(low), int(opt), int(high)



def _image(data: dict[str, Any]) -> Image:
    args = tuple((k, _text(v)) for k, v in data["build_args"].items())
    return Image(data["name"], data["base"], data.get("dockerfile"), data["context"], data["builder"], args)


def _scan(data: dict[str, Any]) -> Scan:
    image = data["image"]
    verify = data.get("verify")
    check = None
    if data["sign"] and verify:
        check = SignatureCheck(verify.get("key"), verify.get("identity"), verify.get("identity_regexp"),
                               verify.get("issuer"))
    return Scan(image["severity"], image["ignore_unfixed"], data["secrets"], data["sbom"], data["model"], data["sign"],
                check)


def _deploy(data: dict[str, Any], jenkins_credentials: dict[str, str]) -> Deploy:
    canary = None
    if data["strategy"] == "canary":
        block = data["canary"]
        analysis = block["analysis"]
        canary = Canary(tuple(block["steps"]), block["interval"], analysis["prometheus"],
                        float(analysis["max_error_rate"]), float(analysis["max_p90_latency_ms"]))
    kubeconfig = jenkins_credentials.get("kubeconfig")
    environments = tuple(
        Environment(e["name"], e.get("tier") or guess_tier(e["name"]), e["kubernetes"].get("context"),
                    e["kubernetes"]["namespace"], e["replicas"], e["gpu"], _approval(e["approval"]), e.get("branch"),
                    e["credentials"].get("kubeconfig", kubeconfig), e["credentials"].get("registry"))
        for e in data["environments"]
    )
    scale_down = data["blue_green"]["scale_down_delay"]
    policy = data["network_policy"]
    network_policy = NetworkPolicy(policy["enabled"], tuple(policy["ingress_namespaces"]),
                                   tuple(policy["prometheus_namespaces"]), policy["same_namespace"])
    resources = Resources(data["resources"].get("cpu"), data["resources"].get("memory")) if "resources" in data else None
    autoscale = None
    if "autoscale" in data:
        a = data["autoscale"]
        rps = a.get("requests_per_second")
        autoscale = Autoscale(a["min"], a["max"], a["cpu_percent"], None if rps is None else float(rps), a.get("gpu_percent"))
    return Deploy(data["strategy"], canary, scale_down, data.get("manifests"), data["port"],
                  data["health_path"], data["timeout"], environments, network_policy, resources, autoscale,
                  data.get("smoke"))


def _approval(value: bool | dict[str, Any]) -> Approval | None:
    if value is False:
        return None
    # `approval: true` means the object form with every default, read from the schema
    data = value if isinstance(value, dict) else approval_defaults()
    return Approval(tuple(data["users"]), tuple(data["groups"]), data["required"], data["timeout"])


def _monitoring(data: dict[str, Any]) -> Monitoring:
    slo, latency = data["slo"], data["slo"]["latency"]
    return Monitoring(
        metrics=data["metrics"], availability=float(slo["availability"]),
        latency_threshold_ms=int(latency["threshold_ms"]), latency_percent=float(latency["percent"]),
        gpu=data["gpu"], operator=data["operator"], datadog=data["datadog"], prometheus=data.get("prometheus"), watch=data["watch"],
        labels=tuple(sorted((str(k), str(v)) for k, v in data["labels"].items())), runbook=data.get("runbook"),
        queries=tuple(sorted(data.get("queries", {}).items())),
    )


def _runners(data: dict[str, Any]) -> Runners:
    images = data["images"]
    by_target = tuple((name, RunnerRoles(_names(data.get(name, {}).get("default")), _names(data.get(name, {}).get("gpu"))))
                      for name in TARGETS)
    return Runners(by_target, images.get("default"), images.get("gpu"))


def _names(value: Any) -> tuple[str, ...]:
    # A Jenkins label or CircleCI resource class is one string; tags and labels are lists.
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
