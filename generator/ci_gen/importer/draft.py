"""Merging the facts of each pipeline file into one draft manifest, valid as written.

Values copied from a pipeline are checked against the manifest schema's own patterns before
they go in; one that does not fit is left out with a note, so the draft always validates.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ..paths import path_escape_reason
from ..schema import load_schema
from ..workspace import MANIFEST_NAME
from .facts import DECIDE, UNMAPPED, Build, Facts, Note
from .jobs import slug

SCHEMA_COMMENT = "# yaml-language-server: $schema=https://ci-gen.dev/schemas/manifest.schema.json"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A `|` block keeps text as written only when every character is printable in YAML and no line
# ends in a space; anything else is left to the emitter, which escapes it in double quotes.
_LITERAL_SAFE = re.compile(r"\A(?:[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*(?<! )\n)*"
                           r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*(?<!\s)\Z")


@dataclass(frozen=True)
class Draft:
    text: str
    notes: list[Note]


def _fits(definition: str, value: Any) -> bool:
    """Whether `value` matches the schema at `definition`: a `$defs` entry or a dotted property path
    from the root or from a `$defs` entry (`image.name`, `schedule.cron`)."""
    schema = load_schema()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node or "items" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node["items"]
        return node

    first, *rest = definition.split(".")
    node = resolve(schema["$defs"][first] if first in schema["$defs"] else schema["properties"][first])
    for part in rest:
        node = resolve(node["properties"][part])
    pattern = node.get("pattern")
    return isinstance(value, str) and bool(value) and len(value) <= node.get("maxLength", 4096) and (
        pattern is None or re.search(pattern, value) is not None)


class _Merger:
    def __init__(self, all_facts: list[Facts], root: Path) -> None:
        self.facts, self.root = all_facts, root
        self.notes: list[Note] = [n for f in all_facts for n in f.notes]

    def note(self, where: tuple[str, int], message: str, kind: str = DECIDE) -> None:
        self.notes.append(Note(where[0], where[1], kind, message))

    def manifest(self) -> dict[str, Any]:
        first = (self.facts[0].file, 1)
        build = self._build()
        image = self._image(build, first)
        name = slug(image["name"].rsplit("/", 1)[-1]) or slug(self.root.resolve().name) or "app"
        data: dict[str, Any] = {"version": 1, "name": name, "targets": [f.target for f in self.facts], "image": image}
        tests = self._tests()
        if tests:
            data["test"] = tests
        data["scan"] = self._scan(first)
        deploy = self._deploy()
        if deploy:
            data["deploy"] = deploy
        runners = self._runners(any(t.get("gpu") for t in tests))
        if runners:
            data["runners"] = runners
        credentials = {k: v for f in self.facts for k, v in f.credentials.items() if _fits("credential_id", v)}
        if credentials:
            data["jenkins"] = {"credentials": dict(sorted(credentials.items()))}
        self._variables(data)
        schedules = self._schedules()
        if schedules:
            data["schedules"] = schedules
        self.note(first, self._model_hint())
        return data

    def _model_hint(self) -> str:
        """Pipelines rarely name the model file; the repository may hold it."""
        found = _model_files(self.root)
        if not found:
            return "no model found: ci-gen converts, checks and scans a model file; set `model:` if the app serves one"
        path, framework = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return (f"model file {path!r}{more} in the repository: set `model: {{path: {path}, framework: {framework}}}` "
                "to have ci-gen convert, check and scan it")

    def _build(self) -> Build | None:
        builds = [b for f in self.facts for b in f.builds]
        for extra in builds[1:]:
            if extra.image != builds[0].image:
                self.note((extra.file, extra.line), f"another image build ({extra.image or 'unresolved name'}): "
                          "ci-gen builds one image; this one is not in the draft", UNMAPPED)
        return builds[0] if builds else None

    def _image(self, build: Build | None, first: tuple[str, int]) -> dict[str, Any]:
        where = (build.file, build.line) if build else first
        image: dict[str, Any] = {}
        if build and build.image and _fits("image.name", build.image):
            image["name"] = build.image
        else:
            fallback = slug(self.root.resolve().name) or "app"
            image["name"] = f"registry.example.com/{fallback}"
            found = f"image {build.image!r} is not a plain repository name" if build and build.image else (
                "image name not found (a variable?)" if build else "no image build found")
            self.note(where, f"{found}: the draft uses {image['name']!r}; set `image.name`")
        if build:
            image["builder"] = build.builder if build.builder in ("docker", "kaniko", "buildah") else "buildah"
        dockerfile = build.dockerfile if build and build.dockerfile else "Dockerfile"
        if _fits("relpath", dockerfile) and not path_escape_reason(dockerfile, self.root) and (self.root / dockerfile).is_file():
            image["dockerfile"] = dockerfile
        else:
            self.note(where, f"no {dockerfile} in the repository: ci-gen generates a Dockerfile from `image.base` "
                      "(a CUDA image by default); set `image.dockerfile` or `image.base`")
        context = build.context if build else None
        if context and context not in (".", "./"):
            if _fits("relpath", context) and not path_escape_reason(context, self.root):
                image["context"] = context
            else:
                self.note(where, f"build context {context!r}: not a path inside the repository", UNMAPPED)
        args = {}
        for key, value in (build.build_args if build else {}).items():
            if "$" in value or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                self.note(where, f"build arg {key} = {value!r}: values are data in ci-gen ($ is not expanded); "
                          "set it under `image.build_args`", UNMAPPED)
            else:
                args[key] = value
        if args:
            image["build_args"] = args
        return image

    def _tests(self) -> list[dict[str, Any]]:
        tests: list[dict[str, Any]] = []
        names: set[str] = set()
        for test in (t for f in self.facts for t in f.tests):
            if any(t["run"] == test.run for t in tests):
                continue  # the same command in both pipelines
            name, n = test.name, 2
            while name in names:
                name, n = f"{test.name[:58]}-{n}", n + 1
            names.add(name)
            entry: dict[str, Any] = {"name": name, "run": test.run[:10000]}
            if test.gpu:
                entry["gpu"] = True
            tests.append(entry)
        return tests

    def _scan(self, first: tuple[str, int]) -> dict[str, Any]:
        found = [f.scan for f in self.facts]
        image: dict[str, Any] = {}
        severity = next((s.severity for s in found if s.severity), None)
        if severity:
            image["severity"] = severity
        if any(s.ignore_unfixed for s in found):
            image["ignore_unfixed"] = True
        if not any(s.image for s in found):
            self.note(first, "no image scan found: ci-gen's image scan always runs (trivy, failing at HIGH); "
                      "set `scan.image.severity`")
        scan: dict[str, Any] = {"image": image} if image else {}
        scan["secrets"] = any(s.secrets for s in found)
        scan["sbom"] = any(s.sbom for s in found)
        scan["sign"] = any(s.sign for s in found)
        return scan

    def _deploy(self) -> dict[str, Any]:
        envs: dict[str, dict[str, Any]] = {}
        manifests: list[tuple[str, tuple[str, int]]] = []
        timeouts: list[str] = []
        for env in (e for f in self.facts for e in f.envs):
            where = (env.file, env.line)
            if not _fits("slug", env.name):
                self.note(where, f"environment name {env.name!r}: not a manifest name", UNMAPPED)
                continue
            entry = envs.setdefault(env.name, {"name": env.name, "kubernetes": {}})
            kubernetes = entry["kubernetes"]
            if env.context and "context" not in kubernetes and _fits("deploy.environments.kubernetes.context", env.context):
                kubernetes["context"] = env.context
            if env.namespace and "namespace" not in kubernetes:
                if _fits("slug", env.namespace):
                    kubernetes["namespace"] = env.namespace
                else:
                    self.note(where, f"namespace {env.namespace!r} of {env.name!r} is not a plain name", UNMAPPED)
            if env.approval:
                entry["approval"] = True
                users = [u for u in dict.fromkeys(env.approvers) if _fits("environment.approval.users", u)]
                if users:
                    entry["approval"] = {"users": users}
                    self.note(where, f"approvers {', '.join(users)} of {env.name!r} became approval.users; Jenkins' "
                              "submitter also takes groups: move any group to approval.groups")
            if env.branch and "branch" not in entry and _fits("ref_name", env.branch):
                entry["branch"] = env.branch
            if env.manifests:
                manifests.append((env.manifests, where))
            if env.kubeconfig and _fits("credential_id", env.kubeconfig):
                entry.setdefault("credentials", {"kubeconfig": env.kubeconfig})
            if env.timeout and _fits("duration", env.timeout):
                timeouts.append(env.timeout)
        self._shared_production_credentials(envs)
        for name, entry in envs.items():
            if "namespace" not in entry["kubernetes"]:
                entry["kubernetes"]["namespace"] = "default"
                self.note(self._env_where(name), f"no namespace found for {name!r}: the draft says 'default'")
            entry["kubernetes"] = dict(sorted(entry["kubernetes"].items(), key=lambda kv: kv[0] != "context"))
        if not envs:
            return {}
        deploy: dict[str, Any] = {"strategy": "rolling", "environments": list(envs.values())}
        if timeouts:
            deploy = {"strategy": "rolling", "timeout": timeouts[0], "environments": list(envs.values())}
        if manifests:
            path, where = manifests[0]
            if _fits("relpath", path) and not path_escape_reason(path, self.root) and (self.root / path).exists():
                deploy = {"strategy": "rolling", "manifests": path.rstrip("/") or path, **deploy}
            else:
                self.note(where, f"manifests {path!r} not found in the repository: ci-gen's default manifests "
                          "are used; set `deploy.manifests`")
            if len({p for p, _ in manifests}) > 1:
                self.note(manifests[1][1], "environments apply different manifests; ci-gen applies one directory "
                          "(`deploy.manifests`) to every environment", UNMAPPED)
        return deploy

    def _shared_production_credentials(self, envs: dict[str, dict[str, Any]]) -> None:
        """The old pipeline may have deployed staging with production's kubeconfig; ci-gen refuses
        that unless allowed, so the draft allows it, visibly."""
        from ..tiers import guess_tier

        production = {e["credentials"]["kubeconfig"] for e in envs.values()
                      if "credentials" in e and guess_tier(e["name"]) == "production"}
        for name, entry in envs.items():
            credential = entry.get("credentials", {}).get("kubeconfig")
            if credential in production and guess_tier(name) != "production":
                entry["credentials"]["allow_production"] = True
                self.note(self._env_where(name), f"{name!r} deploys with production's kubeconfig {credential!r}: "
                          "the draft allows it (credentials.allow_production); give it its own credential")

    def _env_where(self, name: str) -> tuple[str, int]:
        env = next(e for f in self.facts for e in f.envs if e.name == name)
        return env.file, env.line

    def _runners(self, gpu_tests: bool) -> dict[str, Any]:
        runners: dict[str, Any] = {}
        for facts in self.facts:
            if facts.target == "gitlab":
                section: dict[str, Any] = {}
                default = [t for t in dict.fromkeys(facts.default_runner) if _fits("tags", t)]
                gpu = [t for t in dict.fromkeys(facts.gpu_runner) if _fits("tags", t)]
                if default:
                    section["default"] = default
                if gpu or gpu_tests:
                    section["gpu"] = gpu or ["gpu"]
            else:
                section = {}
                default_label = next((t for t in facts.default_runner if _fits("label", t)), None)
                gpu_label = next((t for t in facts.gpu_runner if _fits("label", t)), None)
                if default_label:
                    section["default"] = default_label
                if gpu_label or gpu_tests:
                    section["gpu"] = gpu_label or "gpu"
            if gpu_tests and not facts.gpu_runner:
                self.note((facts.file, 1), "a test runs on a GPU but no GPU runner was found here: the draft "
                          "says 'gpu'; set `runners." + facts.target + ".gpu`")
            if section:
                runners[facts.target] = section
        return runners

    def _variables(self, data: dict[str, Any]) -> None:
        secrets = [s for f in self.facts for s in f.secrets]
        variables: dict[str, Any] = {}
        for facts in self.facts:
            for name, value in facts.variables.items():
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$", name) or name.startswith("CI_GEN_") or name in secrets:
                    self.note(facts.variable_lines.get(name, (facts.file, 1)),
                              f"variable {name}: name not allowed here, or also a secret", UNMAPPED)
                elif name not in variables:
                    variables[name] = value
                    if "$" in str(value):
                        self.note(facts.variable_lines.get(name, (facts.file, 1)),
                                  f"variable {name} = {value!r}: ci-gen passes values verbatim, `$` is not expanded")
        if variables:
            data["variables"] = variables
        valid_secrets = [s for s in dict.fromkeys(secrets) if re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$", s)
                         and not s.startswith("CI_GEN_")]
        if valid_secrets:
            data["secrets"] = valid_secrets

    def _schedules(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for schedule in (s for f in self.facts for s in f.schedules):
            if not _fits("schedule.cron", schedule.cron):
                self.note((schedule.file, schedule.line), f"cron {schedule.cron!r}: not five fields",
                          UNMAPPED)
                continue
            if any(s["cron"] == schedule.cron for s in found):
                continue
            found.append({"name": schedule.name, "cron": schedule.cron, "branch": schedule.branch or "main"})
        return found


_MODEL_SUFFIXES = {".pt": "pytorch", ".pth": "pytorch", ".onnx": "onnx", ".pkl": "sklearn", ".joblib": "sklearn",
                   ".h5": "tensorflow", ".keras": "tensorflow"}
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", ".ci-gen", "__pycache__", ".tox"}


def _model_files(root: Path, depth: int = 3, budget: int = 2000) -> list[tuple[str, str]]:
    """Model files near the top of the repository (bounded: a big checkout is not walked)."""
    found: list[tuple[str, str]] = []
    level = [root]
    for _ in range(depth):
        following = []
        for directory in level:
            try:
                entries = sorted(directory.iterdir())
            except OSError:
                continue
            for entry in entries:
                budget -= 1
                if budget < 0:
                    return found
                if entry.is_symlink():
                    continue
                if entry.is_dir() and entry.name not in _SKIP_DIRS:
                    following.append(entry)
                elif entry.suffix in _MODEL_SUFFIXES and entry.is_file():
                    found.append((entry.relative_to(root).as_posix(), _MODEL_SUFFIXES[entry.suffix]))
        level = following
    return found


def build(all_facts: list[Facts], root: Path) -> Draft:
    """The draft manifest text for these facts, the notes at its top."""
    merger = _Merger(all_facts, root)
    data = merger.manifest()
    _repair(data, root, merger)
    notes = sorted(set(merger.notes), key=lambda n: (n.kind != UNMAPPED, n.file, n.line, n.message))
    return Draft(_header([f.file for f in all_facts], notes) + _dump(data), notes)


_MAX_REPAIRS = 20


def _repair(data: dict[str, Any], root: Path, merger: _Merger) -> None:
    """Leave out, one by one, values that a semantic rule refuses (a variable called `NULL`...):
    the values were checked against the schema on the way in, the rules beyond it are here."""
    from ..manifest import load_manifest_text

    for _ in range(_MAX_REPAIRS):
        try:
            load_manifest_text(_dump(data), MANIFEST_NAME, root)
            return
        except ManifestError as exc:
            problem = exc.problems[0]
        if not _drop(data, problem.path):
            return  # not a value the draft can do without: the command reports the invalid draft
        name = problem.path.split(".", 1)[-1]
        where = next((f.variable_lines[name] for f in merger.facts if name in f.variable_lines),
                     (merger.facts[0].file, 1))
        merger.note(where, f"left out of the draft, ci-gen refuses it: {problem.path}: {problem.message}", UNMAPPED)


def _drop(data: dict[str, Any], path: str) -> bool:
    parts: list[str | int] = [int(i) if i else k for i, k in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)]
    if len(parts) < 2 or parts[0] in ("version", "name", "image") and len(parts) < 3:
        return False
    if len(parts) >= 3 and isinstance(parts[-2], int):
        parts = parts[:-1]  # a field of a list item (an environment's name): the item goes, not half of it
    chain: list[Any] = [data]
    for part in parts[:-1]:
        node = chain[-1]
        if isinstance(node, dict) and part in node:
            chain.append(node[part])
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            chain.append(node[part])
        else:
            return False
    parent, last = chain[-1], parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        parent.pop(last)
    else:
        return False
    if not parent and len(parts) == 2:
        del data[str(parts[0])]  # `variables: {}` says nothing
    return True


def clean(text: str) -> str:
    """One printable line: notes quote commands from an untrusted file."""
    from ..redaction import scrub

    return _CONTROL.sub(" ", scrub(text))


def _header(sources: list[str], notes: list[Note]) -> str:
    lines = [f"# Drafted by `ci-gen import` from {' and '.join(sources)}.",
             "# Review it, then run `ci-gen validate` and `ci-gen render --diff`; delete these notes when done."]
    for kind, title in ((UNMAPPED, "Not mapped: the old pipeline does this, ci-gen has no place for it"),
                        (DECIDE, "To decide")):
        chosen = [n for n in notes if n.kind == kind]
        if chosen:
            lines += ["#", f"# {title}:"] + [f"#   {clean(str(n))}" for n in chosen]
    return "\n".join(lines + [SCHEMA_COMMENT]) + "\n"


def _dump(data: dict[str, Any]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: literal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [literal(v) for v in value]
        if isinstance(value, str) and "\n" in value and _LITERAL_SAFE.match(value):
            return LiteralScalarString(value)
        return value

    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(literal(data), stream)
    return stream.getvalue()
