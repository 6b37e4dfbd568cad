"""Where a command works: the repository root (-C) and its manifest (-f)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError, Problem, UsageError

# Here rather than in manifest.py: every command locates the manifest, and importing the
# model (dataclasses, schema, rules) just for this name slowed the `render --check` fast path.
MANIFEST_NAME = "ci-gen.yaml"


@dataclass(frozen=True)
class Workspace:
    root: Path
    manifest_path: Path
    shown_as: str | None = None  # found above the working directory: named from where the user is

    @property
    def display(self) -> str:
        """How error messages name the manifest: relative to the root when inside it."""
        if self.shown_as:
            return self.shown_as
        try:
            return self.manifest_path.relative_to(self.root).as_posix()
        except ValueError:
            return str(self.manifest_path)


def workspace(directory: str | None, manifest: str | None, find: bool = False) -> Workspace:
    """The workspace of -C/-f; with `find` and neither given, the manifest is looked for like git
    finds .git: in the working directory, then each parent up to the repository root."""
    root = Path(directory or ".")
    if not root.is_dir():
        raise UsageError(f"-C {directory}: not a directory")
    if find and directory is None and manifest is None:
        root = _find_root(Path.cwd())
    path = Path(manifest) if manifest else root / MANIFEST_NAME
    if manifest and not path.is_absolute() and not path.exists() and (root / manifest).exists():
        path = root / manifest
    shown_as = os.path.relpath(path, Path.cwd()) if root.is_absolute() and not (directory or manifest) else None
    ws = Workspace(root, path, shown_as)
    _refuse_escaping_manifest(ws)
    if find and not os.path.lexists(path):
        where = f"in {root.resolve()}" if directory or manifest else _searched(Path.cwd())
        raise ManifestError([Problem(ws.display, 1, 1, "", f"file not found {where}; "
                                     "`ci-gen init` writes a starter, -C DIR / -f FILE point elsewhere")])
    return ws


def _repository_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if os.path.lexists(folder / ".git"):  # a folder, or a file in worktrees and submodules
            return folder
    return None


def _find_root(cwd: Path) -> Path:
    top = _repository_root(cwd)
    if top is None:  # outside a repository nothing bounds the walk: stay where we are
        return Path(".")
    for folder in (cwd, *cwd.parents):
        if os.path.lexists(folder / MANIFEST_NAME):
            return Path(".") if folder == cwd else folder
        if folder == top:
            break
    return Path(".")


def _searched(cwd: Path) -> str:
    top = _repository_root(cwd)
    if top is None:
        return f"in {cwd} (not inside a git repository, so no parent was searched)"
    folders = []
    for folder in (cwd, *cwd.parents):
        folders.append(str(folder))
        if folder == top:
            break
    return f"in {', '.join(folders)} (up to the repository root)"


def _refuse_escaping_manifest(ws: Workspace) -> None:
    from .paths import manifest_escape_reason

    reason = manifest_escape_reason(ws.root, ws.manifest_path)
    if reason:
        raise ManifestError([Problem(ws.display, 1, 1, "", reason)])
