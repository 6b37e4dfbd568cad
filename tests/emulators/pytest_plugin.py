"""pytest fixtures: each emulator started once per test session on a free 127.0.0.1 port and
reset before every test that uses it; plus real clients configured for them.

Registered by `tests/conftest.py` (`pytest_plugins = ["tests.emulators.pytest_plugin"]`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator

if TYPE_CHECKING:
    import gitlab as gitlab_lib
    import jenkins as jenkins_lib


@pytest.fixture(scope="session")
def _jenkins_server() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def _gitlab_server() -> Iterator[GitLabEmulator]:
    with GitLabEmulator() as emulator:
        yield emulator


@pytest.fixture
def jenkins_emulator(_jenkins_server: JenkinsEmulator) -> JenkinsEmulator:
    """The session's Jenkins emulator, empty but for the admin user (`.user`, `.token`)."""
    _jenkins_server.reset()
    return _jenkins_server


@pytest.fixture
def gitlab_emulator(_gitlab_server: GitLabEmulator) -> GitLabEmulator:
    """The session's GitLab emulator, empty but for the bot user (`.token`)."""
    _gitlab_server.reset()
    return _gitlab_server


@pytest.fixture
def jenkins_client(jenkins_emulator: JenkinsEmulator) -> Iterator["jenkins_lib.Jenkins"]:
    """python-jenkins logged in with the admin's API token."""
    import jenkins as jenkins_lib

    client = jenkins_lib.Jenkins(jenkins_emulator.url, jenkins_emulator.user,
                                 jenkins_emulator.token, timeout=10)
    yield client
    client._session.close()  # python-jenkins has no public close


@pytest.fixture
def gitlab_client(gitlab_emulator: GitLabEmulator) -> Iterator["gitlab_lib.Gitlab"]:
    """python-gitlab with the bot's token and transient-error retries on, as sync uses it."""
    import gitlab as gitlab_lib

    with gitlab_lib.Gitlab(gitlab_emulator.url, private_token=gitlab_emulator.token,
                           retry_transient_errors=True, timeout=10) as client:
        yield client
