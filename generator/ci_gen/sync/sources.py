"""Which projects a run covers: one checkout, or a fleet file's explicit projects, discovered
groups (through the target hosting them: `targets/gitlab/discovery.py`) and local checkouts; then,
for sharded runs, this shard's share of them."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Callable

from .fleet import Fleet
from ..targets.sync_data import Source


def repo_source(path: Path) -> Source:
    """`ci-gen sync` inside a checkout: the manifest is read from disk."""
    path = path.resolve()
    return Source(key=f"path:{path}", origin=str(path), local_path=path,
                  ref=_git(path, "symbolic-ref", "--short", "HEAD"),
                  repo_url=_git(path, "config", "--get", "remote.origin.url"))


Discover = Callable[[str, tuple[str, ...], object], list[Source]]


def fleet_sources(fleet: Fleet, gitlab_url: str | None, discover: Discover | None,
                  local_git: bool = True) -> list[Source]:
    """Explicit entries first (they win over discovery), in file order; then discovered ones.

    `discover(group, exclude, origin)`: the projects of a group on the server hosting the
    fleet's repositories (`Remote.discover`); None when no such server is configured.
    `local_git=False` skips asking each local checkout for its branch and remote (two `git`
    processes per checkout, seconds over a large fleet) where only the manifest is wanted."""
    found: dict[str, Source] = {}
    for entry in fleet.projects:
        if entry.gitlab is not None:
            url = entry.repo_url or (f"{gitlab_url}/{entry.gitlab}.git" if gitlab_url else None)
            source = Source(key=f"gitlab:{entry.gitlab}", origin=entry.origin, gitlab_path=entry.gitlab,
                            ref=entry.ref, repo_url=url)
        else:
            checkout = (fleet.file.parent / str(entry.path)).resolve()
            source = Source(key=f"path:{entry.path}", origin=entry.origin, local_path=checkout,
                            ref=entry.ref or (_git(checkout, "symbolic-ref", "--short", "HEAD") if local_git else None),
                            repo_url=entry.repo_url
                            or (_git(checkout, "config", "--get", "remote.origin.url") if local_git else None))
        found.setdefault(source.key, source)
    for discovery in fleet.discover:
        if discover is None:
            raise ValueError(f"{discovery.origin}: discovery needs a GitLab server (servers.gitlab.url "
                             "or CI_GEN_GITLAB_URL)")
        for source in discover(discovery.group, discovery.exclude, discovery.origin):
            found.setdefault(source.key, source)
    return list(found.values())


def shard(sources: list[Source], index: int, count: int) -> list[Source]:
    """This shard's projects (index is 1-based, like GitLab's CI_NODE_INDEX). A stable hash of the
    key, not the position, so adding one project does not reshuffle the others."""
    def bucket(source: Source) -> int:
        return int(hashlib.sha256(source.key.encode("utf-8")).hexdigest()[:8], 16) % count

    return [s for s in sources if bucket(s) == index - 1]


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
