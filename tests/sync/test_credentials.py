from __future__ import annotations

from pathlib import Path

import pytest

from ci_gen.errors import UsageError
from ci_gen.targets.gitlab.credentials import gitlab_credentials
from ci_gen.targets.jenkins.credentials import jenkins_credentials
from tests.sync.helpers import write


def test_jenkins_environment_wins_over_fleet_and_ini(tmp_path: Path) -> None:
    ini = write(tmp_path / "jjb.ini", "[jenkins]\nurl=http://ini:8080\nuser=bob\npassword=ini-token\n")
    env = {"CI_GEN_JENKINS_URL": "http://env:8080/", "CI_GEN_JENKINS_TOKEN": "env-token"}
    creds = jenkins_credentials("http://fleet", ini, env=env)
    assert creds is not None
    assert (creds.url, creds.user, creds.token) == ("http://env:8080", "bob", "env-token")
    assert "env-token" not in repr(creds)


def test_jenkins_job_builder_ini_alone_is_enough(tmp_path: Path) -> None:
    ini = write(tmp_path / "jjb.ini", "[prod]\nurl=http://ini:8080\nuser=bob\npassword=s3cret\n")
    creds = jenkins_credentials(None, ini, section="prod", env={})
    assert creds is not None and (creds.url, creds.user, creds.token) == ("http://ini:8080", "bob", "s3cret")
    with pytest.raises(UsageError, match=r"no \[jenkins\] section"):
        jenkins_credentials(None, ini, env={})


def test_no_jenkins_anywhere_means_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/jenkins_jobs ini
    assert jenkins_credentials(None, None, env={}) is None


def test_gitlab_from_environment_and_config_file(tmp_path: Path) -> None:
    creds = gitlab_credentials("https://fleet", env={"CI_GEN_GITLAB_TOKEN": "glpat-x"})
    assert creds is not None and creds.url == "https://fleet" and creds.token == "glpat-x"
    assert "glpat-x" not in repr(creds)
    cfg = write(tmp_path / "python-gitlab.cfg", "[global]\ndefault=main\n[main]\nurl=https://g\nprivate_token=t\n")
    creds = gitlab_credentials(None, (str(cfg),), "main", env={})
    assert creds is not None and creds.config_files == (str(cfg),) and creds.gitlab_id == "main"
    with pytest.raises(UsageError, match="no such file"):
        gitlab_credentials(None, (str(tmp_path / "nope.cfg"),), env={})
    assert gitlab_credentials(None, env={}) is None
