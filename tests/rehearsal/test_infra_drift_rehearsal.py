"""Rehearsal of the drift alert's wiring: the `infra-drift-alert` golden manifest rendered and its
drift jobs run by gitlab-ci-local as a scheduled pipeline, for real except terraform.

terraform cannot be installed on our machines: a stand-in `terraform` on PATH answers
`plan -detailed-exitcode` with 2 (drift) for production and 0 for the other environments.
Everything else is real: the generated job definitions and their variables (the pipeline's
CI_GEN_APP, the predefined state API variables gitlab-ci-local sets), the `infra` step, and a
Debian Pushgateway that receives each job's result, as a project's CI variable
CI_GEN_PUSHGATEWAY_URL would send it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.monitoring.test_infra_drift import FAKE_TERRAFORM, drift_metrics
from tests.rehearsal.test_gitlab_ci_local import gitlab_ci_local, job_results
from tests.steps.conftest import pushgateway  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[2]
TOKEN = "glcbt-rehearsal-job-token"
pytestmark = pytest.mark.heavy
# drift in production only: the stand-in reads the job's environment
STAND_IN = FAKE_TERRAFORM.replace('exit "${FAKE_PLAN_EXIT:-0}"',
                                  '[ "$CI_GEN_INFRA_ENV" = production ] && exit 2; exit 0')


def checkout(tmp_path: Path) -> Path:
    work = tmp_path / "ranker"
    work.mkdir()
    shutil.copy(REPO / "tests" / "golden" / "infra-drift-alert" / "ci-gen.yaml", work / "ci-gen.yaml")
    shutil.copytree(REPO / "tests" / "infra_gke", work / "infra")
    render = subprocess.run([sys.executable, "-m", "ci_gen", "render"], cwd=work, capture_output=True, text=True,
                            check=False, timeout=300)
    assert render.returncode == 0, render.stderr
    git = ["git", "-C", str(work), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(git + ["remote", "add", "origin", "https://gitlab.example.com/ml/ranker.git"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "infra"], check=True)
    return work


def test_scheduled_drift_jobs_push_their_results_to_the_pushgateway(tmp_path: Path, pushgateway: str,  # noqa: F811
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    work = checkout(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(STAND_IN)
    (bin_dir / "terraform").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    # gitlab-ci-local has no job token of its own: this one stands in for GitLab's
    proc = gitlab_ci_local(work, "--variable", "CI_PIPELINE_SOURCE=schedule", "--variable", f"CI_JOB_TOKEN={TOKEN}",
                           "--variable", f"CI_GEN_PUSHGATEWAY_URL={pushgateway}",
                           "drift-staging", "drift-production", "drift-shared")
    output = proc.stdout + proc.stderr
    results = job_results(output)
    assert {name: results.get(name) for name in ("drift-staging", "drift-production", "drift-shared")} == {
        "drift-staging": "PASS", "drift-production": "FAIL", "drift-shared": "PASS"}, output[-6000:]
    assert "drift: the real infrastructure of production differs" in output
    assert "could not push" not in output and TOKEN not in output
    for env, drift in (("staging", 0), ("production", 1), ("shared", 0)):
        metrics = drift_metrics(pushgateway, env)  # app="ranker": the pipeline's CI_GEN_APP
        assert (metrics["ci_gen_infra_drift"], metrics["ci_gen_infra_drift_check_success"]) == (drift, 1), env
