"""pytest plugin: a test that opens a connection to anything but this machine fails.

Unit tests must not reach a real network (STYLE.md: "a forgotten fake fails loudly"); servers are
the emulators on 127.0.0.1, Docker is a unix socket. The guard wraps `socket.socket.connect` and
`connect_ex` (what `create_connection`, http.client, urllib3, requests, ssl and asyncio all go
through) and `socket.getaddrinfo` (a name lookup is already traffic to a resolver): anything but a
unix socket, 127.0.0.0/8, ::1 or `localhost` raises `NonLoopbackConnection` naming the test and the
address, at once rather than after a connect timeout. Code under test that swallows the error
(a client retrying, sync recording a failed project) does not hide it: the attempt is remembered
and the test fails at teardown.

In-process only: a test's subprocesses (the CLI run as a process, gitlab-ci-local, promtool,
docker) are not patched; they get their servers' addresses from the test, all on 127.0.0.1.
Registered by `tests/conftest.py`.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any, Generator, Iterator

import pytest

_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex
_REAL_GETADDRINFO = socket.getaddrinfo

_current = ["(outside any test)"]
_attempts: list[str] = []


class NonLoopbackConnection(Exception):
    """Raised in place of a connection or name lookup that would leave this machine (not an
    OSError, so client code that handles network errors does not take it for one)."""


def take_attempts() -> list[str]:
    """The blocked attempts so far in this test, forgotten (for the guard's own tests)."""
    taken = list(_attempts)
    _attempts.clear()
    return taken


def is_loopback_host(host: str | bytes | None) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard or loopback
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    text = text.split("%", 1)[0].strip("[]").lower()
    if text in ("", "localhost") or text.endswith(".localhost"):
        return True  # "" is the wildcard a server binds to
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False  # a name: resolving it would ask a DNS server
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _block(what: str) -> None:
    message = (f"{_current[0]}: {what} leaves this machine; tests reach only 127.0.0.1, ::1 and unix sockets "
               "(use the emulators in tests/emulators/)")
    _attempts.append(message)
    raise NonLoopbackConnection(message)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        if not is_loopback_host(address[0]):
            sock.close()  # clients clean up only after an OSError: do it for them (filterwarnings=error)
            _block(f"connect to {address[0]}:{address[1]}")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _REAL_CONNECT(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _REAL_CONNECT_EX(self, address)


def _is_name(host: Any) -> bool:
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return True
    return False  # a numeric address resolves without a resolver; connecting to it is checked


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    # this machine's own name is answered from /etc/hosts, not by a DNS server
    if not is_loopback_host(host) and _is_name(host) and host != socket.gethostname():
        _block(f"name lookup of {host!r}")
    return _REAL_GETADDRINFO(host, port, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


def pytest_configure(config: pytest.Config) -> None:
    install()  # before any fixture: a session-scoped one connecting out is caught too


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    _current[0] = item.nodeid
    yield
    _current[0] = "(between tests)"


@pytest.fixture(autouse=True)
def _no_connection_leaves_the_machine() -> Iterator[None]:
    yield
    attempts = take_attempts()  # those of session fixtures set up for this test too
    if attempts:
        pytest.fail("\n".join(dict.fromkeys(attempts)), pytrace=False)
