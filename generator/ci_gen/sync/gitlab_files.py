"""Comparing rendered files with a GitLab repository tree without downloading any file.

The tree API lists each blob's git object id; the same id computed locally from the rendered
bytes says whether the file differs, so an unchanged project costs one tree request.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

MANAGED_DIR = ".ci-gen/"  # files ci-gen owns entirely: stale ones here are deleted
EXEC_MODE, FILE_MODE = "100755", "100644"


def blob_id(content: bytes) -> str:
    """Git's object id of a blob: sha1 of `blob <size>\\0<content>`."""
    return hashlib.sha1(b"blob %d\x00" % len(content) + content).hexdigest()


def wanted_mode(path: str, content: bytes) -> str:
    """Step scripts are run directly by the pipelines, so they need the executable bit."""
    return EXEC_MODE if path.startswith(MANAGED_DIR) and content.startswith(b"#!") else FILE_MODE


@dataclass(frozen=True)
class Blob:
    id: str
    mode: str


def tree_blobs(entries: list[dict[str, Any]]) -> dict[str, Blob]:
    return {e["path"]: Blob(e["id"], str(e.get("mode") or FILE_MODE))
            for e in entries if e.get("type") == "blob"}


def file_actions(files: dict[str, bytes], tree: dict[str, Blob]) -> list[dict[str, Any]]:
    """The commit actions that turn `tree` into one holding `files` (sorted, so deterministic)."""
    actions: list[dict[str, Any]] = []
    for path in sorted(files):
        content, live = files[path], tree.get(path)
        mode = wanted_mode(path, content)
        # Modes are set when writing but not compared: a repo whose owner chose other modes
        # (or a server that does not report them) must not be rewritten on every run.
        if live is None or live.id != blob_id(content):
            actions.append(_write("create" if live is None else "update", path, content, mode))
    for path in sorted(tree):
        if path.startswith(MANAGED_DIR) and path not in files:
            actions.append({"action": "delete", "file_path": path})
    return actions


def _write(action: str, path: str, content: bytes, mode: str) -> dict[str, Any]:
    try:
        text: dict[str, Any] = {"content": content.decode("utf-8"), "encoding": "text"}
    except UnicodeDecodeError:
        text = {"content": base64.b64encode(content).decode("ascii"), "encoding": "base64"}
    return {"action": action, "file_path": path, **text, "execute_filemode": mode == EXEC_MODE}
