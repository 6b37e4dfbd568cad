"""Test images built from what the machine has, because no image can be pulled here.

`tools_image` builds, through the Docker Engine API from an in-memory tar context
(`FROM scratch` + `COPY rootfs/ /`), an image holding:

- Debian's `busybox-static` as /bin/busybox with a symlink per applet (sh, sed, env, ...), and
  /usr/bin/env, so `#!/usr/bin/env ...` shebangs resolve;
- Debian's `bash-static` as /bin/bash (the bash steps);
- for the `tools` image (not the small `shell` one), the machine's /usr/bin/python3.11 with the shared libraries `ldd` names for it and for its
  lib-dynload modules, and its standard library without tests, tkinter, idle and site-packages
  (the Python steps need only the standard library in dry-run mode).

The tag carries a digest of the context, so an image is built once per daemon data root and
reused by later test sessions (the data root persists under ~/.cache, see conftest.py); a change
of any input file gives a new tag.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
_SKIP = re.compile(r"(^|/)(test|tests|idlelib|tkinter|turtledemo|ensurepip|lib2to3|pydoc_data|__pycache__|"
                   r"site-packages|dist-packages|config-3\.11[^/]*)(/|$)")


def _libraries(binaries: list[Path]) -> set[Path]:
    libs: set[Path] = set()
    for binary in binaries:
        proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
        for match in re.finditer(r"(/\S+\.so[^\s]*)", proc.stdout):
            libs.add(Path(match.group(1)))
    return libs


def rootfs_files(busybox: Path, bash: Path, python: bool) -> dict[str, Path]:
    """Image path -> host file."""
    files = {"bin/busybox": busybox, "bin/bash": bash}
    if python:
        files["usr/bin/python3.11"] = PYTHON
        modules = []
        for path in STDLIB.rglob("*"):
            rel = path.relative_to(STDLIB).as_posix()
            if path.is_file() and not _SKIP.search(rel):
                files[f"usr/lib/python3.11/{rel}"] = path
                if path.suffix == ".so":
                    modules.append(path)
        for lib in _libraries([PYTHON, *modules]):
            files[str(lib).lstrip("/")] = lib
            files[str(lib.resolve()).lstrip("/")] = lib.resolve()
    return files


def context_tar(busybox: Path, bash: Path, python: bool) -> tuple[bytes, str]:
    """The build context and a digest of everything in it."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    buffer, digest = io.BytesIO(), hashlib.sha256()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        dockerfile = b'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\nCMD ["sh"]\n'
        _add(tar, "Dockerfile", dockerfile, 0o644)
        digest.update(dockerfile)
        for name, source in sorted(rootfs_files(busybox, bash, python).items()):
            data = source.read_bytes()
            _add(tar, f"rootfs/{name}", data, 0o755 if os.access(source, os.X_OK) else 0o644)
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        links = {f"bin/{a}": "busybox" for a in applets if a not in ("bash", "busybox")}
        links.update({"usr/bin/env": "/bin/busybox", "usr/bin/python3": "python3.11", "bin/python3": "/usr/bin/python3.11"})
        for name, target in sorted(links.items()):
            info = tarfile.TarInfo(f"rootfs/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
            digest.update(f"{name}->{target}".encode())
        for directory in ("tmp", "root", "run", "builds"):
            info = tarfile.TarInfo(f"rootfs/{directory}")
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
    return buffer.getvalue(), digest.hexdigest()[:16]


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def tools_image(client: object, busybox: Path, bash: Path, python: bool = True) -> str:
    """The tag of the tools image on `client`'s daemon, built when missing. Without `python` it
    is a few MB, so each container of a test (vfs copies the image per container) starts fast."""
    import docker.errors

    context, digest = context_tar(busybox, bash, python)
    tag = f"ci-gen-test/{'tools' if python else 'shell'}:{digest}"
    try:
        client.images.get(tag)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True,  # type: ignore[attr-defined]
                            forcerm=True, network_mode="none")
    return tag
