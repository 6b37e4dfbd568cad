"""Semantic rules a JSON Schema cannot express, checked on schema-valid manifest data.

Each rule returns Problems located at the node it complains about, so `validate` can report
every problem in one run.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .errors import Problem
from .infra_rules import check_infra
from .operate_rules import check_operate
from .paths import MANIFEST_PATH_FIELDS, path_escape_reason
from .rules_evidence import check_calibration, check_dynamic_shapes, check_signature_check
from .schema import dotted
from .targets import DEFAULT_TARGETS, TARGETS
from .tiers import guess_tier
from .yamlio import Document

SUPPORTED_VERSION = 1
RESERVED_PREFIX = "CI_GEN_"

Rule = Callable[[Document, dict[str, Any], "Path | None"], list[Problem]]


def rule_problems(doc: Document, repo_root: Path | None) -> list[Problem]:
    data = doc.data
    return [p for rule in RULES for p in rule(doc, data, repo_root)]


def _at(doc: Document, path: tuple[Any, ...], message: str) -> Problem:
    line, col = doc.position(path)
    return Problem(doc.file, line, col, dotted(path), message)


def check_version(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SUPPORTED_VERSION:
        return [_at(doc, ("version",), f"unsupported manifest version {version}; ci-gen {__version__} reads version {SUPPORTED_VERSION}")]
    return []


def check_conversion_chain(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    model = data.get("model") or {}
    chain = model.get("convert") or []
    framework = model.get("framework", "pytorch")
    problems = []
    have_onnx = framework == "onnx"
    seen: set[str] = set()
    for index, step in enumerate(chain):
        where = ("model", "convert", index)
        fmt = step.get("format")
        if fmt in seen:
            problems.append(_at(doc, where + ("format",), f"'{fmt}' appears twice in the conversion chain"))
        seen.add(fmt)
        if fmt == "tensorrt" and not have_onnx:
            problems.append(_at(doc, where + ("format",), "TensorRT conversion needs an ONNX step before it or an ONNX model"))
        if fmt == "onnx" and "tensorrt" in seen:
            problems.append(_at(doc, where + ("format",), "ONNX conversion cannot follow TensorRT"))
        for key, owner in (("opset", "onnx"), ("precision", "tensorrt")):
            if key in step and fmt != owner:
                problems.append(_at(doc, where + (key,), f"'{key}' applies only to {owner} steps"))
        have_onnx = have_onnx or fmt == "onnx"
    needs_inputs = any(s.get("format") == "onnx" for s in chain) and framework in ("pytorch", "tensorflow", "sklearn")
    if needs_inputs and not model.get("inputs"):
        problems.append(_at(doc, ("model",), f"model.inputs is required to export a {framework} model to ONNX"))
    if model.get("entrypoint") and framework != "pytorch":
        problems.append(_at(doc, ("model", "entrypoint"), "entrypoint applies only to pytorch models"))
    return problems


def check_unique_names(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    problems = []
    groups = (
        (("deploy", "environments"), "environment"),
        (("test",), "test"),
        (("schedules",), "schedule"),
    )
    for path, what in groups:
        items = _get(data, path) or []
        seen: set[str] = set()
        for index, item in enumerate(items):
            name = item.get("name")
            if name in seen:
                problems.append(_at(doc, path + (index, "name"), f"{what} name '{name}' is used twice"))
            seen.add(name)
    return problems


def check_gpu_runners(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    users: list[tuple[tuple[Any, ...], str]] = []
    for index, test in enumerate(data.get("test") or []):
        if test.get("gpu"):
            users.append((("test", index, "gpu"), f"GPU test '{test.get('name')}'"))
    for index, env in enumerate(_get(data, ("deploy", "environments")) or []):
        if env.get("gpu"):
            users.append((("deploy", "environments", index, "gpu"), f"GPU environment '{env.get('name')}'"))
    for index, step in enumerate(_get(data, ("model", "convert")) or []):
        if step.get("format") == "tensorrt":
            users.append((("model", "convert", index, "format"), "TensorRT conversion"))
    if not users:
        return []
    runners = data.get("runners") or {}
    problems = []
    for target in data.get("targets") or DEFAULT_TARGETS:
        if not (runners.get(target) or {}).get("gpu"):
            path, what = users[0]
            problems.append(_at(doc, path, f"{what} needs a GPU runner: set runners.{target}.gpu"))
    return problems


_COPY_PATTERN_CHARS = frozenset("*?[\\")


def check_paths(doc: Document, data: dict[str, Any], repo_root: Path | None) -> list[Problem]:
    problems = []
    for path in MANIFEST_PATH_FIELDS:
        value = _get(data, path)
        if isinstance(value, str):
            reason = path_escape_reason(value, repo_root)
            if reason:
                problems.append(_at(doc, path, reason))
    model_path = _get(data, ("model", "path"))
    if isinstance(model_path, str) and _COPY_PATTERN_CHARS.intersection(model_path):
        # The image build copies the model with COPY, whose sources are glob patterns that
        # buildah, docker and kaniko unescape differently: refuse here rather than in the build job.
        problems.append(_at(doc, ("model", "path"), f"'{model_path}' has a glob character (* ? [ or \\); "
                                                     "rename the file: the image build copies it as a pattern"))
    return problems


def check_deploy(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    deploy = data.get("deploy")
    if not deploy:
        return []
    strategy = deploy.get("strategy", "rolling")
    problems = []
    if strategy == "canary":
        analysis = (deploy.get("canary") or {}).get("analysis")
        if not analysis:
            path = ("deploy", "canary") if "canary" in deploy else ("deploy", "strategy")
            problems.append(_at(doc, path, "canary needs deploy.canary.analysis (prometheus URL and thresholds) to promote safely"))
        steps = (deploy.get("canary") or {}).get("steps") or []
        if any(b <= a for a, b in zip(steps, steps[1:])):
            problems.append(_at(doc, ("deploy", "canary", "steps"), f"canary steps must increase, got {steps}"))
    inherited = None
    for index, env in enumerate(deploy.get("environments") or []):
        branch = env.get("branch") if isinstance(env, dict) else None
        if branch and inherited and branch != inherited:
            problems.append(_at(doc, ("deploy", "environments", index, "branch"),
                                f"'{branch}' differs from '{inherited}', the branch of an earlier environment this one waits for"))
        inherited = branch or inherited
    for block, owner in (("canary", "canary"), ("blue_green", "blue-green")):
        if block in deploy and strategy != owner:
            problems.append(_at(doc, ("deploy", block), f"deploy.{block} is set but the strategy is '{strategy}'"))
    return problems


def check_environment_credentials(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    """A non-production environment never binds a production credential unless it says so."""
    environments = [e for e in _get(data, ("deploy", "environments")) or [] if isinstance(e, dict)]
    if "jenkins" not in (data.get("targets") or DEFAULT_TARGETS):
        return []  # GitLab scopes KUBECONFIG per environment: the ids below are Jenkins'
    default = _get(data, ("jenkins", "credentials", "kubeconfig"))
    production: dict[str, dict[str, str]] = {"kubeconfig": {}, "registry": {}}
    for env in environments:
        if (env.get("tier") or guess_tier(str(env.get("name", "")))) == "production":
            own = env.get("credentials") or {}
            for purpose in production:
                cred = own.get(purpose, default if purpose == "kubeconfig" else None)
                if cred:
                    production[purpose].setdefault(cred, str(env.get("name")))
    problems = []
    for index, env in enumerate(environments):
        own = env.get("credentials") or {}
        if (env.get("tier") or guess_tier(str(env.get("name", "")))) == "production" or own.get("allow_production"):
            continue
        for purpose, owners in production.items():
            inherited = purpose == "kubeconfig" and purpose not in own
            cred = default if inherited else own.get(purpose)
            if cred not in owners:
                continue
            path: tuple[Any, ...] = ("deploy", "environments", index) + (("name",) if inherited else ("credentials", purpose))
            source = f"inherits jenkins.credentials.kubeconfig '{cred}'" if inherited else f"uses '{cred}'"
            problems.append(_at(doc, path, f"environment '{env.get('name')}' {source}, the {purpose} credential of "
                                           f"production environment '{owners[cred]}'; give it its own "
                                           f"credentials.{purpose} or set credentials.allow_production: true"))
    return problems


def check_approvals(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    if "jenkins" not in (data.get("targets") or DEFAULT_TARGETS):
        return []
    problems = []
    budget = _rollout_seconds(data.get("deploy") or {})
    for index, env in enumerate(_get(data, ("deploy", "environments")) or []):
        approval = env.get("approval") if isinstance(env.get("approval"), dict) else {}
        where = ("deploy", "environments", index, "approval")
        required = approval.get("required", 1)
        if required > 1:
            problems.append(_at(doc, where + ("required",),
                                f"Jenkins' input takes one approval, not {required}; use required: 1 or targets: [gitlab]"))
        # The stage's timeout also bounds the rollout after approval: it must leave room for it.
        timeout = approval.get("timeout")
        if isinstance(timeout, str) and _DURATION.match(timeout) and _seconds(timeout) <= budget:
            problems.append(_at(doc, where + ("timeout",),
                                f"{timeout} leaves no time to deploy after approval: the Jenkins stage timeout also "
                                f"bounds the rollout, which may take {budget}s (deploy.timeout, canary steps)"))
    return problems


_DURATION = re.compile(r"^[0-9]{1,6}[smh]$")


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def _rollout_seconds(deploy: dict[str, Any]) -> int:
    """The longest a rollout may take: its deadline, and per canary step a wait and a deadline."""
    timeout = _seconds(deploy["timeout"]) if _DURATION.match(str(deploy.get("timeout"))) else 600
    if deploy.get("strategy") != "canary":
        return timeout
    canary = deploy.get("canary") or {}
    steps = len(canary.get("steps") or [10, 50])
    interval = _seconds(canary["interval"]) if _DURATION.match(str(canary.get("interval"))) else 300
    return timeout * (steps + 1) + interval * steps


def check_variables(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    problems = []
    variables = data.get("variables") or {}
    secrets = data.get("secrets") or []
    for name in variables:
        if str(name).startswith(RESERVED_PREFIX):
            problems.append(_at(doc, ("variables", name), f"'{name}': the {RESERVED_PREFIX} prefix is reserved for ci-gen"))
        if reason := _unusable_name(str(name)):
            problems.append(_at(doc, ("variables", name), reason))
    for index, name in enumerate(secrets):
        if name in variables:
            problems.append(_at(doc, ("secrets", index), f"'{name}' is both a plain variable and a secret"))
        if str(name).startswith(RESERVED_PREFIX):
            problems.append(_at(doc, ("secrets", index), f"'{name}': the {RESERVED_PREFIX} prefix is reserved for ci-gen"))
        if reason := _unusable_name(str(name)):
            problems.append(_at(doc, ("secrets", index), reason))
    return problems


# Names both pipelines cannot carry as bare keys: YAML 1.1 (GitLab's parser) reads these as
# booleans or null, and a Jenkinsfile's `environment { NAME = ... }` cannot assign a Groovy keyword.
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off"})
_GROOVY_KEYWORDS = frozenset({
    "abstract", "as", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue",
    "def", "default", "do", "double", "else", "enum", "extends", "false", "final", "finally", "float", "for",
    "goto", "if", "implements", "import", "in", "instanceof", "int", "interface", "long", "native", "new", "null",
    "package", "private", "protected", "public", "record", "return", "sealed", "short", "static", "strictfp",
    "super", "switch", "synchronized", "this", "threadsafe", "throw", "throws", "trait", "transient", "true",
    "try", "var", "void", "volatile", "while", "yield",
})


def _unusable_name(name: str) -> str | None:
    if name.lower() in _YAML_WORDS:
        return f"'{name}' cannot be a variable name: YAML reads it as a boolean or null"
    if name in _GROOVY_KEYWORDS:
        return f"'{name}' cannot be a variable name: it is a Groovy keyword (Jenkinsfile)"
    return None


def check_schedules(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    strict = [TARGETS[t].title for t in data.get("targets") or DEFAULT_TARGETS if not TARGETS[t].hashed_cron]
    if not strict:
        return []
    return [
        _at(doc, ("schedules", index, "cron"), f"'H' (hashed) cron fields are Jenkins-only; {strict[0]} schedules need standard cron")
        for index, schedule in enumerate(data.get("schedules") or [])
        if "H" in str(schedule.get("cron", "")).split()
    ]


def check_multibranch(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    """What Jenkins would silently not do: multibranch settings on a single-branch Pipeline job,
    merge requests or a branch strategy asked of a plain git branch source (it has neither)."""
    settings = _get(data, ("jenkins", "multibranch"))
    if not isinstance(settings, dict) or not settings:
        return []
    where = ("jenkins", "multibranch")
    if _get(data, ("jenkins", "kind")) != "multibranch":
        return [_at(doc, where, "applies only to 'kind: multibranch' (set jenkins.kind, or remove this)")]
    if settings.get("source") != "git":
        return []
    problems = []
    if settings.get("branches", "all") != "all":
        problems.append(_at(doc, where + ("branches",), "a git branch source discovers all branches; "
                                                          "branch strategies need source gitlab"))
    if settings.get("merge_requests", "none") != "none":
        problems.append(_at(doc, where + ("merge_requests",), "a git branch source has no merge requests; "
                                                                "use source gitlab"))
    return problems


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


RULES: tuple[Rule, ...] = (
    check_version,
    check_conversion_chain,
    check_unique_names,
    check_gpu_runners,
    check_paths,
    check_deploy,
    check_variables,
    check_schedules,
    check_multibranch,
    check_environment_credentials,
    check_approvals,
    check_operate,
    check_signature_check,
    check_dynamic_shapes,
    check_calibration,
    check_infra,
)
