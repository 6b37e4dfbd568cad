"""`ci-gen lint`: validate the generated pipelines offline, each with its own CI system's validator,
and the monitoring files with promtool."""
from __future__ import annotations

from pathlib import Path

from ..errors import ManifestError, UserError
from ..manifest import load_manifest_bytes
from ..output import emit, problem_dicts
from ..paths import check_out_dir, read_file
from ..generated import render_manifest
from ..targets import TARGETS
from ..targets.base import LintResult
from ..workspace import Workspace
from ..yamlio import read_text


def run(ws: Workspace, fmt: str, out: str | None = None) -> int:
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
