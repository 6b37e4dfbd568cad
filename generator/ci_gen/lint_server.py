"""`ci-gen lint --server`: the rendered pipelines checked by the servers that will run them, one
per target with a server (`targets/<name>/server_lint.py`: GitLab's CI Lint API, Jenkins'
declarative validator). Committed files are checked when present, else what `render` writes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError, Problem, UsageError
from .paths import manifest_escape_reason, read_file
from .redaction import scrub, scrub_data
from .targets import SERVER_TARGETS, TARGETS
from .targets.base import ServerLint
from .workspace import MANIFEST_NAME
from .yamlio import read_text


@dataclass(frozen=True)
class LintServerOptions:
    """What `lint --server` hands each target (`Remote.lint` reads its own settings)."""

    gitlab_project: str | None = None  # GitLab's CI Lint context: --gitlab-project


def run_lint_server(directory: Path, gitlab_project: str | None = None, timeout: float = 30.0,
                    output: str = "text", manifest_path: Path | None = None) -> int:
    """0 when every server accepts its file, 1 when one reports errors, 2/3 as DESIGN.md says."""
    from . import api

    path = manifest_path or directory / MANIFEST_NAME  # -f, else the usual name
    shown = MANIFEST_NAME if manifest_path is None else _shown(path, directory)
    if not path.is_file():
        raise UsageError(f"no {shown} in {directory}")
    if reason := manifest_escape_reason(directory, path):  # never parsed, quoted or sent to a server
        raise ManifestError([Problem(shown, 1, 1, "", reason)])
    text = read_text(path, shown)  # bounded, regular files only, UTF-8 checked
    manifest = api.load_manifest_text(text, shown)
    servers = [TARGETS[name] for name in SERVER_TARGETS]
    files = _texts(directory, api.render_manifest(manifest, text.encode("utf-8")).files,
                   [t.output for t in servers])
    options = LintServerOptions(gitlab_project)
    found = {t.name: t.remote.credentials(None, options) for t in servers}
    results: list[ServerLint] = []
    for target in servers:
        if target.name in manifest.targets and found[target.name] is not None:
            connect = functools.partial(target.remote.connect, found[target.name], timeout, 1)
            results.append(target.remote.lint(connect, manifest, files[target.output], options))
    if not results:
        raise UsageError("no server to lint against: set "
                         + " and/or ".join(t.remote.variables for t in servers))
    _print(results, output)
    return 1 if any(r.errors for r in results) else 0


def _shown(path: Path, directory: Path) -> str:
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return str(path)


def _texts(directory: Path, rendered: dict[str, bytes], names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        # Through the guarded reader: a file linked out of the repository is never sent to a server.
        on_disk = read_file(directory, name)
        if on_disk is not None:
            out[name] = on_disk.decode("utf-8", errors="replace")
        elif name in rendered:
            out[name] = rendered[name].decode("utf-8")
    return out


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
