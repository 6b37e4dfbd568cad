"""The rule that every path a manifest names stays inside the repository."""
from __future__ import annotations

import posixpath
from pathlib import Path

# Manifest fields holding repository paths.
MANIFEST_PATH_FIELDS = (("model", "path"), ("image", "dockerfile"), ("image", "context"), ("deploy", "manifests"))


def path_escape_reason(value: str, repo_root: Path | None) -> str | None:
    """Why `value` is not a path inside the repository, or None when it is."""
    if value.startswith("/") or value.startswith("\\") or (len(value) > 1 and value[1] == ":"):
        return f"'{value}' is absolute; paths are relative to the repository root"
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"'{value}' leaves the repository"
    if repo_root is not None:
        root = repo_root.resolve()
        target = (root / normal).resolve()
        if target != root and root not in target.parents:
            return f"'{value}' resolves outside the repository (symlink?)"
    return None
