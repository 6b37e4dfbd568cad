"""The network guard (tests/network_guard.py): a connection off this machine fails at once with
the guard's error naming the test and the address; loopback and unix sockets work as before."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from tests.network_guard import NonLoopbackConnection, is_loopback_host, take_attempts

TEST_NET = "192.0.2.1"  # RFC 5737 documentation range: routed nowhere, a real connect would hang
REPO = Path(__file__).resolve().parent.parent


def _raw_connect() -> None:
    with socket.socket() as sock:
        sock.settimeout(30)
        sock.connect((TEST_NET, 9))


def _connect_ex() -> None:
    with socket.socket() as sock:
        sock.settimeout(30)
        sock.connect_ex((TEST_NET, 9))


def _ipv6() -> None:
    with socket.socket(socket.AF_INET6) as sock:
        sock.settimeout(30)
        sock.connect(("2001:db8::1", 443))


def _create_connection() -> None:
    socket.create_connection((TEST_NET, 443), timeout=30).close()


def _urllib() -> None:
    urllib.request.urlopen(f"http://{TEST_NET}/", timeout=30)


def _requests() -> None:
    import requests

    requests.get(f"http://{TEST_NET}:8080/api/json", timeout=30)


def _name_lookup() -> None:
    socket.getaddrinfo("gitlab.example.com", 443)


WAYS: dict[str, Callable[[], None]] = {"connect": _raw_connect, "connect_ex": _connect_ex, "ipv6": _ipv6,
                                       "create_connection": _create_connection, "urllib": _urllib,
                                       "requests": _requests, "name lookup": _name_lookup}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_a_connection_off_the_machine_fails_with_the_guards_error(way: str, request: pytest.FixtureRequest) -> None:
    with pytest.raises(NonLoopbackConnection) as blocked:
        WAYS[way]()
    message = str(blocked.value)
    assert message.startswith(f"{request.node.nodeid}: ")
    assert (TEST_NET in message or "2001:db8::1" in message or "gitlab.example.com" in message), message
    assert take_attempts() == [message]  # recorded; taken here so this test itself passes


def _echo_once(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn:
        conn.sendall(conn.recv(16))


@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "localhost"),
                                          (socket.AF_INET6, "::1")])
def test_loopback_connections_work(family: socket.AddressFamily, host: str) -> None:
    try:
        server = socket.socket(family)
        server.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        server.listen(1)
        port = server.getsockname()[1]
        thread = threading.Thread(target=_echo_once, args=(server,))
        thread.start()
        with socket.create_connection((host, port), timeout=10) as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        thread.join(10)
    assert take_attempts() == []


def test_unix_sockets_work(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        thread = threading.Thread(target=_echo_once, args=(server,))
        thread.start()
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(path)
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        thread.join(10)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
                                            ("::ffff:127.0.0.1", True), ("localhost", True),
                                            ("api.localhost", True), (b"127.0.0.1", True), (TEST_NET, False),
                                            ("10.0.0.1", False), ("::ffff:192.0.2.1", False),
                                            ("localhost.example.com", False), ("gitlab.com", False)])
def test_what_counts_as_this_machine(host: str | bytes, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_a_test_that_swallows_the_error_still_fails(tmp_path: Path) -> None:
    (tmp_path / "test_swallow.py").write_text(
        "import socket\n\n"
        "def test_retries_quietly():\n"
        "    try:\n"
        f"        socket.create_connection(('{TEST_NET}', 443), timeout=30)\n"
        "    except Exception:\n"
        "        pass  # a client that turns every failure into 'server unreachable'\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.network_guard",
                           "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path / "test_swallow.py")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 passed, 1 error" in proc.stdout, proc.stdout
    assert f"test_swallow.py::test_retries_quietly: connect to {TEST_NET}:443 leaves this machine" in proc.stdout
