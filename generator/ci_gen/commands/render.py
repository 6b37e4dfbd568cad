"""`ci-gen render`: write the generated files, or `--check` / `--diff` them against disk."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..drift import find_drift, obsolete_paths, unified_diff, up_to_date_by_record
from ..errors import ManifestError
from ..output import emit, problem_dicts
from ..paths import check_out_dir, remove_file
from ..verified import load, record_key, store
from ..workspace import Workspace
from ..yamlio import read_text

if TYPE_CHECKING:
    from ..render import Rendered


def run(ws: Workspace, fmt: str, check: bool, diff: bool, out: str | None, targets: tuple[str, ...]) -> int:
    root = check_out_dir(out) if out else ws.root
    manifest_bytes = read_text(ws.manifest_path, ws.display).encode("utf-8")
    key = record_key(manifest_bytes, ws.display)
    if check and not diff and not targets:
        record = load(key, ws.root)  # from the user's cache, never from the repository
        if record is not None and up_to_date_by_record(root, record, ws.root):
            emit(fmt, [f"{ws.display}: generated files are up to date"], {"ok": True, "drift": []})
            return 0
    # Imported only past the fast path: an up-to-date repository never loads the model,
    # the plan or the renderers, which keeps the pre-commit hook fast.
    from ..manifest import load_manifest_bytes
    from ..render import file_digests, manifest_paths, render_manifest, write

    try:
        manifest = load_manifest_bytes(manifest_bytes, ws.display, ws.root)
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"ok": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    rendered = render_manifest(manifest, manifest_bytes, targets or None)
    if not targets:
        store(key, ws.root, manifest.name, manifest_paths(manifest), file_digests(rendered))
    if check or diff:
        return _report_drift(root, rendered, fmt, diff, ws.display)
    obsolete = obsolete_paths(root, rendered)  # read from the previous lock, before write() replaces it
    root.mkdir(parents=True, exist_ok=True)
    changed = write(rendered, root)
    removed = [path for path in obsolete if remove_file(root, path)]
    lines = [f"wrote {p}" for p in changed] + [f"removed {p}" for p in removed]
    lines.append(f"{ws.display}: {len(changed)} written, {len(removed)} removed, "
                 f"{len(rendered.files) - len(changed)} unchanged")
    emit(fmt, lines, {"ok": True, "written": changed, "removed": removed, "files": rendered.paths()})
    return 0


def _report_drift(root: Path, rendered: Rendered, fmt: str, diff: bool, display: str) -> int:
    drift = find_drift(root, rendered)
    if diff and fmt == "text":
        sys.stdout.write(unified_diff(root, rendered, drift))
    payload = {"ok": not drift, "drift": [{"path": d.path, "state": d.state} for d in drift]}
    if diff and fmt == "json":
        payload["diff"] = unified_diff(root, rendered, drift)
    lines = [str(d) for d in drift] or [f"{display}: generated files are up to date"]
    emit(fmt, lines if not (diff and drift) else [str(d) for d in drift], payload, err=bool(drift))
    return 1 if drift else 0
