"""The python-gitlab client ci-gen talks to GitLab with: timeouts, a pooled session, retries.

python-gitlab retries 429 (honouring Retry-After) and, with `retry_transient_errors`, 5xx and
dropped connections, up to 10 times (its default) with its own backoff. What the server asks it
to wait (Retry-After, or GitLab's RateLimit-Reset) is capped at the request timeout.
"""
from __future__ import annotations

from typing import Any, Callable

from ...errors import ServerError, UsageError, UserError
from ...redaction import public_url, register
from ..transport import pooled_session
from .credentials import GitLabCredentials


def gitlab_client(creds: GitLabCredentials, timeout: float, pool: int) -> Any:
    import gitlab

    session = pooled_session(pool, timeout)
    session.hooks["response"].append(capped_retry_after(timeout))
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


def preflight(client: Any) -> None:
    """One request that proves the server is there and takes the token, so an outage or a bad
    token is one clear line instead of one failure per project."""
    import gitlab
    import requests

    try:
        client.http_get("/user", max_retries=2)
    except gitlab.GitlabAuthenticationError:
        raise UserError(f"GitLab at {client.url} rejected the token (401); check CI_GEN_GITLAB_TOKEN") from None
    except (gitlab.GitlabError, requests.RequestException) as exc:
        raise ServerError(f"GitLab at {client.url} cannot be reached: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from None


def capped_retry_after(max_wait: float) -> Callable[..., Any]:
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
