"""What one shell command in a pipeline does: build, push, test, scan, deploy, or something else.

Both readers hand their `script:` / `sh` lines here, so GitLab and Jenkins pipelines are
recognised by the same rules. Commands are split into words with `shlex`, never run.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_VAR = re.compile(r"\$\{(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\benv\.([A-Za-z_][A-Za-z0-9_]*)")
_SEPARATORS = {"&&", "||", ";", "|", "&", ";;"}
_QUIET = {"echo", "printf", "cd", "set", "true", ":", "export", "cat", "ls", "pwd", "env", "date", "sleep", "mkdir"}
_TEST = re.compile(r"^(pytest|py\.test|tox|nox|unittest|behave|coverage)$")
_SEVERITIES = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


@dataclass(frozen=True)
class Command:
    """One shell command line of a job, with where it was written."""

    file: str
    line: int
    text: str


@dataclass
class Action:
    """What a command does. `kind` is build, push, login, test, scan, deploy, helm, container, quiet or
    other."""

    kind: str
    words: list[str] = field(default_factory=list)
    image: str | None = None
    dockerfile: str | None = None
    context: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    builder: str = ""
    run: str | None = None  # test: the command to run inside the image
    gpu: bool = False
    namespace: str | None = None
    kube_context: str | None = None
    manifests: str | None = None
    timeout: str | None = None
    scan: dict[str, object] = field(default_factory=dict)


def expand(text: str, variables: dict[str, str]) -> str | None:
    """`text` with `$X` / `${X}` / `${env.X}` replaced from `variables`; None if any is unknown."""
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1) or match.group(2) or match.group(3)
        if name in variables:
            return variables[name]
        missing = True
        return match.group(0)

    result = _VAR.sub(sub, text)
    return None if missing else result


def referenced_variables(text: str) -> list[str]:
    return [m.group(1) or m.group(2) or m.group(3) for m in _VAR.finditer(text)]


def split_lines(file: str, line: int, script: str) -> list[Command]:
    """A multi-line script as one Command per logical line (backslash continuations joined)."""
    commands: list[Command] = []
    pending, start = "", line
    for offset, raw in enumerate(script.splitlines()):
        if not pending:
            start = line + offset
        stripped = raw.strip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        if text and not text.startswith("#"):
            commands.append(Command(file, start, text))
    if pending.strip():
        commands.append(Command(file, start, pending.strip()))
    return commands


def simple_commands(text: str) -> list[list[str]]:
    """The words of each simple command in `text` (split at `&&`, `;`, `|`...)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        tokens = text.split()
    commands: list[list[str]] = []
    current: list[str] = []
    for token in tokens:
        if token in _SEPARATORS or set(token) <= set("&|;()"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(token)
    if current:
        commands.append(current)
    return commands


def classify(words: list[str], variables: dict[str, str]) -> Action:
    """What one simple command does."""
    words = _strip_prefix(words)
    if not words:
        return Action("quiet")
    tool = words[0].rsplit("/", 1)[-1]
    rest = words[1:]
    if tool in ("docker", "podman", "buildah") and (rest[:1] in (["build"], ["bud"]) or rest[:2] == ["buildx", "build"]):
        return _build(tool if tool != "podman" else "docker", rest, variables)
    if tool in ("executor", "kaniko") or "kaniko" in words[0]:
        return _build("kaniko", rest, variables)
    if tool in ("docker", "podman", "buildah", "crane", "skopeo") and rest[:1] in (["push"], ["copy"], ["tag"]):
        return Action("push", words)
    if tool in ("docker", "podman", "buildah", "helm") and rest[:1] == ["login"] or tool == "docker" and rest[:1] == ["pull"]:
        return Action("login", words)
    if tool in ("docker", "podman") and rest[:1] == ["run"]:
        return _docker_run(rest[1:], variables)
    if _is_test(tool, rest):
        return Action("test", words, run=shlex.join(words))
    if tool in ("trivy", "grype", "gitleaks", "trufflehog", "detect-secrets", "syft", "cosign"):
        return _scan(tool, rest, words)
    if tool == "kubectl":
        return _kubectl(rest, words, variables)
    if tool == "helm" and rest[:1] in (["upgrade"], ["install"]):
        action = Action("helm", words)
        action.namespace = _resolved(_option(rest, "-n", "--namespace"), variables)
        action.kube_context = _resolved(_option(rest, "--kube-context"), variables)
        return action
    if tool in ("docker", "podman", "docker-compose", "nerdctl"):
        return Action("container", words)  # compose, network...: nothing a test inside the image can do
    if tool in _QUIET:
        return Action("quiet", words)
    return Action("other", words)


def _strip_prefix(words: list[str]) -> list[str]:
    """Drop `sudo`, `VAR=value` assignments and `time` in front of the real command."""
    while words and (words[0] in ("sudo", "time", "exec", "command") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
        words = words[1:]
    return words


def _is_test(tool: str, rest: list[str]) -> bool:
    if _TEST.match(tool):
        return True
    if tool.startswith("python") and rest[:2] in (["-m", "pytest"], ["-m", "unittest"], ["-m", "tox"]):
        return True
    if tool in ("make", "npm", "yarn", "go", "mvn", "gradle", "./gradlew", "cargo") and any("test" in w or w == "verify" for w in rest):
        return True
    return "test" in tool and tool.endswith(".sh")


def _option(words: list[str], *names: str) -> str | None:
    """The value of the first of `names` given as `-x V`, `--name V` or `--name=V`."""
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word[len(name) + 1:]
    return None


def _options(words: list[str], *names: str) -> list[str]:
    found = []
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                found.append(words[index + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                found.append(word[len(name) + 1:])
    return found


def _resolved(value: str | None, variables: dict[str, str]) -> str | None:
    return None if value is None else expand(value, variables)


_TAKES_VALUE = {"-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform", "--network", "--label",
                "--secret", "--cache-from", "--cache-to", "--format", "--destination", "--dockerfile", "--context",
                "-e", "--env", "-v", "--volume", "-w", "--workdir", "--name", "-p", "--publish", "--entrypoint",
                "-u", "--user", "--gpus", "--shm-size", "--mount", "--runtime", "--ipc", "--cache-repo", "--iidfile",
                "-n", "--namespace", "--context", "--kubeconfig", "-l", "--selector", "--timeout", "-k", "--kustomize",
                "--filename", "--image"}


def _positionals(words: list[str]) -> list[str]:
    result, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _TAKES_VALUE
        else:
            result.append(word)
    return result


def image_repository(ref: str) -> str:
    """`registry:5000/group/app:tag` or `...@sha256:...` -> `registry:5000/group/app`."""
    ref = ref.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def _build(builder: str, rest: list[str], variables: dict[str, str]) -> Action:
    if rest[:1] == ["buildx"]:
        rest = rest[1:]
    rest = rest[1:] if rest[:1] in (["build"], ["bud"]) else rest
    action = Action("build", rest, builder=builder)
    tag = _option(rest, "-t", "--tag", "--destination", "-d")
    # The tag is usually a build number or commit: only the repository part must resolve.
    action.image = _resolved(image_repository(tag), variables) if tag else None
    action.dockerfile = _resolved(_option(rest, "-f", "--file", "--dockerfile"), variables)
    context = _option(rest, "--context") if builder == "kaniko" else next(iter(_positionals(rest)[-1:]), None)
    if builder == "kaniko" and context is not None and ("CI_PROJECT_DIR" in context or context.startswith("dir://")):
        context = "." if "CI_PROJECT_DIR" in context else context[len("dir://"):] or "."
    action.context = _resolved(context, variables)
    for arg in _options(rest, "--build-arg"):
        name, sep, value = arg.partition("=")
        if sep:
            action.build_args[name] = value
    return action


def _docker_run(rest: list[str], variables: dict[str, str]) -> Action:
    """`docker run [opts] IMAGE CMD...` runs CMD in an image: a test when CMD is one."""
    gpu = "--gpus" in rest or any(w.startswith("--gpus=") for w in rest)
    index, skip = 0, False
    for index, word in enumerate(rest):
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _TAKES_VALUE
        else:
            break
    else:
        return Action("other", ["docker", "run", *rest])
    inner = rest[index + 1:]
    if inner and _is_test(inner[0].rsplit("/", 1)[-1], inner[1:]):
        return Action("test", ["docker", "run", *rest], run=shlex.join(inner), gpu=gpu)
    return Action("other", ["docker", "run", *rest])


def _scan(tool: str, rest: list[str], words: list[str]) -> Action:
    action = Action("scan", words)
    joined = " ".join(rest)
    if tool == "trivy":
        if rest[:1] in (["image"], ["i"]) or "--image" in rest:
            action.scan["image"] = True
            levels = (_option(rest, "--severity", "-s") or "").upper().split(",")
            known = [s for s in _SEVERITIES if s in levels]
            if known:
                action.scan["severity"] = known[0]
            if "--ignore-unfixed" in rest:
                action.scan["ignore_unfixed"] = True
        if "secret" in joined:
            action.scan["secrets"] = True
        if "cyclonedx" in joined or rest[:1] == ["sbom"]:
            action.scan["sbom"] = True
    elif tool == "grype":
        action.scan["image"] = True
        fail_on = (_option(rest, "--fail-on", "-f") or "").upper()
        if fail_on in _SEVERITIES:
            action.scan["severity"] = fail_on
        if "--only-fixed" in rest:
            action.scan["ignore_unfixed"] = True
    elif tool == "syft":
        action.scan["sbom"] = True
    elif tool == "cosign":
        if rest[:1] != ["sign"]:
            return Action("other", words)
        action.scan["sign"] = True
    else:
        action.scan["secrets"] = True
    return action


def _kubectl(rest: list[str], words: list[str], variables: dict[str, str]) -> Action:
    positional = _positionals(rest)
    verb = positional[0] if positional else ""
    if verb == "config" and positional[1:2] == ["use-context"] and len(positional) > 2:
        return Action("deploy", words, kube_context=expand(positional[2], variables))
    if verb not in ("apply", "set", "rollout", "create", "replace", "patch", "scale", "delete"):
        return Action("other", words)
    action = Action("deploy", words)
    action.namespace = _resolved(_option(rest, "-n", "--namespace"), variables)
    action.kube_context = _resolved(_option(rest, "--context"), variables)
    if verb == "rollout":
        action.timeout = _resolved(_option(rest, "--timeout"), variables)
    if verb == "apply":
        action.manifests = _resolved(_option(rest, "-f", "--filename", "-k", "--kustomize"), variables)
    return action
