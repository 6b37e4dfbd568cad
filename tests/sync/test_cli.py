"""`ci-gen sync`, `lint --server` and `fleet-pipeline` through the real command line (click, the
error boundary and exit codes), against the emulators over real HTTP."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ci_gen.cli import main
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import manifest, write


def test_check_then_sync_then_check(tmp_path: Path, gitlab_env: GitLabEmulator, jenkins_env: JenkinsEmulator,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(2):
        gitlab_env.add_project(f"ml/app{i}", files={"ci-gen.yaml": manifest(f"app{i}")})
    fleet = write(tmp_path / "fleet.yaml", """\
        version: 1
        defaults:
          gitlab: {mode: commit}
        discover:
          - {gitlab_group: ml}
        """)
    assert main(["sync", "--fleet", str(fleet), "--check", "--no-progress"]) == 1  # drift alarm
    assert jenkins_env.job_names() == [] or all("app" not in n for n in jenkins_env.job_names())
    assert main(["sync", "--fleet", str(fleet), "--no-progress"]) == 0
    assert "Jenkinsfile" in gitlab_env.files("ml/app0")
    capsys.readouterr()
    assert main(["sync", "--fleet", str(fleet), "--check", "-o", "json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["unchanged"] == 2


def test_unreachable_server_is_one_line_and_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CI_GEN_JENKINS_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CI_GEN_JENKINS_USER", "u")
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", "t")
    repo = tmp_path / "repo"
    write(repo / "ci-gen.yaml", manifest("solo"))
    code = main(["sync", "-C", str(repo), "--no-progress", "--timeout", "2", "--jenkins-definition", "inline"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err and err.strip()


def test_bad_fleet_file_names_file_line_and_column(tmp_path: Path, gitlab_env: GitLabEmulator,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fleet = write(tmp_path / "fleet.yaml", "version: 1\nprojets:\n  - gitlab: ml/x\n")
    assert main(["sync", "--fleet", str(fleet), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "fleet.yaml:2:1:" in err and "did you mean 'projects'" in err


def test_fleet_pipeline_writes_the_platform_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = write(tmp_path / "fleet.yaml", "version: 1\nprojects:\n  - gitlab: ml/x\n")
    out = tmp_path / "platform"
    assert main(["fleet-pipeline", str(fleet), "--out", str(out), "--shards", "3"]) == 0
    gitlab = (out / ".gitlab-ci.yml").read_text()
    # GitLab's own parallel jobs are the shards: CI_NODE_INDEX of CI_NODE_TOTAL.
    assert "parallel: 3" in gitlab and '--shard \\"$CI_NODE_INDEX/$CI_NODE_TOTAL\\"' in gitlab
    assert (out / "Jenkinsfile").is_file()


def test_no_server_names_every_credential_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    write(repo / "ci-gen.yaml", manifest("solo"))
    assert main(["sync", "-C", str(repo), "--no-progress"]) == 2
    err = capsys.readouterr().err
    for source in ("CI_GEN_JENKINS_URL", "CI_GEN_JENKINS_TOKEN", "servers.jenkins", "--jenkins-ini",
                   "~/.config/jenkins_jobs/jenkins_jobs.ini", "CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN",
                   "servers.gitlab", "--gitlab-config", "--gitlab-id"):
        assert source in err, source
    assert "Traceback" not in err


def test_single_repo_says_why_gitlab_was_skipped_and_how_to_fix_it(tmp_path: Path, gitlab_env: GitLabEmulator,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"  # no gitlab.project, no git remote, and no Jenkins server
    write(repo / "ci-gen.yaml", manifest("solo"))
    assert main(["sync", "-C", str(repo), "--no-progress", "-o", "json"]) == 0
    skipped = json.loads(capsys.readouterr().out)["projects"][0]["skipped"]
    assert skipped == ("nothing to sync: no Jenkins server configured (CI_GEN_JENKINS_URL or a Jenkins Job "
                       "Builder ini); no GitLab project: set gitlab.project in ci-gen.yaml (e.g. ml/fraud-detector); "
                       "this checkout has no git remote either")
