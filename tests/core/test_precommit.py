"""The pre-commit hooks, run by the real `pre-commit` in a temporary git repository.

The config uses `repo: local` hooks with the ids and entries of `.pre-commit-hooks.yaml` (as
`language: system`, calling this checkout's ci-gen), so nothing is fetched from the network.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.helpers import EXAMPLES, REPO, run_process
from tests.tools import require, require_module

HOOKS = REPO / ".pre-commit-hooks.yaml"


def _local_config() -> str:
    import yaml

    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    local = [{**hook, "language": "system"} for hook in hooks]
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": local}]}, sort_keys=False)


@pytest.fixture
def git_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A git repository with the minimal example rendered and committed hooks configured."""
    require("git", "apt-get install git")
    require_module("pre_commit", "pip install pre-commit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ci-gen"  # the hooks' `ci-gen` entry, bound to this interpreter and checkout
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ci_gen "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_CONFIG_NOSYSTEM": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "generator"), os.environ.get("PYTHONPATH")]))}
    root = tmp_path / "app"
    root.mkdir()
    for argv in (["init", "-q", "-b", "main"], ["config", "user.name", "Test"], ["config", "user.email", "test@example.com"]):
        git(root, env, *argv)
    shutil.copy(EXAMPLES / "minimal" / "ci-gen.yaml", root / "ci-gen.yaml")
    (root / ".pre-commit-config.yaml").write_text(_local_config(), encoding="utf-8")
    assert run_process(["render"], cwd=root).code == 0
    return root, env


def git(root: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *argv], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False)


def pre_commit(root: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *argv], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_hook_definitions_are_a_valid_pre_commit_manifest() -> None:
    require_module("pre_commit", "pip install pre-commit")
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    assert [h["id"] for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))] == ["ci-gen-validate", "ci-gen-render-check"]


def test_good_commit_passes_then_drift_and_invalid_manifests_are_refused(git_repo: tuple[Path, dict[str, str]]) -> None:
    root, env = git_repo
    assert pre_commit(root, env, "validate-config").returncode == 0
    installed = pre_commit(root, env, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git(root, env, "add", "-A")
    commit = git(root, env, "commit", "-q", "-m", "ci-gen pipelines")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    hook_output = commit.stdout + commit.stderr  # git hands the hooks' output to stderr
    assert "ci-gen validate" in hook_output and "ci-gen render --check" in hook_output, hook_output
    assert "Failed" not in hook_output
    assert git(root, env, "rev-list", "--count", "HEAD").stdout.strip() == "1"

    jenkinsfile = root / "Jenkinsfile"
    committed = jenkinsfile.read_text(encoding="utf-8")
    jenkinsfile.write_text(committed.replace("agent any", "agent { label 'fast' }", 1), encoding="utf-8")
    run = pre_commit(root, env, "run", "--all-files")
    assert run.returncode == 1
    assert "Jenkinsfile: hand-edited" in run.stdout, run.stdout
    git(root, env, "add", "-A")
    refused = git(root, env, "commit", "-q", "-m", "hand edit")
    assert refused.returncode != 0 and "Jenkinsfile: hand-edited" in refused.stdout + refused.stderr

    jenkinsfile.write_text(committed, encoding="utf-8")
    assert pre_commit(root, env, "run", "--all-files").returncode == 0
    manifest = root / "ci-gen.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "deploy: {strategy: canry}\n", encoding="utf-8")
    run = pre_commit(root, env, "run", "--all-files")
    assert run.returncode == 1
    assert "ci-gen.yaml:6:1: deploy: key 'environments' is required" in run.stdout, run.stdout
    assert "ci-gen.yaml:6:10: deploy.strategy: 'canry' is not one of" in run.stdout
