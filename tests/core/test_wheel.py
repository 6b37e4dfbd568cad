"""The wheel carries its data: built from this checkout, installed in a fresh virtual
environment, ci-gen renders and lists steps with no checkout to fall back on."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci_gen.manifest import load_manifest
from ci_gen.generated import render_manifest

from tests.core.helpers import EXAMPLES, REPO

pytestmark = pytest.mark.heavy


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def test_installed_wheel_finds_its_templates_steps_and_schema(tmp_path: Path) -> None:
    # No PYTHONPATH, and never the checkout as working directory: ci_gen must come from the wheel.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(REPO)], tmp_path, env)
    (wheel,) = wheels.glob("ci_gen-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path, env)  # dependencies reused
    python, ci_gen = venv / "bin" / "python", venv / "bin" / "ci-gen"
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)], tmp_path, env)

    where = run([str(python), "-c", "import ci_gen, ci_gen.data; print(ci_gen.__file__); print(ci_gen.data.data_root())"],
                tmp_path, env).splitlines()
    assert Path(where[0]).is_relative_to(venv), where
    assert Path(where[1]).is_relative_to(venv) and Path(where[1]).name == "_data", where

    app = tmp_path / "app"
    shutil.copytree(EXAMPLES / "minimal", app, ignore=shutil.ignore_patterns(".ci-gen", ".gitlab-ci.yml", "Jenkinsfile"))
    assert "ci-gen.yaml: valid" in run([str(ci_gen), "validate"], app, env)
    run([str(ci_gen), "render"], app, env)
    expected = render_manifest(load_manifest(app / "ci-gen.yaml"), (app / "ci-gen.yaml").read_bytes()).files
    written = {p.relative_to(app).as_posix(): p.read_bytes() for p in app.rglob("*") if p.is_file()}
    assert {k: v for k, v in written.items() if k != "ci-gen.yaml"} == expected, "the wheel renders what the checkout renders"
    assert run([str(ci_gen), "render", "--check"], app, env).endswith("up to date\n")
    steps = run([str(ci_gen), "steps", "list"], app, env)
    assert "convert-model" in steps and "build-image" in steps
    assert '"$schema"' in run([str(ci_gen), "schema"], app, env)
