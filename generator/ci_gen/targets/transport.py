"""What every server client shares: HTTP sessions with timeouts and retries, request counting,
and server URLs without credentials in them. Each target's `client.py` builds its own client on
these; nothing here knows a CI system.

`retry` is a urllib3 Retry for 429/5xx/resets with exponential backoff and Retry-After, for
clients that do not retry on their own. A server's Retry-After is honoured only up to the
request timeout (`--timeout`): a server asking for 25 s must not stall a run that allows 2 s per
request. An unreadable value means the usual backoff, not a failed project.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from ..errors import UsageError
from ..redaction import public_url, register, url_secret

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


def retry(attempts: int, max_wait: float) -> Any:
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
                          max_retries=retry(attempts, timeout) if attempts else 0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def without_userinfo(url: str, has_credentials: bool, documented: str) -> str:
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


def connect_servers(options: Any, fleet: Any | None, purpose: str, counters: dict[str, RequestCounter],
                    wanted: Callable[[str, Any], bool] = lambda name, remote: True) -> dict[str, Any]:
    """Each configured server's client, by target name, in `server_order()`, proven by one request
    (`preflight`) before any worker starts and counted in `counters`. Credentials are all read
    before any connection, so a misconfigured server fails before a request is sent."""
    from . import TARGETS, server_order

    remotes = {name: TARGETS[name].remote for name in server_order()}
    found = {name: remote.credentials(fleet.server_url(name) if fleet else None, options)
             for name, remote in remotes.items()}
    clients: dict[str, Any] = {}
    for name, remote in remotes.items():
        if found[name] is None or not wanted(name, remote):
            continue
        clients[name] = remote.connect(found[name], options.timeout, options.jobs)
        counters[name] = RequestCounter()
        counters[name].attach(remote.session(clients[name]))
        remote.preflight(clients[name], purpose)
    return clients

