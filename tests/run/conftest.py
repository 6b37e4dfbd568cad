"""A private Docker daemon for the `ci-gen run` tests, started once per test session.

Debian's `docker.io` dockerd runs as root with the vfs storage driver and no networking of its
own (no iptables, no bridge), a socket and exec root in a temp folder and its own containerd
namespace, so it touches nothing of another daemon on the machine. Its data root persists in
~/.cache/ci-gen-tests/dockerd (override: CI_GEN_TEST_DOCKER_ROOT) so the test images are built
once (tests/run/images.py). Locally, without root or dockerd, the tests skip; under CI=true they
fail, because .ci/install-steps.sh installs docker.io, busybox-static and bash-static.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator

import pytest

from tests.run.images import tools_image
from tests.tools import require, require_module

LABEL = "dev.ci-gen.run"


def _needs_root() -> None:
    if os.geteuid() != 0:
        message = "dockerd needs root (the ci-gen run tests start their own daemon)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """DOCKER_HOST of a daemon started for this session, stopped at its end."""
    require_module("docker", "pip install 'ci-gen[run]'")
    dockerd = require("dockerd", "apt-get install docker.io")
    _needs_root()
    state = Path(tempfile.mkdtemp(prefix="ci-gen-dockerd-"))
    data_root, lock = _data_root(state)
    sock = state / "docker.sock"
    log = (state / "dockerd.log").open("wb")
    proc = subprocess.Popen(
        [dockerd, "--storage-driver", "vfs", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
         "--ip-forward=false", "--bridge=none", "--data-root", str(data_root), "--exec-root", str(state / "exec"),
         "--pidfile", str(state / "dockerd.pid"), "-H", f"unix://{sock}",
         "--containerd-namespace", "ci-gen-tests", "--containerd-plugins-namespace", "ci-gen-tests-plugins"],
        stdout=log, stderr=subprocess.STDOUT)
    host = f"unix://{sock}"
    try:
        _wait_ready(sock, proc, state / "dockerd.log")
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if lock is not None:
            lock.close()
        shutil.rmtree(state, ignore_errors=True)


def _data_root(state: Path) -> tuple[Path, IO[bytes] | None]:
    """The cached data root (its images survive the session), held with a lock: containerd keeps
    its database there, and a second test session on the same machine would wait on it until
    dockerd gives up ("timeout waiting for containerd"). A session that finds it taken gets a
    data root of its own under `state`, without the cache."""
    cached = Path(os.environ.get("CI_GEN_TEST_DOCKER_ROOT") or Path.home() / ".cache/ci-gen-tests/dockerd")
    cached.mkdir(parents=True, exist_ok=True)
    lock = (cached.parent / f"{cached.name}.lock").open("wb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return state / "data", None
    return cached, lock


def _wait_ready(socket_path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll GET /_ping on the socket (a raw request: docker's client asks /version on creation)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dockerd exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.settimeout(5)
                conn.connect(str(socket_path))
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                if conn.recv(4096).endswith(b"OK"):
                    return
            except OSError:  # not listening yet
                pass
        time.sleep(0.2)
    pytest.fail(f"dockerd did not answer within 60s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def docker_client(docker_host: str) -> Iterator[object]:
    import docker

    client = docker.DockerClient(base_url=docker_host)
    yield client
    client.close()


def _static_tools() -> tuple[Path, Path]:
    busybox = Path(require("busybox", "apt-get install busybox-static"))
    bash = Path(require("bash-static", "apt-get install bash-static"))
    return busybox, bash


@pytest.fixture(scope="session")
def tools(docker_client: object) -> str:
    """Tag of the busybox + bash + python image (built once, then cached)."""
    if not Path("/usr/bin/python3.11").is_file():
        message = "the tools image copies Debian's /usr/bin/python3.11 (apt-get install python3.11)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return tools_image(docker_client, *_static_tools())


@pytest.fixture(scope="session")
def shell_image(docker_client: object) -> str:
    """Tag of the busybox + bash image: small, for the tests that only run shell."""
    return tools_image(docker_client, *_static_tools(), python=False)


@pytest.fixture()
def run_env(docker_host: str, docker_client: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment of a `ci-gen run` against the test daemon; asserts the test left nothing behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "DOCKER_"))}
    env["DOCKER_HOST"] = docker_host
    yield env
    left = leftovers(docker_client)
    assert left == {"containers": [], "volumes": []}, f"the run left objects behind: {left}"


def leftovers(client: object) -> dict[str, list[str]]:
    filters = {"label": [LABEL]}
    containers = client.containers.list(all=True, filters=filters)  # type: ignore[attr-defined]
    volumes = client.volumes.list(filters=filters)  # type: ignore[attr-defined]
    return {"containers": [c.name for c in containers], "volumes": [v.name for v in volumes]}
