"""`ci-gen lint`: validate the generated pipelines offline, each with its own CI system's validator,
and the monitoring files with promtool."""
from __future__ import annotations

from ..errors import ManifestError
from ..manifest import load_manifest_bytes
from ..output import emit, problem_dicts
from ..paths import read_file
from ..render import render_manifest
from ..targets import TARGETS
from ..targets.base import LintResult
from ..workspace import Workspace
from ..yamlio import read_text


def run(ws: Workspace, fmt: str) -> int:
    """Lint the committed files when present, else what `render` would write."""
    try:
        manifest_bytes = read_text(ws.manifest_path, ws.display).encode("utf-8")  # read once, bounded
        manifest = load_manifest_bytes(manifest_bytes, ws.display, ws.root)
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"ok": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    rendered = None
    texts: dict[str, str] = {}
    for target in manifest.targets:
        path = TARGETS[target].output
        on_disk = read_file(ws.root, path)  # regular files inside the repository only, bounded
        if on_disk is not None:
            texts[path] = on_disk.decode("utf-8", errors="replace")
        else:
            rendered = rendered or render_manifest(manifest, manifest_bytes)
            texts[path] = rendered.files[path].decode("utf-8")
    results: list[LintResult] = []
    for target in manifest.targets:
        path = TARGETS[target].output
        results += TARGETS[target].module.lint({path: texts[path]})
    if manifest.monitoring is not None:
        from ..monitoring.lint import RULES_PATH, lint_monitoring

        rules_file = ws.root / RULES_PATH
        if rules_file.is_file():
            rules = rules_file.read_text(encoding="utf-8")
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
