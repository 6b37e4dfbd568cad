"""The fleet file: which projects `sync --fleet` keeps in step, on which servers, with what defaults.

Validated against `schemas/fleet.schema.json`; every problem is reported as `file:line:col`
like a manifest's, from the ruamel tree's positions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import ManifestError, Problem
from ..paths import path_escape_reason
from ..schema import schema_problems
from ..yamlio import Document, parse, read_text
from ..targets.jenkins.job_xml import DEFAULT_FLEET as DEFAULT_FLEET  # the id a fleet without one writes
from ..targets.gitlab.sync_side import GitLabDefaults
from ..targets.jenkins.placement import path_problem
from ..targets.jenkins.sync_side import JenkinsDefaults


class Origin:
    """`file:line:col` of a fleet entry, worked out on first use: locating needs the slow
    round-trip parse, which a valid fleet file (read by the C loader) otherwise never needs."""

    def __init__(self, doc: Document, path: tuple[str | int, ...]) -> None:
        self._doc, self._path, self._text = doc, path, ""

    def __str__(self) -> str:
        if not self._text:
            line, col = self._doc.position(self._path)
            self._text = f"{self._doc.file}:{line}:{col}"
        return self._text


@dataclass(frozen=True)
class FleetProject:
    gitlab: str | None
    path: str | None
    ref: str | None
    repo_url: str | None
    origin: Origin  # file:line:col of the entry, for messages


@dataclass(frozen=True)
class Discovery:
    group: str
    exclude: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True)
class Fleet:
    file: Path
    id: str  # recorded in the marker of every job the fleet writes
    urls: Mapping[str, str]  # `servers.<target>.url`, by target name
    gitlab: GitLabDefaults
    jenkins: JenkinsDefaults
    projects: tuple[FleetProject, ...]
    discover: tuple[Discovery, ...]

    def server_url(self, target: str) -> str | None:
        """`servers.<target>.url`: where the fleet's server of that CI system is."""
        return self.urls.get(target)

def load_fleet(path: Path) -> Fleet:
    """Read, validate and type a fleet file; raise ManifestError listing every problem."""
    display = str(path)
    doc = parse(read_text(path, display), display)
    problems = _validate(doc) or _path_problems(doc, path.parent)
    if problems:
        raise ManifestError(problems)
    fleet = _build(path, doc)
    problems = _duplicates(doc, fleet) + _folder(doc, fleet)
    if problems:
        raise ManifestError(problems)
    return fleet


def _duplicates(doc: Document, fleet: Fleet) -> list[Problem]:
    """A project listed twice is a mistake (which entry's `ref` wins?), not something to merge."""
    seen: dict[str, Origin] = {}
    problems = []
    for i, entry in enumerate(fleet.projects):
        key = f"gitlab:{entry.gitlab}" if entry.gitlab is not None else f"path:{entry.path}"
        if key in seen:
            line, col = doc.position(("projects", i))
            problems.append(Problem(doc.file, line, col, f"projects[{i}]",
                                    f"{key.split(':', 1)[1]} is listed twice (first at {seen[key]})"))
        seen.setdefault(key, entry.origin)
    return problems


def _folder(doc: Document, fleet: Fleet) -> list[Problem]:
    """The schema's pattern keeps out Jenkins' unsafe characters; `.`, `..` and a trailing dot
    are segments it cannot see (a URL would lose them and land on another folder)."""
    folder = fleet.jenkins.folder
    problem = path_problem(folder) if folder is not None else None
    if problem is None:
        return []
    line, col = doc.position(("defaults", "jenkins", "folder"))
    return [Problem(doc.file, line, col, "defaults.jenkins.folder", problem)]


def _validate(doc: Document) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [Problem(doc.file, 1, 1, "", "expected a mapping with 'version: 1' at the top")]
    return schema_problems(doc, "fleet")  # the manifest's checker: same wording, same fast path


def _path_problems(doc: Document, fleet_dir: Path) -> list[Problem]:
    """Local checkouts stay inside the fleet file's repository, by the manifest paths' rule
    (symlinks resolved before `..`)."""
    problems = []
    for i, project in enumerate(doc.data.get("projects", [])):
        if isinstance(project.get("path"), str):
            reason = path_escape_reason(project["path"], fleet_dir)
            if reason:
                line, col = doc.position(("projects", i, "path"))
                problems.append(Problem(doc.file, line, col, f"projects[{i}].path", reason))
    return problems


def _build(path: Path, doc: Document) -> Fleet:
    data = doc.data
    servers = data.get("servers", {})
    defaults = data.get("defaults", {})
    projects = tuple(
        FleetProject(p.get("gitlab"), p.get("path"), p.get("ref"), p.get("repo_url"),
                     Origin(doc, ("projects", i)))
        for i, p in enumerate(data.get("projects", []))
    )
    discover = tuple(
        Discovery(d["gitlab_group"], tuple(d.get("exclude", [])), Origin(doc, ("discover", i)))
        for i, d in enumerate(data.get("discover", []))
    )
    return Fleet(
        file=path,
        id=data.get("id", DEFAULT_FLEET),
        urls={name: server["url"] for name, server in servers.items() if server.get("url")},
        gitlab=GitLabDefaults(**defaults.get("gitlab", {})),
        jenkins=JenkinsDefaults(**defaults.get("jenkins", {})),
        projects=projects,
        discover=discover,
    )
