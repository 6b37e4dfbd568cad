"""The package's layering, checked by import-linter on the real import graph.

- Each CI system's folder under `targets/` imports nothing from another one.
- Targets sit below rendering: they never import the commands, the CLI, sync or render.
- The plan and the manifest are target-neutral: they may read the registry (`ci_gen.targets`,
  plain data), never a target's package.
- Layers import only downward: cli > commands > render/drift > plan > manifest > schema/yamlio.
- What all targets share (`targets/base.py`, `targets/transport.py`) imports no target.
- The engines that talk to servers (`lint_server`, `report`, the sync engine and command) reach a
  target only through the registry (`TARGETS[name].remote`), never by importing its package.
- A target's deploy history reads the report's data types (`report/record.py`,
  `report/fetched.py`) and nothing else of the report.
Imports under `if TYPE_CHECKING:` are annotations, not dependencies, and are left out.
"""
from __future__ import annotations

import os
import subprocess
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

[importlinter:contract:shared-below-targets]
name = What all targets share imports no target
type = forbidden
source_modules =
    ci_gen.targets.base
    ci_gen.targets.transport
forbidden_modules =
    {PACKAGES}

[importlinter:contract:engines-loop-over-targets]
name = lint --server, report and the sync engine reach targets only through the registry
type = forbidden
allow_indirect_imports = True
source_modules =
    ci_gen.lint_server
    ci_gen.report
    ci_gen.sync.engine
    ci_gen.sync.main
    ci_gen.sync.sources
    ci_gen.sync.report
    ci_gen.sync.options
forbidden_modules =
    {PACKAGES}

[importlinter:contract:history-reads-report-data-only]
name = A target's history reads the report's data types and nothing else of the report
type = forbidden
source_modules =
    ci_gen.targets
forbidden_modules =
    ci_gen.report.build
    ci_gen.report.cache
    ci_gen.report.collect
    ci_gen.report.main
    ci_gen.report.deploy_time
    ci_gen.report.html
    ci_gen.report.metrics
    ci_gen.report.options
    ci_gen.report.outputs
    ci_gen.report.predict
    ci_gen.report.targets
    ci_gen.lint_server

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


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("targets/github/renderer.py", "from ..gitlab import dialect",
     "ci_gen.targets.github.renderer -> ci_gen.targets.gitlab.dialect"),
    ("targets/jenkins/client.py", "from ..gitlab import credentials",
     "ci_gen.targets.jenkins.client -> ci_gen.targets.gitlab.credentials"),
    ("report/collect.py", "from ..targets.gitlab import history",
     "ci_gen.report.collect -> ci_gen.targets.gitlab.history"),
    ("targets/gitlab/history.py", "from ...report import cache",
     "ci_gen.targets.gitlab.history -> ci_gen.report.cache"),
], ids=["target-to-target", "client-to-other-target", "engine-names-a-target", "history-uses-report-engine"])
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    """The checks are not vacuous: a copy of the package with one forbidden import fails them."""
    lint_imports = require("lint-imports", "pip install import-linter")
    import shutil

    copy = tmp_path / "generator" / "ci_gen"
    shutil.copytree(REPO / "generator" / "ci_gen", copy, ignore=shutil.ignore_patterns("__pycache__"))
    source = copy / module
    source.write_text(source.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    config = tmp_path / ".importlinter"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "generator")}
    proc = subprocess.run([lint_imports, str(config), "--no-cache"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert broken in proc.stdout, proc.stdout[-3000:]
