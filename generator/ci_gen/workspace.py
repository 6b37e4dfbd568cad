"""Where a command works: the repository root (-C) and its manifest (-f)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError, UserError

# Here rather than in manifest.py: every command locates the manifest, and importing the
# model (dataclasses, schema, rules) just for this name slowed the `render --check` fast path.
MANIFEST_NAME = "ci-gen.yaml"


@dataclass(frozen=True)
class Workspace:
    root: Path
    manifest_path: Path

    @property
    def display(self) -> str:
        """How error messages name the manifest: relative to the root when inside it."""
        try:
            return self.manifest_path.relative_to(self.root).as_posix()
        except ValueError:
            return str(self.manifest_path)


def workspace(directory: str | None, manifest: str | None) -> Workspace:
    root = Path(directory or ".")
    if not root.is_dir():
        raise UsageError(f"-C {directory}: not a directory")
    path = Path(manifest) if manifest else root / MANIFEST_NAME
    if manifest and not path.is_absolute() and not path.exists() and (root / manifest).exists():
        path = root / manifest
    ws = Workspace(root, path)
    _refuse_escaping_manifest(ws)
    return ws


def _refuse_escaping_manifest(ws: Workspace) -> None:
    """A manifest inside the repository must really be there: a committed `ci-gen.yaml` that is a
    symlink to `~/.ssh/id_rsa` would otherwise be read and quoted in parse errors. (A file named
    outside the repository on the command line is the caller's explicit choice.)"""
    import os

    from .paths import is_within

    if not is_within(Path(os.path.abspath(ws.root)), Path(os.path.abspath(ws.manifest_path))):
        return
    real = Path(os.path.realpath(ws.manifest_path))
    if not is_within(Path(os.path.realpath(ws.root)), real):
        raise UserError(f"{ws.display}: a symlink to a file outside the repository ({real}); "
                        "refusing to read it")
