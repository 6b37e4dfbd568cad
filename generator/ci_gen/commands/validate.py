"""`ci-gen validate`: check the manifest against the schema and the semantic rules."""
from __future__ import annotations

from ..drift import read_lock
from ..errors import ManifestError
from ..fingerprint import inputs_digest
from ..output import emit, problem_dicts
from ..paths import path_escape_reason
from ..workspace import Workspace
from ..yamlio import read_text


def run(ws: Workspace, fmt: str) -> int:
    try:
        text = read_text(ws.manifest_path, ws.display)
        name = _validated_by_last_render(ws, text.encode("utf-8"))
        if name is None:
            from ..validation import validate_text

            name = validate_text(text, ws.root, ws.display).data["name"]
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"valid": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    emit(fmt, [f"{ws.display}: valid ({name})"], {"valid": True, "problems": [], "name": name})
    return 0


def _validated_by_last_render(ws: Workspace, manifest_bytes: bytes) -> str | None:
    """The app name when `.ci-gen/lock.json` proves these exact bytes passed validation under this
    same ci-gen (render validates before writing the lock); None when it cannot prove it. The
    manifest's paths are re-checked: a symlink may have changed where they lead since."""
    lock = read_lock(ws.root)
    if lock is None or lock.get("inputs-sha256") != inputs_digest(manifest_bytes):
        return None
    paths, name = lock.get("manifest-paths"), lock.get("app")
    if not isinstance(paths, list) or not isinstance(name, str):
        return None
    if any(path_escape_reason(str(p), ws.root) for p in paths):
        return None  # the full run names the problem with its position
    return name
