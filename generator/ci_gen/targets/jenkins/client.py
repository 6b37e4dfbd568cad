"""The python-jenkins client ci-gen talks to Jenkins with: timeouts, a pooled session, retries.

python-jenkins only retries failed connects, so its session gets `transport.retry`: 429/5xx and
resets with exponential backoff and Retry-After (capped at the request timeout), as python-gitlab
does on its own.
"""
from __future__ import annotations

from typing import Any

from ...errors import ServerError, UserError
from ..transport import retry
from .credentials import JenkinsCredentials


def jenkins_client(creds: JenkinsCredentials, timeout: float, pool: int, attempts: int = 8) -> Any:
    import jenkins
    import requests.adapters

    server = jenkins.Jenkins(creds.url, username=creds.user, password=creds.token, timeout=timeout)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool, 10),
                                            max_retries=retry(attempts, timeout))
    # python-jenkins mounts its own adapter on the bare scheme; the longer prefix wins.
    server._session.mount("http://", adapter)
    server._session.mount("https://", adapter)
    return server


def preflight(server: Any) -> None:
    """One call before the workers start: proves the server and the credentials with one clear
    line, and fetches the CSRF crumb once (python-jenkins fetches it lazily, so parallel workers
    would each fetch their own)."""
    import jenkins
    import requests

    try:
        server.get_whoami()
    except (requests.RequestException, jenkins.TimeoutException) as exc:
        raise ServerError(f"Jenkins at {server.server} cannot be reached: {type(exc).__name__}") from None
    except jenkins.JenkinsException as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "[401]" in text or "[403]" in text:
            raise UserError(f"Jenkins at {server.server} rejected the credentials; check CI_GEN_JENKINS_USER "
                            "and CI_GEN_JENKINS_TOKEN") from None
        raise ServerError(f"Jenkins at {server.server}: {text}") from None
