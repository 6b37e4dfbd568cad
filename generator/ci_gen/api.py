"""ci-gen as a library: the public surface, stable across releases (the CLI is built on it).

    from ci_gen import api
    files = api.render_files(Path("ci-gen.yaml").read_text())   # {".gitlab-ci.yml": b"...", ...}
"""
from __future__ import annotations

from pathlib import Path

from .errors import CiGenError, ManifestError, Problem, ServerError, UsageError, UserError
from .manifest import MANIFEST_NAME, Manifest, load_manifest, load_manifest_text
from .plan import Pipeline, build_plan
from .generated import Rendered, render_manifest

__all__ = [
    "CiGenError", "ManifestError", "Manifest", "Pipeline", "Problem", "Rendered", "ServerError",
    "UsageError", "UserError", "build_plan", "load_manifest", "load_manifest_text", "render_files",
    "render_manifest",
]


def render_files(manifest_text: str, manifest_name: str = MANIFEST_NAME,
                 repo_root: Path | None = None) -> dict[str, bytes]:
    """Every file `ci-gen render` writes for this manifest text, keyed by repo-relative path.

    Byte for byte what `ci-gen render --out DIR` writes. Raises ManifestError with every problem.
    `repo_root`, when given, also checks that the manifest's paths resolve inside that checkout.
    """
    manifest = load_manifest_text(manifest_text, manifest_name, repo_root)
    return render_manifest(manifest, manifest_text.encode("utf-8")).files
