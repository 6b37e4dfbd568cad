"""`ci-gen validate`: check the manifest against the schema and the semantic rules."""
from __future__ import annotations

from ..errors import ManifestError
from ..manifest import load_manifest
from ..output import emit, problem_dicts
from ..plan import build_plan
from ..workspace import Workspace


def run(ws: Workspace, fmt: str) -> int:
    try:
        manifest = load_manifest(ws.manifest_path, ws.root, ws.display)
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"valid": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    jobs = len(build_plan(manifest).jobs)
    summary = f"{ws.display}: valid ({manifest.name}: {jobs} jobs; targets: {', '.join(manifest.targets)})"
    emit(fmt, [summary], {"valid": True, "problems": [], "name": manifest.name, "jobs": jobs,
                          "targets": list(manifest.targets)})
    return 0
