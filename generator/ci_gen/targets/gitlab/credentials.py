"""Where GitLab's URL and token come from: the environment, the fleet file's URL or python-gitlab's
config file; never a manifest, never a URL's `user:password@`, and never printed: the token is
kept out of repr and registered with `redaction` as it is read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ...errors import UsageError
from ...redaction import register
from ..transport import without_userinfo


@dataclass(frozen=True)
class GitLabCredentials:
    """Either a URL + token, or a python-gitlab config file section (`gitlab_id`)."""

    url: str | None
    token: str | None = field(default=None, repr=False)
    config_files: tuple[str, ...] = ()
    gitlab_id: str | None = None


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
        url = without_userinfo(url, bool(token or config_files or gitlab_id),
                               "CI_GEN_GITLAB_TOKEN (or use --gitlab-config)")
    if config_files or gitlab_id:
        for file in config_files:
            if not Path(file).is_file():
                raise UsageError(f"--gitlab-config {file}: no such file")
        return GitLabCredentials(url, token, tuple(config_files), gitlab_id)
    if not url:
        return None
    return GitLabCredentials(url.rstrip("/"), token)
