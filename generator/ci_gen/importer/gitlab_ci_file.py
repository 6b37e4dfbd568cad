"""Reading a hand-written `.gitlab-ci.yml` (with its local includes, `extends:`, anchors and
`!reference`) into Facts, every fact and note with its file:line."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ManifestError, Problem
from ..paths import path_escape_reason
from ..yamlio import read_text
from .facts import DECIDE, Facts
from .jobs import JobInfo, record
from .shell import Command, expand, referenced_variables, split_lines

FILE = ".gitlab-ci.yml"
_GLOBAL_KEYS = {"image", "services", "stages", "types", "before_script", "after_script", "variables", "cache",
                "include", "default", "workflow", "spec"}
_JOB_KEYS_READ = {"stage", "script", "before_script", "extends", "tags", "environment", "when", "rules", "only",
                  "variables", "image", "except"}
_BRANCH_IF = re.compile(r"""\$CI_COMMIT_(?:BRANCH|REF_NAME)\s*==\s*(?:["']([^"']+)["']|\$CI_DEFAULT_BRANCH)""")
_ONLY_WORDS = {"branches", "tags", "merge_requests", "schedules", "web", "api", "triggers", "pipelines", "pushes",
               "external", "external_pull_requests", "chat"}
_MAX_FILES = 50
_MAX_EXTENDS = 11  # GitLab's own limit on extends depth
_MAX_LAYERS = 100
_MAX_COMMANDS = 1000  # per job; YAML aliases can nest lists into millions of items


@dataclass
class Layer:
    """One job definition as written (a job extends others: several layers make one job)."""

    name: str
    file: str
    node: Any


def read(root: Path, rel: str = FILE) -> Facts:
    facts = Facts(rel, "gitlab")
    jobs: dict[str, Layer] = {}
    top: dict[str, tuple[str, Any]] = {}
    _load_file(root, rel, facts, jobs, top, set())
    variables = _global_variables(top, facts)
    default_tags = _default_tags(top)
    if default_tags:
        facts.default_runner = default_tags
    gpu_tags: list[str] = []
    for name in list(jobs):
        if name.startswith("."):
            continue
        job = _job(name, jobs, top, facts, variables)
        if job is None:
            continue
        environment = _value(jobs, name, "environment")
        if isinstance(environment, dict) and environment.get("action") not in (None, "start"):
            facts.note(job.line, f"job {name!r} ({environment.get('action')} of environment "
                       f"{environment.get('name')!r}): ci-gen has no slot for it", file=job.file)
            continue
        tags = _value(jobs, name, "tags")
        if isinstance(tags, list) and tags:
            tags = [str(t) for t in tags]
            if any(re.search("gpu|cuda", t, re.I) for t in tags):
                job.gpu = True
                gpu_tags = gpu_tags or tags
            elif not facts.default_runner:
                facts.default_runner = tags
        # GitLab sets CI_ENVIRONMENT_NAME for a job with an environment; deploy scripts use it.
        job_vars = {**({"CI_ENVIRONMENT_NAME": job.environment} if job.environment else {}), **_job_variables(jobs, name)}
        record(job, facts, {**variables, **job_vars})
        _note_undefined(job, variables, job_vars, facts)
    facts.gpu_runner = gpu_tags
    return facts


def _load_file(root: Path, rel: str, facts: Facts, jobs: dict[str, Layer], top: dict[str, tuple[str, Any]],
               seen: set[str]) -> None:
    if rel in seen or len(seen) >= _MAX_FILES:
        return
    seen.add(rel)
    doc = _parse(root / rel, rel)
    if not isinstance(doc, dict):
        raise ManifestError([Problem(rel, 1, 1, "", "expected a YAML mapping of jobs")])
    if "include" in doc:
        for include_rel in _includes(doc["include"], doc, rel, root, facts):
            _load_file(root, include_rel, facts, jobs, top, seen)
    for key in doc:
        if not isinstance(key, str):
            continue
        if key in _GLOBAL_KEYS:
            if key in ("variables", "default") and key in top and isinstance(top[key][1], dict) and isinstance(doc[key], dict):
                merged = dict(top[key][1])
                merged.update(doc[key])
                top[key] = (rel, merged)
            else:
                top[key] = (rel, doc[key])
            if key in ("workflow", "image", "services", "cache", "after_script", "spec"):
                facts.note(_line(doc, key), f"top-level `{key}:`", file=rel)
        elif isinstance(doc[key], dict):
            jobs[key] = Layer(key, rel, doc[key])  # a later file (the main one) overrides an include


def _parse(path: Path, display: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    text = read_text(path, display)
    yaml = YAML(typ="rt", pure=True)
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ManifestError([Problem(display, line, 1, "", str(exc.problem or exc.context or "invalid YAML"))]) from None
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:  # bad dates and numbers raise plain errors
        raise ManifestError([Problem(display, 1, 1, "", f"cannot parse: {type(exc).__name__}")]) from None


def _includes(value: Any, doc: Any, rel: str, root: Path, facts: Facts) -> list[str]:
    """Local includes to read; every other kind (remote, project, template, component) is noted."""
    found = []
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        line = _item_line(value, index) if isinstance(value, list) else _line(doc, "include")
        local = item if isinstance(item, str) and not re.match(r"^https?://", item) else (
            item.get("local") if isinstance(item, dict) else None)
        if not isinstance(local, str):
            kind = next(iter(item), "remote") if isinstance(item, dict) else "remote"
            facts.note(line, f"include ({kind}) not read: only local files are; copy what it defines into the "
                       "manifest or keep it outside ci-gen", file=rel)
            continue
        path = local.lstrip("/")
        if "*" in path or "$" in path or path_escape_reason(path, root) or not (root / path).is_file():
            facts.note(line, f"include {local!r} not read (a glob, a variable, missing, or outside the repository)",
                       file=rel)
            continue
        found.append(path)
    return found


def _job(name: str, jobs: dict[str, Layer], top: dict[str, tuple[str, Any]], facts: Facts,
         variables: dict[str, str]) -> JobInfo | None:
    layers = _layers(name, jobs, facts, set())
    own = layers[0]
    job = JobInfo(name, own.file, own.node.lc.line + 1)
    if _value(jobs, name, "trigger") is not None:
        facts.note(job.line, f"job {name!r} triggers another pipeline", file=own.file)
        return None
    before = _value(jobs, name, "before_script")
    if before is None and "default" in top and isinstance(top["default"][1], dict):
        before = top["default"][1].get("before_script")
    if before is None and "before_script" in top:
        before = top["before_script"][1]
    for key in ("before_script", "script"):
        source = before if key == "before_script" else _value(jobs, name, "script")
        layer = _defining(layers, key) or own
        job.commands.extend(_script(source, layer, jobs, facts))
    _environment(job, _value(jobs, name, "environment"))
    if job.environment is None and _value(jobs, name, "environment") is not None:
        facts.note(job.line, f"job {name!r} deploys to a dynamic environment (review apps?): the draft names it "
                   "after the job", DECIDE, own.file)
    job.approval = _value(jobs, name, "when") == "manual"
    image = _value(jobs, name, "image")
    image = image.get("name") if isinstance(image, dict) else image
    if image is None and isinstance(top.get("default", ("", None))[1], dict):
        image = top["default"][1].get("image")
    if image is None and "image" in top:
        image = top["image"][1]
    job.image = image if isinstance(image, str) else None
    _rules(job, layers, jobs, facts)
    for layer in layers:
        for key in layer.node:
            if key not in _JOB_KEYS_READ:
                facts.note(_line(layer.node, key), f"`{key}:` in job {layer.name!r}", file=layer.file)
    return job


def _layers(name: str, jobs: dict[str, Layer], facts: Facts, seen: set[str], budget: list[int] | None = None) -> list[Layer]:
    """The job's own definition first, then what it extends, nearest first (later extends win)."""
    budget = budget if budget is not None else [_MAX_LAYERS]
    budget[0] -= 1
    layer = jobs[name]
    result = [layer]
    if budget[0] < 0:
        return result  # diamonds of extends could otherwise multiply without end
    parents = layer.node.get("extends")
    parents = [parents] if isinstance(parents, str) else parents if isinstance(parents, list) else []
    for parent in reversed(parents):
        if not isinstance(parent, str) or parent in seen or len(seen) >= _MAX_EXTENDS:
            continue
        if parent not in jobs:
            facts.note(_line(layer.node, "extends"), f"job {name!r} extends {parent!r}, which is not defined "
                       "in the files read", file=layer.file)
            continue
        result.extend(_layers(parent, jobs, facts, seen | {name, parent}, budget))
    return result


def _value(jobs: dict[str, Layer], name: str, key: str) -> Any:
    for layer in _layers(name, jobs, Facts("", ""), set()):
        if key in layer.node:
            return layer.node[key]
    return None


def _defining(layers: list[Layer], key: str) -> Layer | None:
    return next((layer for layer in layers if key in layer.node), None)


def _script(value: Any, layer: Layer, jobs: dict[str, Layer], facts: Facts, depth: int = 0) -> list[Command]:
    if depth > 4:
        return []
    if isinstance(value, str):
        return split_lines(layer.file, _line(layer.node, "script"), value)
    if not isinstance(value, list):
        return []
    commands: list[Command] = []
    for index, item in enumerate(value):
        if len(commands) > _MAX_COMMANDS:
            break
        line = _item_line(value, index)
        tag = getattr(getattr(item, "tag", None), "value", None)
        if tag == "!reference":
            path = [str(p) for p in item]
            target = _value(jobs, path[0], path[1]) if len(path) == 2 and path[0] in jobs else None
            if target is None:
                facts.note(line, f"!reference {path} not resolved", file=layer.file)
            source = Layer(path[0], jobs[path[0]].file, jobs[path[0]].node) if path and path[0] in jobs else layer
            commands.extend(_script(target, source, jobs, facts, depth + 1))
        elif isinstance(item, list):
            commands.extend(_script(item, layer, jobs, facts, depth + 1))
        elif isinstance(item, str):
            block = type(item).__name__ in ("LiteralScalarString", "FoldedScalarString")
            commands.extend(split_lines(layer.file, line + (1 if block else 0), item))
    return commands


def _environment(job: JobInfo, value: Any) -> None:
    if isinstance(value, str):
        job.environment = value
    elif isinstance(value, dict):
        name = value.get("name")
        job.environment = str(name) if name is not None else None
        kubernetes = value.get("kubernetes")
        if isinstance(kubernetes, dict) and isinstance(kubernetes.get("namespace"), str):
            job.namespace = kubernetes["namespace"]
    if job.environment and "$" in job.environment:
        job.environment = None  # dynamic environments (review apps) have no fixed name to map


def _rules(job: JobInfo, layers: list[Layer], jobs: dict[str, Layer], facts: Facts) -> None:
    layer = _defining(layers, "rules")
    if layer is not None and isinstance(layer.node["rules"], list):
        for index, rule in enumerate(layer.node["rules"]):
            line = _item_line(layer.node["rules"], index)
            if not isinstance(rule, dict) or rule.get("when") == "never":
                continue
            condition = str(rule.get("if", ""))
            match = _BRANCH_IF.search(condition)
            if match and not job.branch:
                job.branch = match.group(1) or "main"
                if match.group(1) is None:
                    facts.note(line, f"job {job.name!r} runs on $CI_DEFAULT_BRANCH: assumed 'main'", DECIDE, layer.file)
            if rule.get("when") == "manual":
                job.approval = True
            if "schedule" in condition:
                facts.note(line, f"job {job.name!r} runs on pipeline schedules; their cron lives on the GitLab "
                           "server: add it under `schedules:`", DECIDE, layer.file)
            leftover = _BRANCH_IF.sub("", condition).strip()
            if leftover or set(rule) - {"if", "when"}:
                facts.note(line, f"rule of job {job.name!r}: {_rule_text(rule)}", file=layer.file)
    only_layer = _defining(layers, "only")
    if only_layer is not None:
        only = only_layer.node["only"]
        refs = only.get("refs", []) if isinstance(only, dict) else only if isinstance(only, list) else []
        branches = [str(r) for r in refs if str(r) not in _ONLY_WORDS and not str(r).startswith("/")]
        if branches and not job.branch:
            job.branch = branches[0]
        if "schedules" in [str(r) for r in refs]:
            facts.note(_line(only_layer.node, "only"), f"job {job.name!r} runs on pipeline schedules; add their "
                       "cron under `schedules:`", DECIDE, only_layer.file)
    except_layer = _defining(layers, "except")
    if except_layer is not None:
        facts.note(_line(except_layer.node, "except"), f"`except:` of job {job.name!r}",
                   file=except_layer.file)


def _rule_text(rule: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in rule.items() if not isinstance(v, (dict, list))) or "(structure)"


def _global_variables(top: dict[str, tuple[str, Any]], facts: Facts) -> dict[str, str]:
    if "variables" not in top or not isinstance(top["variables"][1], dict):
        return {}
    file, node = top["variables"]
    result: dict[str, str] = {}
    for name, value in node.items():
        if not isinstance(name, str):
            continue  # `NULL:` or `1:` as a key: no variable name
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, (str, int, bool)) and not isinstance(value, float):
            facts.variables[str(name)] = value if isinstance(value, (int, bool)) else str(value)
            facts.variable_lines[str(name)] = (file, _line(node, name))
            text = str(value).lower() if isinstance(value, bool) else str(value)
            result[str(name)] = expand(text, result) or text  # IMAGE: ${REGISTRY}/app
    return result


def _job_variables(jobs: dict[str, Layer], name: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for layer in reversed(_layers(name, jobs, Facts("", ""), set())):
        node = layer.node.get("variables")
        if isinstance(node, dict):
            result.update({str(k): str(v) for k, v in node.items() if isinstance(v, (str, int))})
    return result


def _default_tags(top: dict[str, tuple[str, Any]]) -> list[str]:
    default = top.get("default", ("", None))[1]
    tags = default.get("tags") if isinstance(default, dict) else None
    return [str(t) for t in tags] if isinstance(tags, list) else []


_PREDEFINED = re.compile(r"^(CI|GITLAB|FF)_|^(HOME|PWD|PATH|USER|SHELL|HOSTNAME|DOCKER_HOST|DOCKER_TLS_CERTDIR)$")


def _note_undefined(job: JobInfo, variables: dict[str, str], job_vars: dict[str, str], facts: Facts) -> None:
    known = {n.message.split("`")[1] for n in facts.notes if n.message.startswith("uses `")}
    for command in job.commands:
        for name in referenced_variables(command.text):
            if name in variables or name in job_vars or _PREDEFINED.match(name) or f"${name}" in known:
                continue
            known.add(f"${name}")
            facts.note(command.line, f"uses `${name}`, which job {job.name!r} does not define: a CI/CD variable on "
                       "the server? list it under `secrets:` (or `variables:`)", DECIDE, command.file)


def _line(node: Any, key: Any) -> int:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return int(getattr(getattr(node, "lc", None), "line", 0) or 0) + 1


def _item_line(seq: Any, index: int) -> int:
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return int(getattr(getattr(seq, "lc", None), "line", 0) or 0) + 1
