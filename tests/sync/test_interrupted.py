"""A sync killed half-way (SIGKILL, no cleanup) converges on the next run without duplicates."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from ci_gen.sync.main import run_sync
from ci_gen.sync.options import SyncOptions
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import local_fleet, manifest, write

REPO = Path(__file__).resolve().parents[2]
SCRIPT = ("import sys, tests.sync.conftest; from pathlib import Path; "
          "from ci_gen.sync.main import run_sync; from ci_gen.sync.options import SyncOptions; "
          "run_sync(SyncOptions(fleet=Path(sys.argv[1]), jobs=3, timeout=60))")


def _start(fleet: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'generator'}")
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(fleet)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    try:
        while not ready():
            assert process.poll() is None, "the sync finished before it could be interrupted"
            assert time.monotonic() < deadline, "the sync never reached the point to interrupt"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()


def test_killed_between_commit_and_merge_request(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    for i in range(3):
        gitlab_env.add_project(f"ml/app{i}", files={"ci-gen.yaml": manifest(f"app{i}")})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\ndiscover:\n  - {gitlab_group: ml}\n")
    gitlab_env.inject("POST", r"/merge_requests", times=3, delay=60)  # hangs after each commit
    process = _start(fleet)
    _kill_when(process, lambda: gitlab_env.faults[0].times == 0)  # three MRs hanging, commits landed
    heads = {i: gitlab_env.project(f"ml/app{i}").repo.branches.get("ci-gen/sync") for i in range(3)}
    gitlab_env.faults.clear()
    assert run_sync(SyncOptions(fleet=fleet, jobs=2, timeout=10)) == 0
    for i in range(3):
        project = gitlab_env.project(f"ml/app{i}")
        assert len(project.merge_requests) == 1
        if heads[i] is not None:
            assert project.repo.branches["ci-gen/sync"] == heads[i]  # the commit was not repeated
    assert run_sync(SyncOptions(fleet=fleet, check=True)) == 0


def test_killed_while_creating_jobs(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {f"app{i}": manifest(f"app{i}") for i in range(6)})
    stuck = jenkins_env.inject("POST", r"job/ml/createItem", times=2, delay=60)
    process = _start(fleet)
    # Killed once some jobs exist and two of the three workers hang inside a create.
    _kill_when(process, lambda: stuck.times == 0 and jenkins_env.count("POST", r"job/ml/createItem") >= 1)
    jenkins_env.faults.clear()
    assert run_sync(SyncOptions(fleet=fleet, jobs=2, timeout=10)) == 0
    jobs = [n for n in jenkins_env.job_names() if n.startswith("ml/")]
    assert sorted(jobs) == [f"ml/app{i}" for i in range(6)]
    assert run_sync(SyncOptions(fleet=fleet, check=True)) == 0
