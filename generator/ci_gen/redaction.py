"""What every message passes on its way out of ci-gen: known secrets and URL userinfo removed,
and text that a server sent made safe for a terminal and for XML.

Secrets are registered where they are loaded (each target's `credentials.py` and `client.py`,
`targets/transport.py`, masked GitLab variables). The writers call `scrub` on everything they
print or write: the CLI's error boundary, the sync table, diffs, JSON report and JUnit file,
and `lint --server`. So a server that echoes a token in an error body, or a URL that carries
`user:password@`, never reaches an output, whatever the code path that produced the message.
"""
from __future__ import annotations

import base64
import re
import threading
from typing import Any
from urllib.parse import quote, unquote

MASK = "***"
# Shorter secrets are masked only as whole words, so a one-letter password cannot blank out
# every "a" of a message (a secret that short is no protection anyway).
_WHOLE_WORD_BELOW = 4

# ANSI escape sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks) up to BEL or ST,
# and two-character ESC sequences. Then every other control character but tab and newline
# (a carriage return can overwrite what was printed), C1 controls, lone surrogates and the two
# non-characters XML 1.0 forbids, and the bidirectional overrides that reorder what is shown.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
# scheme://userinfo@ -- up to the last '@' before the path, so a password with a raw '@' goes too
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s?#]*)@")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(*values: str | None) -> None:
    """Remember secret values (tokens, passwords) so that no output shows them, also in the
    percent-encoded form a URL or a form body would carry."""
    global _pattern
    with _lock:
        before = len(_secrets)
        for value in values:
            if value and value.strip():
                _secrets.update({value, quote(value, safe=""), unquote(value)})
        if len(_secrets) != before:
            _pattern = None


def register_login(user: str | None, secret: str | None) -> None:
    """A user's secret, and the HTTP Basic credentials built from it (a server or proxy may echo
    the Authorization header)."""
    register(secret)
    if user and secret:
        register(base64.b64encode(f"{user}:{secret}".encode("utf-8")).decode("ascii"))


def scrub(text: str) -> str:
    """`text` as it may leave the program: terminal controls removed, URL userinfo stripped,
    every registered secret replaced by `***`."""
    text = _UNSAFE.sub("", _ANSI.sub("", text))
    text = _USERINFO.sub(r"\1", text)
    pattern = _secret_pattern()
    return pattern.sub(MASK, text) if pattern is not None else text


def scrub_data(data: Any) -> Any:
    """`scrub` applied to every string in JSON-able data."""
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, dict):
        return {key: scrub_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_data(value) for value in data]
    return data


def public_url(url: str) -> str:
    """`url` without `user:password@`: the form that may be stored on a server or printed."""
    return _USERINFO.sub(r"\1", url)


def url_secret(url: str) -> str | None:
    """The secret part of a URL's userinfo: the password of `user:password@`, or the whole of a
    `token@`; None when the URL has none."""
    found = _USERINFO.search(url)
    if found is None or not found.group(2):
        return None
    user, colon, password = found.group(2).partition(":")
    return unquote(password) if colon else unquote(user)


def _secret_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            parts = []
            for value in sorted(_secrets, key=lambda v: (-len(v), v)):  # longest first
                escaped = re.escape(value)
                parts.append(escaped if len(value) >= _WHOLE_WORD_BELOW else rf"(?<!\w){escaped}(?!\w)")
            _pattern = re.compile("|".join(parts))
        return _pattern
