"""Fixtures of the sync tests: the emulators over real HTTP and the environment pointing at them."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator


@pytest.fixture
def jenkins_server() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator() as emulator:
        yield emulator


@pytest.fixture
def gitlab_server() -> Iterator[GitLabEmulator]:
    with GitLabEmulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ("CI_GEN_JENKINS_URL", "CI_GEN_JENKINS_USER", "CI_GEN_JENKINS_TOKEN",
                 "CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # no stray JJB/python-gitlab config


@pytest.fixture
def jenkins_env(jenkins_server: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch) -> JenkinsEmulator:
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins_server.url)
    monkeypatch.setenv("CI_GEN_JENKINS_USER", jenkins_server.user)
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", jenkins_server.token)
    return jenkins_server


@pytest.fixture
def gitlab_env(gitlab_server: GitLabEmulator, monkeypatch: pytest.MonkeyPatch) -> GitLabEmulator:
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab_server.url)
    monkeypatch.setenv("CI_GEN_GITLAB_TOKEN", gitlab_server.token)
    return gitlab_server
