"""Where the servers' URLs and secrets come from: the environment, python-gitlab's config file or
Jenkins Job Builder's ini file; never a manifest, never a URL's `user:password@`, and never
printed: tokens are kept out of repr and registered with `redaction` as they are read.
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import UsageError
from ..redaction import public_url, register, register_login, url_secret

# Jenkins Job Builder's own search order (jenkins_jobs/config.py), so a team's existing ini works.
JJB_INI_LOCATIONS = (
    Path("~/.config/jenkins_jobs/jenkins_jobs.ini").expanduser(),
    Path("/etc/jenkins_jobs/jenkins_jobs.ini"),
)


@dataclass(frozen=True)
class JenkinsCredentials:
    url: str
    user: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GitLabCredentials:
    """Either a URL + token, or a python-gitlab config file section (`gitlab_id`)."""

    url: str | None
    token: str | None = field(default=None, repr=False)
    config_files: tuple[str, ...] = ()
    gitlab_id: str | None = None


def jenkins_credentials(fleet_url: str | None, ini: Path | None = None, section: str = "jenkins",
                        env: Mapping[str, str] | None = None) -> JenkinsCredentials | None:
    """Environment first, then the JJB ini (explicit, or found in JJB's default places).

    Returns None when no Jenkins URL is configured anywhere: the run then skips Jenkins.
    """
    env = os.environ if env is None else env
    from_ini = _read_jjb_ini(ini, section)
    url = env.get("CI_GEN_JENKINS_URL") or fleet_url or from_ini.get("url")
    if not url:
        return None
    user = env.get("CI_GEN_JENKINS_USER") or from_ini.get("user")
    token = env.get("CI_GEN_JENKINS_TOKEN") or from_ini.get("password")
    register_login(user, token)
    url = _without_userinfo(url, bool(token),
                            "CI_GEN_JENKINS_USER and CI_GEN_JENKINS_TOKEN (or a Jenkins Job Builder ini)")
    return JenkinsCredentials(url.rstrip("/"), user or None, token or None)


def _without_userinfo(url: str, has_credentials: bool, documented: str) -> str:
    """The server URL without `user:password@`. Credentials in a URL are not a documented
    source: they would end up in job configs, diffs and messages. Their secret is registered
    for redaction; when no credential comes from a documented source, say where it belongs."""
    secret = url_secret(url)
    if secret is None:
        return url
    register(secret)
    public = public_url(url)
    if not has_credentials:
        raise UsageError(f"{public}: credentials in the server URL are not used; set {documented}")
    return public


def _read_jjb_ini(ini: Path | None, section: str) -> dict[str, str]:
    candidates = [ini] if ini is not None else [p for p in JJB_INI_LOCATIONS if p.is_file()]
    if not candidates:
        return {}
    path = candidates[0]
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise UsageError(f"cannot read Jenkins Job Builder ini {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise UsageError(f"{path}: not a valid ini file: {exc.message.splitlines()[0]}") from None
    if not parser.has_section(section):
        if ini is not None:
            raise UsageError(f"{path}: no [{section}] section")
        return {}
    return {key: parser.get(section, key) for key in ("url", "user", "password")
            if parser.has_option(section, key)}


def gitlab_credentials(fleet_url: str | None, config_files: tuple[str, ...] = (),
                       gitlab_id: str | None = None,
                       env: Mapping[str, str] | None = None) -> GitLabCredentials | None:
    """Environment (CI_GEN_GITLAB_URL/TOKEN) over the fleet URL; python-gitlab's config file when
    `--gitlab-config`/`--gitlab-id` is given. None when no GitLab is configured anywhere."""
    env = os.environ if env is None else env
    url = env.get("CI_GEN_GITLAB_URL") or fleet_url
    token = env.get("CI_GEN_GITLAB_TOKEN")
    register(token)
    if url:
        # with a config file, the token may come from the file: checked once the client has it
        url = _without_userinfo(url, bool(token or config_files or gitlab_id),
                                "CI_GEN_GITLAB_TOKEN (or use --gitlab-config)")
    if config_files or gitlab_id:
        for file in config_files:
            if not Path(file).is_file():
                raise UsageError(f"--gitlab-config {file}: no such file")
        return GitLabCredentials(url, token, tuple(config_files), gitlab_id)
    if not url:
        return None
    return GitLabCredentials(url.rstrip("/"), token)
