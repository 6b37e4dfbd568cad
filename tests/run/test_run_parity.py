"""Parity: the same plan through `ci-gen run` and through gitlab-ci-local's rehearsal.

Both run the same committed checkout of an example, with the step scripts replaced by the probe
(tests/run/probe.py), so each job reports what it was given. gitlab-ci-local runs the generated
.gitlab-ci.yml the way tests/rehearsal does (shell executor, artifact isolation, one job at a time);
`ci-gen run` runs the plan in containers. They must run the same jobs, in dependency order, each
with the same pipeline variables (CI_GEN_*, the manifest's variables and the dotenv report of
build-image) and the same artifacts from the jobs it needs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_gen.manifest import load_manifest
from ci_gen.plan import build_plan
from tests.run.probe import checkout, probe_report
from tests.tools import require

pytestmark = pytest.mark.heavy


def gitlab_ci_local(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = require("gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0")
    require("rsync", "apt-get install rsync")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_"))}
    return subprocess.run([binary, "--force-shell-executor", "--shell-isolation", "--no-color", "--concurrency", "1",
                           "--variable", "MODEL_VARIANT=small", "--variable", "CI_GEN_DRY_RUN=1", *args],
                          cwd=work, capture_output=True, text=True, timeout=600, env=env, check=False)


@pytest.mark.parametrize("example", ["churn-sklearn", "minimal"])
def test_ci_gen_run_and_gitlab_ci_local_run_the_same_jobs_in_the_same_order_with_the_same_environment(
        example: str, tmp_path: Path, shell_image: str, run_env: dict[str, str]) -> None:
    ours = checkout(example, tmp_path / "ci-gen-run", probe=True)
    theirs = tmp_path / "gitlab-ci-local"  # a clone: the same commit, so the same CI_COMMIT_SHA
    subprocess.run(["git", "clone", "-q", str(ours), str(theirs)], check=True)
    subprocess.run(["git", "-C", str(theirs), "remote", "set-url", "origin",
                    f"https://gitlab.example.com/ml/{example}.git"], check=True)
    # The whole pipeline, deploys included: approve the manual gates, as the rehearsal test does.
    gates = [arg for gate in ("deploy-production",) for arg in ("--manual", gate)
             if f"\n{gate}:\n" in (theirs / ".gitlab-ci.yml").read_text()]
    rehearsal = gitlab_ci_local(theirs, *gates)
    assert rehearsal.returncode == 0, (rehearsal.stdout + rehearsal.stderr)[-5000:]
    local = subprocess.run([sys.executable, "-m", "ci_gen", "run", "--network", "none", "--image", shell_image,
                            "--built-image", shell_image, "--var", "MODEL_VARIANT=small", "--var", "CI_GEN_DRY_RUN=1",
                            "--include-deploy"],
                           cwd=ours, env=run_env, capture_output=True, text=True, timeout=600)
    assert local.returncode == 0, (local.stdout + local.stderr)[-5000:]
    our_order, our_env, our_files = probe_report(local.stdout)
    their_order, their_env, their_files = probe_report(rehearsal.stdout + rehearsal.stderr)
    # Same jobs; each after every job it needs in both. The sequence itself differs by design:
    # gitlab-ci-local starts every ready job first (GitLab runs them in parallel), `ci-gen run`
    # keeps the plan's stage order (as Jenkins runs the stages).
    assert sorted(our_order) == sorted(their_order)
    pipeline = build_plan(load_manifest(ours / "ci-gen.yaml", ours))
    assert our_order == [job.name for job in pipeline.jobs if job.name in our_order]
    for order in (our_order, their_order):
        for position, name in enumerate(order):
            assert all(order.index(need) < position for need in pipeline.job(name).needs), (name, order)
    for job in our_order:
        assert our_env[job] == their_env[job], job
        assert our_files[job] == their_files[job], job
    assert our_env[our_order[-1]]["MODEL_VARIANT"] == "small"
