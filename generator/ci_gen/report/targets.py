"""Which projects a report covers and where their history lives: one checkout's manifest, or a
fleet's projects (the same fleet file, discovery and sharding as `sync`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError


@dataclass(frozen=True)
class Target:
    key: str  # the sync source key: stable identity for messages and sharding
    app: str  # the manifest's name
    projects: dict[str, str]  # where each server keeps its deploys (GitLab project, Jenkins job), by target


def repo_target(root: Path) -> Target:
    from ..manifest import load_manifest
    from ..workspace import MANIFEST_NAME

    path = root / MANIFEST_NAME
    if not path.is_file():
        raise UserError(f"{path}: no manifest (run in a repository with ci-gen.yaml, or use --fleet)")
    manifest = load_manifest(path)
    return _target(f"path:{root.resolve()}", manifest, None, None)


def fleet_targets(fleet: Any, backend: Any | None, discover: Any | None,
                  shard: tuple[int, int] | None) -> tuple[list[Target], list[str]]:
    """The fleet's targets and, for the projects that cannot be reported, why. Keys, discovery
    and shards are sync's, so `report --shard i/n` covers the projects `sync --shard i/n` does.
    `backend` reads manifests from the server hosting the fleet's repositories, `discover` lists
    a group's projects there (`sync.sources.fleet_sources`); both None without such a server."""
    from ..manifest import load_manifest_text
    from ..sync.sources import shard as take_shard
    from ..workspace import MANIFEST_NAME

    sources = _sources(fleet, discover)
    if shard is not None:
        sources = take_shard(sources, *shard)
    targets, problems = [], []
    for source in sources:
        text: str | None
        try:
            if source.local_path is not None:
                text = (source.local_path / MANIFEST_NAME).read_text(encoding="utf-8")
            elif backend is not None:
                text = backend.read_manifest(str(source.gitlab_path), source.ref)
            else:
                text = None
            if text is None:
                problems.append(f"{source.key}: no {MANIFEST_NAME}, skipped")
                continue
            manifest = load_manifest_text(text, MANIFEST_NAME)
            target = _target(source.key, manifest, source.gitlab_path, fleet)
        except OSError as exc:
            problems.append(f"{source.key}: {exc.strerror or exc}, skipped")
            continue
        except UserError as exc:
            problems.append(f"{source.key}: {str(exc).splitlines()[0]}, skipped")
            continue
        targets.append(target)
    return targets, problems


def _sources(fleet: Any, discover: Any | None) -> list[Any]:
    """sync's fleet sources, without a local checkout's branch and remote (only sync needs them)."""
    from ..sync.sources import fleet_sources

    try:
        return fleet_sources(fleet, None, discover, local_git=False)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _target(key: str, manifest: Any, repository: str | None, fleet: Any | None) -> Target:
    """Where each server with a history keeps this project's deploys (`Remote.history_project`)."""
    from ..targets import SERVER_TARGETS, TARGETS

    found = {name: TARGETS[name].remote.history_project(manifest, repository, fleet) for name in SERVER_TARGETS}
    return Target(key, manifest.name, {name: project for name, project in found.items() if project is not None})
