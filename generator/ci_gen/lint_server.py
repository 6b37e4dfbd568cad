"""`ci-gen lint --server`: the rendered pipelines checked by the servers that will run them:
`.gitlab-ci.yml` by the project's CI Lint API, the Jenkinsfile by Jenkins' declarative validator
(`pipeline-model-converter`). Committed files are checked when present, else what `render` writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError, Problem, ServerError, UsageError
from .paths import manifest_escape_reason, read_file
from .redaction import scrub, scrub_data
from .workspace import MANIFEST_NAME
from .yamlio import read_text



@dataclass
class ServerLint:
    file: str
    server: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_lint_server(directory: Path, gitlab_project: str | None = None, timeout: float = 30.0,
                    output: str = "text", manifest_path: Path | None = None) -> int:
    """0 when every server accepts its file, 1 when one reports errors, 2/3 as DESIGN.md says."""
    from . import api
    from .sync.clients import gitlab_client, jenkins_client
    from .sync.credentials import gitlab_credentials, jenkins_credentials

    path = manifest_path or directory / MANIFEST_NAME  # -f, else the usual name
    shown = MANIFEST_NAME if manifest_path is None else _shown(path, directory)
    if not path.is_file():
        raise UsageError(f"no {shown} in {directory}")
    if reason := manifest_escape_reason(directory, path):  # never parsed, quoted or sent to a server
        raise ManifestError([Problem(shown, 1, 1, "", reason)])
    text = read_text(path, shown)  # bounded, regular files only, UTF-8 checked
    manifest = api.load_manifest_text(text, shown)
    files = _texts(directory, api.render_manifest(manifest, text.encode("utf-8")).files)
    results: list[ServerLint] = []
    jk, gl = jenkins_credentials(None), gitlab_credentials(None)
    if "gitlab" in manifest.targets and gl is not None:
        project = gitlab_project or manifest.gitlab.project
        if project is None:
            raise UsageError("GitLab lints in a project's context: set gitlab.project in the manifest "
                             "or pass --gitlab-project")
        results.append(_lint_gitlab(gitlab_client(gl, timeout, 1), project, files[".gitlab-ci.yml"]))
    if "jenkins" in manifest.targets and jk is not None:
        results.append(_lint_jenkins(jenkins_client(jk, timeout, 1), files["Jenkinsfile"]))
    if not results:
        raise UsageError("no server to lint against: set CI_GEN_GITLAB_URL/TOKEN and/or "
                         "CI_GEN_JENKINS_URL/USER/TOKEN")
    _print(results, output)
    return 1 if any(r.errors for r in results) else 0


def _shown(path: Path, directory: Path) -> str:
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return str(path)


def _texts(directory: Path, rendered: dict[str, bytes]) -> dict[str, str]:
    out = {}
    for name in (".gitlab-ci.yml", "Jenkinsfile"):
        # Through the guarded reader: a file linked out of the repository is never sent to a server.
        on_disk = read_file(directory, name)
        if on_disk is not None:
            out[name] = on_disk.decode("utf-8", errors="replace")
        elif name in rendered:
            out[name] = rendered[name].decode("utf-8")
    return out


def _lint_gitlab(client: Any, project: str, content: str) -> ServerLint:
    import gitlab

    try:
        # Few retries: an interactive check should fail fast when the server is down.
        result = client.projects.get(project, lazy=True).ci_lint.create({"content": content}, max_retries=2)
    except gitlab.GitlabError as exc:
        if exc.response_code in (401, 403, 404):
            raise UsageError(f"GitLab CI Lint for {project}: {exc.response_code} {exc.error_message}") from None
        raise ServerError(f"GitLab CI Lint for {project} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - connection failures: one line, exit 3
        raise ServerError(f"GitLab unreachable for CI Lint: {type(exc).__name__}") from None
    return ServerLint(".gitlab-ci.yml", "gitlab", list(getattr(result, "errors", []) or []),
                      list(getattr(result, "warnings", []) or []))


def _lint_jenkins(client: Any, jenkinsfile: str) -> ServerLint:
    try:
        errors = client.check_jenkinsfile_syntax(jenkinsfile)
    except Exception as exc:  # noqa: BLE001 - python-jenkins raises several unrelated types
        raise ServerError(f"Jenkins declarative validator failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return ServerLint("Jenkinsfile", "jenkins", [_jenkins_error(e) for e in errors])


def _jenkins_error(entry: Any) -> str:
    """Jenkins reports `{"error": str | [str]}` entries; flatten them to lines."""
    if isinstance(entry, dict):
        value = entry.get("error", entry)
        return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(entry)


def _print(results: list[ServerLint], output: str) -> None:
    """The servers' messages are their text: scrubbed before they reach a terminal or a file."""
    from .output import emit_json, emit_lines

    if output == "json":
        payload = {"ok": not any(r.errors for r in results),
                   "results": [r.__dict__ for r in results]}
        emit_json(scrub_data(payload), sort_keys=False)
        return
    lines = []
    for r in results:
        if not r.errors:
            lines.append(f"{r.file}: valid ({r.server})")
        lines += [scrub(f"{r.file}: {message} ({r.server})") for message in r.errors]
        lines += [scrub(f"{r.file}: warning: {message} ({r.server})") for message in r.warnings]
    emit_lines(lines)
