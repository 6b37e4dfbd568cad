"""Jenkins as a server (`targets.base.Remote`): credentials, client, the declarative validator and
the sync planner, as `sync`, `lint --server` and `report` reach them. Importing this module
imports no client."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import CiGenError
from .client import jenkins_client, preflight as _preflight
from .credentials import JenkinsCredentials, jenkins_credentials
from .server import translate_error as _translate_error
from .server_lint import lint_on_server

if TYPE_CHECKING:
    from ...manifest import Manifest
    from ...report.fetched import Cursor, Fetched
    from ..sync_data import Source

title = "Jenkins"
where = ("CI_GEN_JENKINS_URL (+ CI_GEN_JENKINS_USER, CI_GEN_JENKINS_TOKEN), servers.jenkins in the fleet "
         "file, or a Jenkins Job Builder ini (--jenkins-ini FILE, else ~/.config/jenkins_jobs/jenkins_jobs.ini, "
         "/etc/jenkins_jobs/jenkins_jobs.ini) with url, user and password")
configure_hint = "CI_GEN_JENKINS_URL or a Jenkins Job Builder ini"
variables = "CI_GEN_JENKINS_URL/USER/TOKEN"  # every variable it reads, for lint --server
url_variable = "CI_GEN_JENKINS_URL"
sync_rank = 0  # first: a job may need the default branch GitLab's side looked up
hosts_manifests = False
lint = lint_on_server


def credentials(fleet_url: str | None, options: Any) -> JenkinsCredentials | None:
    return jenkins_credentials(fleet_url, getattr(options, "jenkins_ini", None),
                               getattr(options, "jenkins_section", "jenkins"))


def connect(creds: JenkinsCredentials, timeout: float, pool: int) -> Any:
    return jenkins_client(creds, timeout, pool)


def session(client: Any) -> Any:
    return client._session


def preflight(client: Any, command: str) -> None:
    # A sync's first request (the plugin list, in `prepare`) proves the server already; a report
    # has no such request, and its workers would each fetch a CSRF crumb.
    if command != "sync":
        _preflight(client)


def sync_side() -> type:
    """The class of its side of a sync run (`targets.base.Backend`, built by the sync engine)."""
    from .sync_side import JenkinsSide

    return JenkinsSide


def discover(client: Any, group: str, exclude: tuple[str, ...], origin: object) -> list[Source]:
    raise LookupError("Jenkins hosts no repositories to discover")  # hosts_manifests is False


def backend(client: Any) -> Any:
    from .server import JenkinsBackend

    return JenkinsBackend(client)


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
