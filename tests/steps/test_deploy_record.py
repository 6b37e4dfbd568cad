"""The deploy record: rollout's exit trap writes it for a successful and a rolled-back deploy
(real kubectl against the fake API server), it matches the schema `ci-gen report` reads, and
its features are measured as documented (docs/report.md)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ci_gen.report.record import deploy_from_record, parse_record
from tests.steps.conftest import render_k8s

APP = "fraud-detector"
NAME = "reg.example.com/ml/fraud-detector"
GOOD = f"{NAME}@sha256:{'1' * 64}"
BROKEN = f"{NAME}:broken"  # the fake never makes pods of a "broken" image available
RECORD = Path(".ci-gen/reports/deploy-staging.json")


def git_checkout(root: Path) -> str:
    (root / "app.py").write_text("x = 1\n" * 100, encoding="utf-8")
    (root / ".gitlab-ci.yml").write_text("generated: true\n" * 50, encoding="utf-8")  # not counted
    for args in (["init", "-q", "-b", "main"], ["add", "app.py", ".gitlab-ci.yml"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "c"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.heavy
def test_rollout_writes_a_record_for_success_and_rollback(run_step, kube_env, tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    sha = git_checkout(tmp_path)
    env = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "staging", "CI_GEN_ROLLOUT_TIMEOUT": "3",
           "CI_GEN_REPLICAS": "3", "CI_GEN_IMAGE_SIZE": "1500000000", "CI_GEN_GIT_SHA": sha, **kube_env}
    done = run_step("rollout", CI_GEN_IMAGE_REF=GOOD, **env)
    assert done.returncode == 0, done.stderr
    record = parse_record((tmp_path / RECORD).read_bytes())
    assert (record["result"], record["environment"], record["commit"], record["image"]) == ("success", "staging", sha, GOOD)
    assert record["features"]["code_size_bytes"] == len("x = 1\n" * 100)  # .gitlab-ci.yml excluded
    assert record["features"]["code_lines"] == 100
    assert record["features"]["image_size_bytes"] == 1_500_000_000
    parts = record["features"]["complexity"]
    assert parts["replicas"] == 3 and parts["strategy_steps"] == 1 and parts["objects"] >= 2
    assert record["features"]["env_complexity"] == (parts["objects"] + parts["containers"] + parts["replicas"]
                                                    + 2 * parts["gpus"] + parts["strategy_steps"])
    assert record["commit_time"] is not None
    deploy = deploy_from_record("gitlab", "ml/app", "1", record)
    assert deploy.image_size == pytest.approx(1.5) and deploy.duration >= 0

    failed = run_step("rollout", CI_GEN_IMAGE_REF=BROKEN, **env)
    assert failed.returncode == 1  # the record never changes the deploy's exit code
    assert json.loads((tmp_path / RECORD).read_text())["result"] == "rolled_back"


def test_dry_run_and_rollback_write_no_record(run_step, tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    done = run_step("rollout", "--dry-run", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="staging", CI_GEN_IMAGE_REF=GOOD)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / RECORD).exists()


def test_record_module_outside_a_checkout_still_writes_a_valid_record(tmp_path: Path) -> None:
    from ci_gen.data import steps_dir

    env = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "production", "CI_GEN_STRATEGY": "canary",
           "CI_GEN_CANARY_STEPS": "10 25 50", "CI_GEN_GPU": "1", "CI_GEN_REPLICAS": "4",
           "CI_GEN_DEPLOY_EXIT": "2", "CI_GEN_DEPLOY_STARTED": "1700000000", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["python3", str(steps_dir() / "_deploy_record.py"), "write"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = parse_record((tmp_path / ".ci-gen/reports/deploy-production.json").read_bytes())
    assert record["result"] == "failed"
    assert record["features"]["code_size_bytes"] is None  # not a git checkout: unknown, not zero
    assert record["features"]["complexity"] == {"objects": 0, "containers": 0, "replicas": 4, "gpus": 4,
                                                "strategy_steps": 4}
