"""The package's layering, checked by import-linter on the real import graph.

- Each CI system's folder under `targets/` imports nothing from another one.
- Targets sit below rendering: they never import the commands, the CLI, sync or render.
- The plan and the manifest are target-neutral: they may read the registry (`ci_gen.targets`,
  plain data), never a target's package.
- Layers import only downward: cli > commands > render/drift > plan > manifest > schema/yamlio.
Imports under `if TYPE_CHECKING:` are annotations, not dependencies, and are left out.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_gen.targets import TARGETS
from tests.tools import require

REPO = Path(__file__).resolve().parents[1]
PACKAGES = "\n    ".join(f"ci_gen.targets.{name}" for name in TARGETS)

CONFIG = f"""\
[importlinter]
root_package = ci_gen
exclude_type_checking_imports = True

[importlinter:contract:targets-independent]
name = Each target folder imports nothing from another target
type = independence
modules =
    {PACKAGES}

[importlinter:contract:targets-below-rendering]
name = Targets never import the commands, the CLI, sync or the render pipeline
type = forbidden
source_modules =
    ci_gen.targets
forbidden_modules =
    ci_gen.cli
    ci_gen.commands
    ci_gen.sync
    ci_gen.generated
    ci_gen.drift
    ci_gen.api

[importlinter:contract:neutral-plan]
name = The plan and the manifest never import a target package
type = forbidden
source_modules =
    ci_gen.plan
    ci_gen.manifest
    ci_gen.rules
    ci_gen.schema
forbidden_modules =
    {PACKAGES}

[importlinter:contract:layers]
name = Layers import only downward
type = layers
layers =
    ci_gen.cli
    ci_gen.commands
    ci_gen.generated
    ci_gen.plan
    ci_gen.manifest
    ci_gen.validation
    ci_gen.rules
    ci_gen.schema
    ci_gen.yamlio
"""


def test_import_contracts_hold(tmp_path: Path) -> None:
    lint_imports = require("lint-imports", "pip install import-linter")
    config = tmp_path / ".importlinter"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "generator"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([lint_imports, str(config), "--no-cache"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and " 0 broken" in proc.stdout


def test_a_cross_target_import_breaks_the_contract(tmp_path: Path) -> None:
    """The check is not vacuous: a copy of the package where GitHub imports GitLab fails it."""
    lint_imports = require("lint-imports", "pip install import-linter")
    import shutil

    copy = tmp_path / "generator" / "ci_gen"
    shutil.copytree(REPO / "generator" / "ci_gen", copy, ignore=shutil.ignore_patterns("__pycache__"))
    renderer = copy / "targets" / "github" / "renderer.py"
    renderer.write_text(renderer.read_text(encoding="utf-8") + "\nfrom ..gitlab import dialect  # noqa\n", encoding="utf-8")
    config = tmp_path / ".importlinter"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "generator")}
    proc = subprocess.run([lint_imports, str(config), "--no-cache"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "ci_gen.targets.github.renderer -> ci_gen.targets.gitlab.dialect" in proc.stdout, proc.stdout[-3000:]
