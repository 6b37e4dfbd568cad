"""`ci-gen lint`: validate the generated pipelines offline, each with its own CI system's validator,
and the monitoring files with promtool."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ManifestError, UserError
from ..manifest import load_manifest_bytes
from ..output import emit, problem_dicts
from ..paths import check_out_dir, read_file
from ..generated import render_manifest
from ..targets import TARGETS
from ..targets.base import LintResult
from ..workspace import Workspace, workspace
from ..yamlio import read_text
from .usage import given, refuse

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C
    manifest: str | None = None  # -f
    fmt: str = "text"
    out: str | None = None  # lint what `render --out OUT` wrote there (offline only)
    server: bool = False  # the servers' own validators instead of the offline ones
    gitlab_project: str | None = None  # --server only
    timeout: float | None = None  # --server only; None: DEFAULT_TIMEOUT


def run(request: Request) -> int:
    server_only = given([("--gitlab-project", request.gitlab_project), ("--timeout", request.timeout)])
    refuse([(request.server and request.out is not None, "--out lints offline; --server checks the repository's files"),
            (not request.server and bool(server_only), f"{', '.join(server_only)}: only with --server")])
    ws = workspace(request.directory, request.manifest, find=True)
    if request.server:
        from ..lint_server import run_lint_server

        return run_lint_server(ws.root, request.gitlab_project, request.timeout or DEFAULT_TIMEOUT, request.fmt,
                               ws.manifest_path)
    return _lint_offline(ws, request.fmt, request.out)


def _lint_offline(ws: Workspace, fmt: str, out: str | None) -> int:
    """Lint the committed files when present, else what `render` would write; with `out`, the
    files `render --out OUT` wrote there (a missing one is an error, not rendered afresh)."""
    try:
        manifest_bytes = read_text(ws.manifest_path, ws.display).encode("utf-8")  # read once, bounded
        manifest = load_manifest_bytes(manifest_bytes, ws.display, ws.root)
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"ok": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    root = check_out_dir(out) if out else ws.root
    rendered = None
    texts: dict[str, str] = {}
    for target in manifest.targets:
        path = TARGETS[target].output
        on_disk = read_file(root, path)  # regular files inside the repository (or OUT) only, bounded
        if on_disk is not None:
            texts[path] = on_disk.decode("utf-8", errors="replace")
        elif out:
            raise UserError(f"{Path(out) / path}: missing; run `ci-gen render --out {out}` first")
        else:
            rendered = rendered or render_manifest(manifest, manifest_bytes)
            texts[path] = rendered.files[path].decode("utf-8")
    results: list[LintResult] = []
    for target in manifest.targets:
        path = TARGETS[target].output
        results += TARGETS[target].module.lint({path: texts[path]})
    if manifest.monitoring is not None:
        from ..monitoring.lint import RULES_PATH, lint_monitoring

        rules_bytes = read_file(root, RULES_PATH)
        if rules_bytes is not None:
            rules = rules_bytes.decode("utf-8", errors="replace")
        elif out:
            raise UserError(f"{Path(out) / RULES_PATH}: missing; run `ci-gen render --out {out}` first")
        else:
            rendered = rendered or render_manifest(manifest, ws.manifest_path.read_bytes())
            rules = rendered.files[RULES_PATH].decode("utf-8")
        results += lint_monitoring(manifest, rules)
    lines = []
    for r in results:
        lines += list(r.problems) or [f"{r.file}: {r.skipped}" if r.skipped else f"{r.file}: ok"]
    payload = {"ok": all(r.ok for r in results),
               "results": [{"file": r.file, "problems": list(r.problems), "skipped": r.skipped} for r in results]}
    emit(fmt, lines, payload, err=not payload["ok"])
    return 0 if payload["ok"] else 1
