"""Rehearsal of the infrastructure stage: the `infra-gke` golden manifest with the guide's GKE
module, rendered and run in gitlab-ci-local with CI_GEN_DRY_RUN=1 (terraform and tofu cannot be
installed on our machines, so every infra command is printed, not run).

It proves the generated jobs hang together as GitLab runs them: plans on every branch, the
production apply behind its manual gate, each deploy after its apply, GitLab's predefined state
API variables reaching the step, and the drift check only in scheduled pipelines."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rehearsal.test_gitlab_ci_local import gitlab_ci_local, job_results

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.heavy


def checkout(tmp_path: Path) -> Path:
    work = tmp_path / "fraud-detector"
    work.mkdir()
    shutil.copy(REPO / "tests" / "golden" / "infra-gke" / "ci-gen.yaml", work / "ci-gen.yaml")
    shutil.copytree(REPO / "tests" / "infra_gke", work / "infra")
    render = subprocess.run([sys.executable, "-m", "ci_gen", "render"], cwd=work, capture_output=True, text=True)
    assert render.returncode == 0, render.stderr
    git = ["git", "-C", str(work), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(git + ["remote", "add", "origin", "https://gitlab.example.com/ml/fraud-detector.git"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "infra"], check=True)
    return work


def test_infra_stage_rehearses_before_the_deploys(tmp_path: Path) -> None:
    work = checkout(tmp_path)
    proc = gitlab_ci_local(work, "--variable", "CI_GEN_DRY_RUN=1", "--manual", "apply-production",
                           "--manual", "deploy-production")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    results = job_results(output)
    expected = ["infra-staging", "infra-production", "apply-staging", "deploy-staging", "apply-production",
                "deploy-production"]
    assert {name: results.get(name) for name in expected} == dict.fromkeys(expected, "PASS"), output[-6000:]
    assert not [name for name in results if name.startswith(("drift-", "rollback-"))]
    # GitLab's predefined variables gave the step the project's state API (one state per environment)
    address = re.search(r"-backend-config=address=(\S+/terraform/state/production)\b", output)
    assert address and re.match(r"https?://[^/]+/api/v4/projects/\d+/terraform/state/production$", address.group(1))
    assert re.search(r"infra/production\.tfplan", output)
    # each deploy started only after its apply finished
    order = [m.group(1) for m in re.finditer(r"^(\S+)\s+starting\b", output, re.M)]
    assert order.index("apply-staging") < order.index("deploy-staging")
    assert order.index("apply-production") < order.index("deploy-production")


def test_drift_runs_only_in_scheduled_pipelines(tmp_path: Path) -> None:
    work = checkout(tmp_path)
    proc = gitlab_ci_local(work, "--variable", "CI_GEN_DRY_RUN=1", "--variable", "CI_PIPELINE_SOURCE=schedule")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    results = job_results(output)
    assert results.get("drift-staging") == results.get("drift-production") == "PASS", output[-6000:]
    assert not [name for name in results if name.startswith(("infra-", "apply-", "deploy-"))]
    assert "plan -input=false -lock=false -detailed-exitcode" in output
