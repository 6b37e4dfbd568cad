"""The Engine API through the `docker` package: the only module of ci-gen that imports it.

`docker.from_env()` honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH like the docker
CLI. Errors are translated here: a daemon that cannot be reached is a ServerError (exit 3) of
one line; an image that is neither present nor pullable fails the job that needs it.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterator, TypeVar

import docker
import docker.errors
import docker.types
import requests.exceptions

from ..errors import ServerError, UserError
from .driver import LABEL, ContainerSpec

_UNREACHABLE = (docker.errors.DockerException, requests.exceptions.ConnectionError, OSError)
F = TypeVar("F", bound=Callable[..., Any])


def _translated(method: F) -> F:
    """A daemon that fails mid-run (gone, refusing a request) is a ServerError of one line."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except docker.errors.APIError as exc:
            raise ServerError(f"Docker daemon: {method.__name__.replace('_', ' ')}: {_reason(exc)}") from None
        except (requests.exceptions.ConnectionError, OSError) as exc:
            raise ServerError(f"Docker daemon unreachable: {_reason(exc)}") from None
    return wrapper  # type: ignore[return-value]


class ImageUnavailable(UserError):
    """Raised when a job's image is not on the daemon and cannot be pulled."""


class DockerDriver:
    def __init__(self, timeout: int = 120) -> None:
        try:
            self._client = docker.from_env(timeout=timeout)
        except _UNREACHABLE as exc:
            raise ServerError(f"cannot reach the Docker daemon: {_reason(exc)}") from None
        self._api = self._client.api

    def check(self) -> None:
        try:
            self._api.ping()
        except _UNREACHABLE as exc:
            raise ServerError(f"cannot reach the Docker daemon at {self._api.base_url}: {_reason(exc)}") from None

    @_translated
    def has_nvidia_runtime(self) -> bool:
        runtimes: dict[str, Any] = self._api.info().get("Runtimes") or {}
        return "nvidia" in runtimes

    @_translated
    def ensure_image(self, ref: str) -> None:
        try:
            self._api.inspect_image(ref)
            return
        except docker.errors.ImageNotFound:
            pass
        try:
            self._api.pull(ref)  # the client splits registry port, tag and digest itself
            self._api.inspect_image(ref)  # a pull can answer 200 and still report its error in the body
        except docker.errors.APIError as exc:
            raise ImageUnavailable(f"image {ref} is not on the Docker daemon and could not be pulled: "
                                   f"{_reason(exc)}") from None

    @_translated
    def create_volume(self, name: str, labels: tuple[tuple[str, str], ...]) -> None:
        self._api.create_volume(name=name, labels=dict(labels))

    @_translated
    def create_container(self, spec: ContainerSpec) -> str:
        mounts = [docker.types.Mount(m.target, m.source, type="bind" if m.bind else "volume", read_only=m.read_only)
                  for m in spec.mounts]
        devices = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])] if spec.gpu else None
        host = self._api.create_host_config(mounts=mounts, network_mode=spec.network_mode, device_requests=devices)
        created = self._api.create_container(
            spec.image, command=list(spec.command), environment=[f"{k}={v}" for k, v in spec.env],
            working_dir=spec.workdir, labels=dict(spec.labels), host_config=host, name=spec.name,
            entrypoint=[""] if spec.reset_entrypoint else None)
        return str(created["Id"])

    @_translated
    def put_archive(self, container: str, path: str, data: bytes) -> None:
        self._api.put_archive(container, path, data)

    @_translated
    def start(self, container: str) -> None:
        self._api.start(container)

    def logs(self, container: str) -> Iterator[bytes]:
        stream: Iterator[bytes] = self._api.logs(container, stream=True, follow=True, stdout=True, stderr=True)
        return stream

    @_translated
    def wait(self, container: str) -> int:
        return int(self._api.wait(container)["StatusCode"])

    @_translated
    def get_archive(self, container: str, path: str) -> bytes | None:
        try:
            stream, _ = self._api.get_archive(container, path)
        except docker.errors.NotFound:
            return None
        return b"".join(stream)

    @_translated
    def remove_container(self, container: str) -> None:
        try:
            self._api.remove_container(container, force=True, v=True)
        except docker.errors.NotFound:
            pass

    @_translated
    def remove_volume(self, name: str) -> None:
        try:
            self._api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            pass

    @_translated
    def clean(self) -> tuple[int, int, int]:
        """Remove every container, volume and network that carries a run's label."""
        filters = {"label": [LABEL]}
        containers = self._api.containers(all=True, filters=filters)
        for item in containers:
            self.remove_container(item["Id"])
        volumes = self._api.volumes(filters=filters).get("Volumes") or []
        for item in volumes:
            self.remove_volume(item["Name"])
        networks = self._api.networks(filters=filters)
        for item in networks:
            self._api.remove_network(item["Id"])
        return len(containers), len(volumes), len(networks)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
