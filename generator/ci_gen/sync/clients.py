"""Building the python-jenkins and python-gitlab clients with timeouts and retries.

python-gitlab retries 429 (honouring Retry-After) and, with `retry_transient_errors`, 5xx and
dropped connections. python-jenkins only retries failed connects, so its session gets a urllib3
Retry that does what python-gitlab does: 429/5xx/resets with exponential backoff and Retry-After.

A server's Retry-After (or GitLab's RateLimit-Reset) is honoured only up to the request timeout
(`--timeout`): a server asking for 25 s must not stall a run that allows 2 s per request. An
unreadable value means the usual backoff, not a failed project.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from ..errors import UsageError
from ..redaction import public_url, register
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


def _retry(attempts: int, max_wait: float) -> Any:
    """Refused connects are retried only briefly: a server that is down should fail fast."""
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):  # Retry.new() builds type(self): every later attempt keeps the cap
        def get_retry_after(self, response: Any) -> float | None:
            try:
                seconds: float | None = super().get_retry_after(response)
            except InvalidHeader:
                return None
            return None if seconds is None else min(seconds, max_wait)

    return CappedRetry(
        total=attempts, connect=min(attempts, 3), read=attempts, status=attempts, other=attempts,
        backoff_factor=0.1, backoff_max=5.0, status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # POSTs too: our writes are idempotent upserts, checked on rerun
        respect_retry_after_header=True, raise_on_status=False,
    )


def pooled_session(pool: int, timeout: float, attempts: int = 0) -> Any:
    """A requests Session whose pool fits `pool` worker threads (default 10 would churn)."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool, 10),
                          max_retries=_retry(attempts, timeout) if attempts else 0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _capped_retry_after(max_wait: float) -> Callable[..., Any]:
    """A response hook for python-gitlab, which sleeps whatever Retry-After or RateLimit-Reset
    says: rewritten to at most `max_wait` whole seconds; an unreadable value is dropped, so
    python-gitlab falls back to its own backoff instead of failing on int()."""
    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        headers = response.headers
        if response.status_code < 400 or not any(name in headers for name in ("Retry-After", "RateLimit-Reset")):
            return response
        wait = _server_wait(headers.get("Retry-After"), headers.get("RateLimit-Reset"))
        headers.pop("Retry-After", None)
        headers.pop("RateLimit-Reset", None)
        if wait is not None:
            headers["Retry-After"] = str(int(min(wait, max_wait)))
        return response
    return hook


def _server_wait(retry_after: str | None, reset: str | None) -> float | None:
    """Seconds a server asks to wait: Retry-After (seconds or an HTTP date), else GitLab's
    RateLimit-Reset (epoch seconds); None when there is no readable value."""
    import email.utils
    import time

    def digits(text: str) -> bool:
        return text.isascii() and text.isdigit()

    if retry_after is not None:
        text = retry_after.strip()
        if digits(text):
            return float(text)
        date = email.utils.parsedate_tz(text)
        return max(0.0, email.utils.mktime_tz(date) - time.time()) if date else None
    if reset is not None and digits(reset.strip()):
        return max(0.0, int(reset.strip()) - time.time())
    return None


def jenkins_client(creds: JenkinsCredentials, timeout: float, pool: int, attempts: int = 8) -> Any:
    import jenkins
    import requests.adapters

    server = jenkins.Jenkins(creds.url, username=creds.user, password=creds.token, timeout=timeout)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool, 10),
                                            max_retries=_retry(attempts, timeout))
    # python-jenkins mounts its own adapter on the bare scheme; the longer prefix wins.
    server._session.mount("http://", adapter)
    server._session.mount("https://", adapter)
    return server


def gitlab_client(creds: GitLabCredentials, timeout: float, pool: int) -> Any:
    """python-gitlab retries each call up to 10 times (its default) with its own backoff."""
    import gitlab

    session = pooled_session(pool, timeout)
    session.hooks["response"].append(_capped_retry_after(timeout))
    options: dict[str, Any] = {"timeout": timeout, "retry_transient_errors": True,
                               "session": session, "per_page": 100}
    if creds.config_files or creds.gitlab_id:
        try:
            gl = gitlab.Gitlab.from_config(creds.gitlab_id, list(creds.config_files) or None, session=session)
        except gitlab.config.ConfigError as exc:
            raise UsageError(f"python-gitlab config: {exc}") from None
        register(gl.private_token, gl.oauth_token, gl.job_token, gl.http_password)
        url = creds.url or public_url(gl.url)  # the file's URL, without any user:password@ in it
        if url.rstrip("/") != gl.url.rstrip("/"):
            gl = gitlab.Gitlab(url, private_token=creds.token or gl.private_token, **options)
        # from_config takes these from the file; ours win (the file rarely sets them).
        gl.timeout, gl.retry_transient_errors, gl.per_page = timeout, True, 100
    else:
        if not creds.token:
            raise UsageError("no GitLab token: set CI_GEN_GITLAB_TOKEN or use --gitlab-config")
        gl = gitlab.Gitlab(creds.url, private_token=creds.token, **options)
    return gl
