"""Comparing generated files on disk with what ci-gen would write now.

The fast path trusts `.ci-gen/lock.json` only when its inputs digest matches the current
manifest and ci-gen, and every file it lists still has the recorded hash: then nothing can have
drifted and no YAML parsing or templating is needed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .fingerprint import LOCK_FILE, inputs_digest

if TYPE_CHECKING:  # importing render pulls in the plan and the targets: not on the lock path
    from .render import Rendered


@dataclass(frozen=True)
class Drift:
    path: str
    state: str  # missing | stale | hand-edited | obsolete

    def __str__(self) -> str:
        hints = {
            "missing": "missing; run `ci-gen render`",
            "stale": "stale: the manifest or ci-gen changed since it was rendered; run `ci-gen render`",
            "hand-edited": "hand-edited: generated files must not be edited; change the manifest and run `ci-gen render`",
            "obsolete": "no longer generated; run `ci-gen render` to remove it",
        }
        return f"{self.path}: {hints[self.state]}"


def read_lock(root: Path) -> dict[str, object] | None:
    try:
        lock = json.loads((root / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return lock if isinstance(lock, dict) and isinstance(lock.get("files"), dict) else None


def up_to_date_by_lock(root: Path, manifest_bytes: bytes) -> bool:
    """True when the lock proves every generated file current, without rendering."""
    lock = read_lock(root)
    if lock is None or lock.get("inputs-sha256") != inputs_digest(manifest_bytes):
        return False
    files = lock["files"]
    assert isinstance(files, dict)
    for path, digest in files.items():
        if path == LOCK_FILE:
            continue
        try:
            if hashlib.sha256((root / path).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


def find_drift(root: Path, rendered: Rendered) -> list[Drift]:
    lock = read_lock(root) or {"files": {}}
    recorded = lock["files"]
    assert isinstance(recorded, dict)
    drift = []
    for path, expected in sorted(rendered.files.items()):
        target = root / path
        if not target.is_file():
            drift.append(Drift(path, "missing"))
            continue
        actual = target.read_bytes()
        if actual != expected:
            drift.append(Drift(path, _why_different(path, actual, recorded)))
    for path in sorted(set(recorded) - set(rendered.files)):
        if (root / path).is_file():
            drift.append(Drift(path, "obsolete"))
    return drift


def _why_different(path: str, actual: bytes, recorded: dict[str, object]) -> str:
    from .render import header_state

    if path == LOCK_FILE:
        return "stale"
    text = actual.decode("utf-8", errors="replace")
    state = header_state(text)
    if state == "edited":
        return "hand-edited"
    if state == "missing" and path in recorded and recorded[path] != hashlib.sha256(actual).hexdigest():
        return "hand-edited"
    return "stale"


def unified_diff(root: Path, rendered: Rendered, drift: list[Drift]) -> str:
    import difflib  # only `--diff` needs it; the `render --check` fast path does not

    chunks: list[str] = []
    for item in drift:
        current = root / item.path
        old = current.read_text(encoding="utf-8", errors="replace").splitlines(True) if current.is_file() else []
        new = rendered.files[item.path].decode("utf-8").splitlines(True) if item.path in rendered.files else []
        chunks.extend(difflib.unified_diff(old, new, f"a/{item.path}", f"b/{item.path}"))
    return "".join(chunks)


def obsolete_paths(root: Path, rendered: Rendered) -> list[str]:
    """Files the previous render wrote that this one does not (only those: never others)."""
    lock = read_lock(root) or {"files": {}}
    recorded = lock["files"]
    assert isinstance(recorded, dict)
    return sorted(p for p in set(recorded) - set(rendered.files) if (root / p).is_file())
