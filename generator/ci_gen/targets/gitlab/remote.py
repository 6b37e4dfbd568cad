"""GitLab as a server (`targets.base.Remote`): credentials, client, CI Lint and the sync planner,
as `sync`, `lint --server` and `report` reach them. Importing this module imports no client."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import CiGenError
from .client import gitlab_client, preflight as _preflight
from .credentials import GitLabCredentials, gitlab_credentials
from .server import translate_error as _translate_error
from .server_lint import lint_on_server

if TYPE_CHECKING:
    from ...manifest import Manifest
    from ...report.fetched import Cursor, Fetched
    from ..sync_data import Source

title = "GitLab"
where = ("CI_GEN_GITLAB_URL (+ CI_GEN_GITLAB_TOKEN), servers.gitlab in the fleet file, or a python-gitlab "
         "config file (--gitlab-config FILE, with --gitlab-id NAME for its section)")
configure_hint = "CI_GEN_GITLAB_URL or --gitlab-config"
variables = "CI_GEN_GITLAB_URL/TOKEN"  # every variable it reads, for lint --server
url_variable = "CI_GEN_GITLAB_URL"
sync_rank = 1  # after Jenkins
hosts_manifests = True  # fleet entries name GitLab projects; their manifests are read from here
lint = lint_on_server


def credentials(fleet_url: str | None, options: Any) -> GitLabCredentials | None:
    return gitlab_credentials(fleet_url, tuple(getattr(options, "gitlab_config", ()) or ()),
                              getattr(options, "gitlab_id", None))


def connect(creds: GitLabCredentials, timeout: float, pool: int) -> Any:
    return gitlab_client(creds, timeout, pool)


def session(client: Any) -> Any:
    return client.session


def preflight(client: Any, command: str) -> None:
    _preflight(client)  # every command: the token is checked once, not once per project


def sync_side() -> type:
    """The class of its side of a sync run (`targets.base.Backend`, built by the sync engine)."""
    from .sync_side import GitLabSide

    return GitLabSide


def discover(client: Any, group: str, exclude: tuple[str, ...], origin: object) -> list[Source]:
    from .discovery import discover_group

    return discover_group(client, group, exclude, origin)


def backend(client: Any) -> Any:
    from .server import GitLabBackend

    return GitLabBackend(client)


def translate_error(exc: BaseException) -> CiGenError:
    return _translate_error(exc)


def history_project(manifest: Manifest, repository: str | None, fleet: Any | None) -> str | None:
    from .history import history_project as project

    return project(manifest, repository, fleet)


def fetch_history(client: Any, project: str, stored: Cursor | None, known: set[str], since: float) -> Fetched:
    from .history import fetch_history as fetch

    return fetch(client, project, stored, known, since)


def history_error(exc: BaseException) -> CiGenError:
    from .history import history_error as translate

    return translate(exc)


if TYPE_CHECKING:  # mypy proves this module is a `Remote`: every member, with its signature
    from .. import base
    from . import remote as _this

    _conforms: base.Remote = _this
