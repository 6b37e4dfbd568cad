"""Fixtures of the report tests: the session's emulators, the environment pointing at them, a
checkout whose manifest names the GitLab project and the Jenkins job, and a runner for the CLI."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.report.history import manifest

NOW = time.time()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ("CI_GEN_JENKINS_URL", "CI_GEN_JENKINS_USER", "CI_GEN_JENKINS_TOKEN",
                 "CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))  # no stray JJB/python-gitlab config, a private cache dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))


@pytest.fixture
def servers(gitlab_emulator: GitLabEmulator, jenkins_emulator: JenkinsEmulator,
            monkeypatch: pytest.MonkeyPatch) -> tuple[GitLabEmulator, JenkinsEmulator]:
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab_emulator.url)
    monkeypatch.setenv("CI_GEN_GITLAB_TOKEN", gitlab_emulator.token)
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins_emulator.url)
    monkeypatch.setenv("CI_GEN_JENKINS_USER", jenkins_emulator.user)
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", jenkins_emulator.token)
    return gitlab_emulator, jenkins_emulator


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout of app `fraud` (GitLab ml/fraud, Jenkins job ml/fraud)."""
    repo = tmp_path / "fraud"
    repo.mkdir()
    (repo / "ci-gen.yaml").write_text(manifest("fraud", "ml/fraud"), encoding="utf-8")
    (repo / "app.py").write_text("print('hello')\n" * 1000, encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    return repo


Run = Callable[..., tuple[int, Any, str]]


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    """`ci-gen report ARGS -o json` in-process: (exit code, parsed JSON or None, stderr)."""
    from ci_gen.cli import main

    def run(*args: str, json_out: bool = True) -> tuple[int, Any, str]:
        capsys.readouterr()
        code = main(["report", *args, *(["-o", "json"] if json_out else [])])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if json_out and out.strip() else out), err
    return run
