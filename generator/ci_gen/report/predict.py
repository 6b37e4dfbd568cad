"""`--predict`: the model's deployment time for the checkout's current commit, per environment.

The features are measured as the deploy record measures them (shared-steps/_deploy_record.py,
loaded from ci-gen's data folder so both count the same way): code size of the checkout, the
environment complexity of its rendered manifests. The image of this commit is not built yet, so
its size is taken from the newest deploy of the same environment that recorded one."""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import UserError
from .deploy_time import Fit
from .record import MB, Deploy


@lru_cache(maxsize=1)
def record_module() -> ModuleType:
    from ..data import steps_dir

    spec = importlib.util.spec_from_file_location("ci_gen_deploy_record", steps_dir() / "_deploy_record.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict(repo: Path, fitted: list[Fit], deploys: list[Deploy], mode: str) -> dict[str, Any]:
    from ..manifest import load_manifest
    from ..workspace import MANIFEST_NAME

    manifest = load_manifest(repo / MANIFEST_NAME)
    if manifest.deploy is None:
        raise UserError(f"{repo / MANIFEST_NAME}: no deploy: section, nothing to predict")
    steps = record_module()
    size, _lines = steps.code_size(repo)
    if size is None:
        raise UserError(f"{repo}: not a git checkout; --predict measures the tracked files")
    deploy = manifest.deploy
    by_scope = {f.scope: f for f in fitted}
    out: dict[str, Any] = {"code_size": size / MB, "environments": []}
    for env in deploy.environments:
        folder = repo / (deploy.manifests or f".ci-gen/k8s/{env.name}")
        steps_text = " ".join(str(s) for s in deploy.canary.steps) if deploy.canary else None
        parts = steps.complexity(folder, deploy.strategy, str(env.replicas), str(env.gpu), steps_text)
        image = _latest_image_size(deploys, env.name)
        entry: dict[str, Any] = {"environment": env.name, "env_complexity": steps.score(parts),
                                 "image_size": image}
        fit = by_scope.get("pooled" if mode == "pooled" else env.name)
        if fit is None or fit.note:
            entry["note"] = fit.note if fit is not None else "not enough history: no deploys of this environment"
        elif image is None:
            entry["note"] = "no image size recorded for this environment yet"
        else:
            entry.update(fit.predict({"code_size": size / MB, "image_size": image,
                                      "env_complexity": entry["env_complexity"]}))
        out["environments"].append(entry)
    return out


def _latest_image_size(deploys: list[Deploy], environment: str) -> float | None:
    sized = [d for d in deploys if d.environment == environment and d.image_size is not None]
    return max(sized, key=lambda d: d.finished_at).image_size if sized else None
