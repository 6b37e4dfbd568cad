"""Where Jenkins' URL, user and token come from: the environment or Jenkins Job Builder's ini
file; never a manifest, never a URL's `user:password@`, and never printed: the token is kept out
of repr and registered with `redaction` as it is read.
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ...errors import UsageError
from ...redaction import register_login
from ..transport import without_userinfo

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
    url = without_userinfo(url, bool(token),
                           "CI_GEN_JENKINS_USER and CI_GEN_JENKINS_TOKEN (or a Jenkins Job Builder ini)")
    return JenkinsCredentials(url.rstrip("/"), user or None, token or None)


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
