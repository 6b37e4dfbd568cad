"""What this ci-gen has itself verified, remembered in the user's cache directory.

`validate` and `render --check` must not take the committed `.ci-gen/lock.json` as proof: in CI a
merge request's author controls every committed byte, the lock's `inputs-sha256` included. The
proof comes from a place the repository cannot supply: a record that ci-gen wrote after it
validated (and rendered) these exact inputs, under `$XDG_CACHE_HOME/ci-gen/verified/` (default
`~/.cache/ci-gen/verified/`), named by a digest of everything that went in: the manifest bytes,
its display name (it is written into the generated headers), ci-gen's version, templates, shared
steps and schemas. A missing or unreadable record only means a full check. Kept free of heavy
imports: this is the pre-commit fast path.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .fingerprint import inputs_digest

_FORMAT = b"ci-gen-verified-1"
_MAX_RECORD_BYTES = 256 * 1024


def cache_dir(repo_root: Path) -> Path | None:
    """The record directory; None when it lies inside the repository being checked (CI setups
    often point XDG_CACHE_HOME into the project to cache it between jobs: the repository could
    then supply the records)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "ci-gen" / "verified"
    from .paths import is_within

    if is_within(Path(os.path.realpath(repo_root)), Path(os.path.realpath(directory))):
        return None
    return directory


def record_key(manifest_bytes: bytes, display: str) -> str:
    return hashlib.sha256(_FORMAT + b"\0" + inputs_digest(manifest_bytes).encode() + b"\0"
                          + display.encode("utf-8", "surrogateescape")).hexdigest()


def load(key: str, repo_root: Path) -> dict[str, Any] | None:
    """The record for `key`, or None when there is none usable (any doubt means a full check)."""
    directory = cache_dir(repo_root)
    if directory is None:
        return None
    path = directory / f"{key}.json"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_RECORD_BYTES:
            return None
        raw = os.read(fd, _MAX_RECORD_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("app"), str):
        return None
    if not isinstance(record.get("manifest-paths"), list):
        return None
    files = record.get("files")
    if files is not None and not (isinstance(files, dict) and all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], bool)
            for v in files.values())):
        return None
    return record


def store(key: str, repo_root: Path, app: str, manifest_paths: list[str],
          files: dict[str, tuple[str, bool]] | None) -> None:
    """Remember that these inputs validated (and, with `files`, what they render to: path ->
    (sha256, executable)). Best effort: a read-only or full cache only costs speed."""
    if files is None:
        existing = load(key, repo_root)
        if existing is not None and existing.get("files") is not None:
            return  # a record with the rendered files says more; keep it
    record = {"key": key, "app": app, "manifest-paths": sorted(manifest_paths),
              "files": None if files is None else {p: [d, x] for p, (d, x) in sorted(files.items())}}
    directory = cache_dir(repo_root)
    if directory is None:
        return
    from .errors import CiGenError
    from .paths import write_named_file

    try:
        write_named_file(directory / f"{key}.json", json.dumps(record, sort_keys=True).encode("utf-8"), private=True)
    except CiGenError:
        pass
