"""The repository and the artifacts, as the tar streams the Engine API copies in and out.

The repository is copied, never mounted (unless `--bind`): the files git would check out
(tracked and untracked-but-not-ignored; every file outside a git repository, `.git` excepted),
plus the generated files of `ci-gen render` that are missing on disk, so that a repository whose
`.ci-gen/` is not committed yet still has its step scripts. An artifact is what a job left at its
plan's artifact paths, re-rooted at the workspace and checked member by member: a container's
tar is untrusted, so a member that would land outside the workspace is dropped.
"""
from __future__ import annotations

import io
import posixpath
import subprocess
import tarfile
from pathlib import Path


def repository_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of the files a checkout would hold."""
    if (root / ".git").exists():
        try:
            proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "-co", "--exclude-standard"],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            proc = None
        if proc is not None and proc.returncode == 0:
            return sorted({p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0")
                           if p and ((root / p).is_file() or (root / p).is_symlink())})
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if ".git" not in p.relative_to(root).parts and (p.is_file() or p.is_symlink()))


def repository_tar(root: Path, extra: dict[str, bytes]) -> bytes:
    """A tar of the checkout, with `extra` files (path -> bytes) added where the disk has none."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        names = repository_files(root)
        for name in names:
            tar.add(root / name, arcname=name, recursive=False)
        present = set(names)
        for name, data in sorted(extra.items()):
            if name not in present:
                _add_bytes(tar, name, data, 0o755 if "/steps/" in f"/{name}" else 0o644)
    return buffer.getvalue()


def file_tar(path: str, data: bytes, mode: int = 0o600) -> bytes:
    """A tar holding one file at `path` (relative to where it is extracted)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add_bytes(tar, path, data, mode)
    return buffer.getvalue()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def reroot(archive: bytes, path: str) -> bytes:
    """The tar the API returned for `<workspace>/<path>` (its members named from the basename of
    `path`) with member names made relative to the workspace. Only members under `path` are kept:
    absolute names, `..` that leave it, devices and links pointing out of the workspace are dropped."""
    parent = posixpath.dirname(path)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive)) as source, tarfile.open(fileobj=out, mode="w") as target:
        for member in source.getmembers():
            if member.name.startswith("/"):
                continue
            name = posixpath.normpath(posixpath.join(parent, member.name))
            if not (name == path or name.startswith(path + "/")) or not (member.isfile() or member.isdir() or member.issym()):
                continue
            if member.issym() and not _inside(posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))):
                continue
            member.name = name
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def _inside(name: str) -> bool:
    return bool(name) and name != "." and not name.startswith(("/", "../")) and name != ".."


def merge(archives: list[bytes]) -> bytes:
    """One tar of several (later members win when extracted)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as target:
        for archive in archives:
            with tarfile.open(fileobj=io.BytesIO(archive)) as source:
                for member in source.getmembers():
                    target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def read_member(archive: bytes, name: str) -> bytes | None:
    """The content of file `name` in a workspace-relative tar, or None."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile() and posixpath.normpath(member.name) == name:
                handle = tar.extractfile(member)
                return handle.read() if handle else None
    return None


def extract(archive: bytes, directory: Path) -> None:
    """Unpack a workspace-relative tar under `directory` (tarfile's `data` filter: no escape)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
