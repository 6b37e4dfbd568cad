"""`ci-gen lint --server` against both emulators' validators."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gen.errors import ServerError, UsageError
from ci_gen.lint_server import run_lint_server
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import manifest, write


@pytest.fixture
def repo(tmp_path: Path, gitlab_env: GitLabEmulator) -> Path:
    gitlab_env.add_project("ml/app", files={"README.md": "x\n"})
    write(tmp_path / "ci-gen.yaml", manifest("app", extra="gitlab: {project: ml/app}\n"))
    return tmp_path


def test_rendered_files_pass_both_servers(repo: Path, jenkins_env: JenkinsEmulator,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint_server(repo) == 0
    out = capsys.readouterr().out
    assert ".gitlab-ci.yml: valid (gitlab)" in out and "Jenkinsfile: valid (jenkins)" in out
    assert jenkins_env.count("POST", "pipeline-model-converter") == 1


def test_broken_committed_files_are_reported(repo: Path, jenkins_env: JenkinsEmulator,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".gitlab-ci.yml", "build:\n  script: 42\n")  # script must be text
    write(repo / "Jenkinsfile", "pipeline {\n  agent any\n}\n")  # no stages
    assert run_lint_server(repo, output="json") == 1
    payload = json.loads(capsys.readouterr().out)
    assert not payload["ok"]
    assert all(r["errors"] for r in payload["results"]), payload


def test_needs_a_project_and_a_reachable_server(tmp_path: Path, gitlab_env: GitLabEmulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "ci-gen.yaml", manifest("app", targets="[gitlab]"))
    with pytest.raises(UsageError, match="gitlab.project"):
        run_lint_server(tmp_path)
    monkeypatch.setenv("CI_GEN_GITLAB_URL", "http://127.0.0.1:9")
    with pytest.raises(ServerError, match="unreachable"):
        run_lint_server(tmp_path, gitlab_project="ml/app", timeout=2)


def test_the_command_line_honours_f(repo: Path, jenkins_env: JenkinsEmulator,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`lint --server -f FILE` sends what FILE renders, not ci-gen.yaml's pipeline (once ignored)."""
    from ci_gen.cli import main

    write(repo / "other.yaml", manifest("other", targets="[jenkins]"))
    assert main(["lint", "--server", "-C", str(repo), "-f", "other.yaml", "-o", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    # ci-gen.yaml targets both servers (and GitLab is configured): only other.yaml targets Jenkins alone
    assert [r["server"] for r in payload["results"]] == ["jenkins"]
    write(repo / "broken.yaml", "version: 1\nname: Bad Name\n")
    assert main(["lint", "--server", "-C", str(repo), "-f", "broken.yaml"]) == 1
    assert "broken.yaml:2:" in capsys.readouterr().err


def test_a_missing_project_is_named_before_the_client_is_built(tmp_path: Path, gitlab_server: GitLabEmulator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # No token either: the lint says what the command lacks first, and sends nothing.
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab_server.url)
    write(tmp_path / "ci-gen.yaml", manifest("app", targets="[gitlab]"))
    with pytest.raises(UsageError, match="gitlab.project"):
        run_lint_server(tmp_path)
    assert gitlab_server.count() == 0
