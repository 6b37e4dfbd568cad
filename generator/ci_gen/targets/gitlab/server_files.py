"""Comparing rendered files with a GitLab repository tree without downloading any file.

The tree API lists each entry's git object id. A blob id computed locally from the rendered bytes
says whether a file differs; a tree id computed locally says whether a whole folder (`.ci-gen/`,
dozens of step scripts) does. So an unchanged project costs one listing of the repository's top
level, whatever the repository's size; a folder is listed only when its id differs.
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


def tree_id(files: dict[str, bytes], prefix: str) -> str:
    """Git's object id of the folder `prefix` ("dir/") holding exactly these files, with the
    modes `wanted_mode` gives them: entries sorted as git does (a subtree sorts as "name/")."""
    entries: list[tuple[str, bytes]] = []
    names = {p[len(prefix):].split("/", 1)[0] for p in files if p.startswith(prefix)}
    for name in names:
        path = prefix + name
        if path in files:
            mode = wanted_mode(path, files[path]).encode()
            entries.append((name, mode + b" " + name.encode() + b"\0" + bytes.fromhex(blob_id(files[path]))))
        else:
            sub = tree_id(files, path + "/")
            entries.append((name + "/", b"40000 " + name.encode() + b"\0" + bytes.fromhex(sub)))
    body = b"".join(raw for _, raw in sorted(entries))
    return hashlib.sha1(b"tree %d\x00" % len(body) + body).hexdigest()


def folders_to_list(files: dict[str, bytes], root: list[dict[str, Any]]) -> list[str]:
    """Top-level folders of the rendered files whose live tree id differs (or that are new on
    the server but exist there as something else): only these need a recursive listing."""
    live = {e["path"]: e for e in root}
    out = []
    for folder in sorted({p.split("/", 1)[0] for p in files if "/" in p}):
        entry = live.get(folder)
        if entry is not None and entry.get("type") == "tree" and entry["id"] != tree_id(files, folder + "/"):
            out.append(folder)
    return out


def virtual_tree(files: dict[str, bytes], root: list[dict[str, Any]],
                 listed: dict[str, list[dict[str, Any]]]) -> dict[str, Blob]:
    """The live blobs that matter for `file_actions`: top-level ones from the root listing,
    listed folders entry by entry, and folders whose tree id matched stood in for by the
    rendered files themselves (equal ids mean equal content, and no stale files)."""
    blobs = tree_blobs(root)
    for folder in sorted({p.split("/", 1)[0] for p in files if "/" in p}):
        if folder in listed:
            blobs.update(tree_blobs(listed[folder]))
        elif any(e["path"] == folder and e.get("type") == "tree" for e in root):
            blobs.update({p: Blob(blob_id(c), wanted_mode(p, c)) for p, c in files.items()
                          if p.startswith(folder + "/")})
    return blobs


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
