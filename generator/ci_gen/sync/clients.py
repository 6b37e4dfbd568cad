"""Building the python-jenkins and python-gitlab clients with timeouts and retries.

python-gitlab retries 429 (honouring Retry-After) and, with `retry_transient_errors`, 5xx and
dropped connections. python-jenkins only retries failed connects, so its session gets a urllib3
Retry that does what python-gitlab does: 429/5xx/resets with exponential backoff and Retry-After.
"""
from __future__ import annotations

import threading
from typing import Any

from ..errors import UsageError
from .credentials import GitLabCredentials, JenkinsCredentials

RETRY_STATUSES = (429, 500, 502, 503, 504)


class RequestCounter:
    """Counts the HTTP responses a session receives (each retry's final answer once), for the
    report: the cost of a sync is part of what it tells."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def attach(self, session: Any) -> None:
        session.hooks["response"].append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.count += 1
        return response


def _retry(attempts: int) -> Any:
    """Refused connects are retried only briefly: a server that is down should fail fast."""
    from urllib3.util.retry import Retry

    return Retry(
        total=attempts, connect=min(attempts, 3), read=attempts, status=attempts, other=attempts,
        backoff_factor=0.1, backoff_max=5.0, status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # POSTs too: our writes are idempotent upserts, checked on rerun
        respect_retry_after_header=True, raise_on_status=False,
    )


def pooled_session(pool: int, attempts: int = 0) -> Any:
    """A requests Session whose pool fits `pool` worker threads (default 10 would churn)."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool, 10),
                          max_retries=_retry(attempts) if attempts else 0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def jenkins_client(creds: JenkinsCredentials, timeout: float, pool: int, attempts: int = 8) -> Any:
    import jenkins
    import requests.adapters

    server = jenkins.Jenkins(creds.url, username=creds.user, password=creds.token, timeout=timeout)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool, 10),
                                            max_retries=_retry(attempts))
    # python-jenkins mounts its own adapter on the bare scheme; the longer prefix wins.
    server._session.mount("http://", adapter)
    server._session.mount("https://", adapter)
    return server


def gitlab_client(creds: GitLabCredentials, timeout: float, pool: int) -> Any:
    """python-gitlab retries each call up to 10 times (its default) with its own backoff."""
    import gitlab

    session = pooled_session(pool)
    options: dict[str, Any] = {"timeout": timeout, "retry_transient_errors": True,
                               "session": session, "per_page": 100}
    if creds.config_files or creds.gitlab_id:
        try:
            gl = gitlab.Gitlab.from_config(creds.gitlab_id, list(creds.config_files) or None, session=session)
        except gitlab.config.ConfigError as exc:
            raise UsageError(f"python-gitlab config: {exc}") from None
        if creds.url and creds.url.rstrip("/") != gl.url.rstrip("/"):
            gl = gitlab.Gitlab(creds.url, private_token=creds.token or gl.private_token, **options)
        # from_config takes these from the file; ours win (the file rarely sets them).
        gl.timeout, gl.retry_transient_errors, gl.per_page = timeout, True, 100
    else:
        if not creds.token:
            raise UsageError("no GitLab token: set CI_GEN_GITLAB_TOKEN or use --gitlab-config")
        gl = gitlab.Gitlab(creds.url, private_token=creds.token, **options)
    return gl
