"""The Engine API operations a run needs, behind one Protocol, and `--dry-run`'s printout of them.

The runner speaks only to a `Driver`; `docker_driver.DockerDriver` makes the calls on a daemon,
`DryRunDriver` prints each call as the HTTP request the Engine API would receive (secret values
masked) and pretends it succeeded, so a dry run needs no daemon and no `docker` package.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

from ..redaction import scrub

LABEL = "dev.ci-gen.run"  # every object a run creates carries it, valued with the run id
JOB_LABEL = "dev.ci-gen.job"


@dataclass(frozen=True)
class Mount:
    source: str  # a volume name, or a host path when `bind`
    target: str
    bind: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    workdir: str
    mounts: tuple[Mount, ...]
    labels: tuple[tuple[str, str], ...]
    network_mode: str
    gpu: bool = False
    reset_entrypoint: bool = False  # GitLab's `entrypoint: [""]` for the built app image
    secret_names: frozenset[str] = field(default_factory=frozenset)


class Driver(Protocol):
    def check(self) -> None: ...
    def has_nvidia_runtime(self) -> bool: ...
    def ensure_image(self, ref: str) -> None: ...
    def create_volume(self, name: str, labels: tuple[tuple[str, str], ...]) -> None: ...
    def create_container(self, spec: ContainerSpec) -> str: ...
    def put_archive(self, container: str, path: str, data: bytes) -> None: ...
    def start(self, container: str) -> None: ...
    def logs(self, container: str) -> Iterator[bytes]: ...
    def wait(self, container: str) -> int: ...
    def get_archive(self, container: str, path: str) -> bytes | None: ...
    def remove_container(self, container: str) -> None: ...
    def remove_volume(self, name: str) -> None: ...
    def clean(self) -> tuple[int, int, int]: ...


def create_body(spec: ContainerSpec) -> dict[str, object]:
    """The JSON body of `POST /containers/create` for `spec` (what the printout shows)."""
    env = [f"{k}={'***' if k in spec.secret_names else v}" for k, v in spec.env]
    host: dict[str, object] = {
        "NetworkMode": spec.network_mode,
        "Mounts": [{"Type": "bind" if m.bind else "volume", "Source": m.source, "Target": m.target,
                    "ReadOnly": m.read_only} for m in spec.mounts],
    }
    if spec.gpu:
        host["DeviceRequests"] = [{"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}]
    body: dict[str, object] = {"Image": spec.image, "Cmd": list(spec.command), "Env": env,
                               "WorkingDir": spec.workdir, "Labels": dict(spec.labels), "HostConfig": host}
    if spec.reset_entrypoint:
        body["Entrypoint"] = [""]
    return body


class DryRunDriver:
    """Prints every Engine API request a run would make; touches no daemon."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self._echo = echo

    def _call(self, method: str, path: str, body: object = None) -> None:
        text = f"{method} {path}"
        if body is not None:
            text += " " + json.dumps(body, sort_keys=True, separators=(",", ":"))
        self._echo(scrub(text))

    def check(self) -> None:
        self._call("GET", "/_ping")

    def has_nvidia_runtime(self) -> bool:
        self._call("GET", "/info")
        return True

    def ensure_image(self, ref: str) -> None:
        self._call("GET", f"/images/{ref}/json")

    def create_volume(self, name: str, labels: tuple[tuple[str, str], ...]) -> None:
        self._call("POST", "/volumes/create", {"Name": name, "Labels": dict(labels)})

    def create_container(self, spec: ContainerSpec) -> str:
        self._call("POST", f"/containers/create?name={spec.name}", create_body(spec))
        return spec.name

    def put_archive(self, container: str, path: str, data: bytes) -> None:
        self._call("PUT", f"/containers/{container}/archive?path={path}", {"tar_bytes": len(data)})

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{container}/start")

    def logs(self, container: str) -> Iterator[bytes]:
        self._call("GET", f"/containers/{container}/logs?follow=1&stdout=1&stderr=1")
        return iter(())

    def wait(self, container: str) -> int:
        self._call("POST", f"/containers/{container}/wait")
        return 0

    def get_archive(self, container: str, path: str) -> bytes | None:
        self._call("GET", f"/containers/{container}/archive?path={path}")
        return None

    def remove_container(self, container: str) -> None:
        self._call("DELETE", f"/containers/{container}?force=1&v=1")

    def remove_volume(self, name: str) -> None:
        self._call("DELETE", f"/volumes/{name}")

    def clean(self) -> tuple[int, int, int]:
        label = json.dumps({"label": [LABEL]}, separators=(",", ":"))
        for kind in ("containers", "volumes", "networks"):
            self._call("GET", f"/{kind}/json?filters={label}")
        return (0, 0, 0)
