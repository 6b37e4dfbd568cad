"""Where a command works: the repository root (-C) and its manifest (-f)."""
from __future__ import annotations

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
    from .paths import manifest_escape_reason

    reason = manifest_escape_reason(ws.root, ws.manifest_path)
    if reason:
        raise ManifestError([Problem(ws.display, 1, 1, "", reason)])
