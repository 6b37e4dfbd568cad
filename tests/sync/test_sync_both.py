"""Jenkins and GitLab in one run: GitLab-hosted manifests, Jenkins jobs reading them by SCM."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ci_gen.sync.main import run_sync
from ci_gen.sync.options import SyncOptions
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import manifest, write
from tests.tools import require


def test_fleet_on_both_servers_then_unchanged(tmp_path: Path, gitlab_env: GitLabEmulator,
                                              jenkins_env: JenkinsEmulator) -> None:
    for i in range(4):
        gitlab_env.add_project(f"ml/app{i}", files={"ci-gen.yaml": manifest(f"app{i}")})
    gitlab_env.add_project("ml/gitlab-only", files={"ci-gen.yaml": manifest("gl", targets="[gitlab]")})
    fleet = write(tmp_path / "fleet.yaml", """\
        version: 1
        defaults:
          gitlab: {mode: commit}
          jenkins: {credentials_id: gitlab-ro}
        discover:
          - {gitlab_group: ml}
        """)
    assert run_sync(SyncOptions(fleet=fleet, jobs=3, junit=tmp_path / "j.xml")) == 0
    config = jenkins_env.config_xml("ml/app1")
    assert f"{gitlab_env.url}/ml/app1.git" in config and "*/main" in config and "gitlab-ro" in config
    assert "ml/gl" not in jenkins_env.job_names()
    jenkins_env.clear_log()
    gitlab_env.clear_log()
    assert run_sync(SyncOptions(fleet=fleet, jobs=3, report=tmp_path / "r.json")) == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["unchanged"] == 5
    assert len(jenkins_env.requests) <= 3
    assert len(gitlab_env.requests) == 2 + 2 * 5  # /user + group list + (manifest, tree) per project


def test_single_repository_checkout(tmp_path: Path, gitlab_env: GitLabEmulator, jenkins_env: JenkinsEmulator,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    git = require("git", "apt-get install -y git")
    gitlab_env.add_project("ml/solo", files={"README.md": "solo\n"})
    repo = tmp_path / "solo"
    write(repo / "ci-gen.yaml", manifest("solo", extra="gitlab: {project: ml/solo}\n"))
    for args in (["init", "-q", "-b", "main"], ["remote", "add", "origin", "https://git.example.com/ml/solo.git"]):
        subprocess.run([git, "-C", str(repo), *args], check=True)
    monkeypatch.chdir(repo)
    assert run_sync(SyncOptions(gitlab_mode="commit")) == 0
    assert "https://git.example.com/ml/solo.git" in jenkins_env.config_xml("ml/solo")
    assert "Jenkinsfile" in gitlab_env.files("ml/solo")
    assert run_sync(SyncOptions(check=True)) == 0


def test_only_jenkins_still_reads_manifests_from_gitlab(tmp_path: Path, gitlab_env: GitLabEmulator,
                                                        jenkins_env: JenkinsEmulator) -> None:
    for i in range(2):
        gitlab_env.add_project(f"ml/app{i}", files={"ci-gen.yaml": manifest(f"app{i}")})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\ndiscover:\n  - {gitlab_group: ml}\n")
    assert run_sync(SyncOptions(fleet=fleet, only="jenkins", prune=True)) == 0
    assert {"ml/app0", "ml/app1"} <= set(jenkins_env.job_names())
    assert sum(gitlab_env.count(m) for m in ("POST", "PUT", "DELETE")) == 0
