"""The data a sync run passes between its engine (`sync/engine.py`) and each target's side
(`targets/<name>/sync_side.py`): sources, per-project work, planned changes and results.
Defined here, below both, so that a target never imports the sync package."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from ..errors import CiGenError, ErrorKind, error_kind
from .base import Change

Status = Literal["created", "updated", "unchanged", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("created", "updated", "unchanged", "failed", "skipped")


@dataclass(frozen=True)
class Source:
    """Where one project's manifest comes from and which repository it describes."""

    key: str  # stable identity: "gitlab:<path>" or "path:<dir>"; used for sharding and reports
    origin: object  # str() gives "fleet.yaml:12:5" (computed lazily) or the checkout, for messages
    gitlab_path: str | None = None  # GitLab project holding the manifest (read through the API)
    ref: str | None = None  # branch to read from and write to; None: the default branch
    default_branch: str | None = None  # known from group discovery, saves a request
    repo_url: str | None = None  # clone URL for Jenkins' SCM definition
    local_path: Path | None = None  # a local checkout
    discovered: bool = False  # found by group discovery: no manifest means "skipped", not failed


@dataclass
class ProjectResult:
    """What happened to one project; failures are data so one bad project stops nothing."""

    key: str
    name: str = ""
    changes: list[Change] = field(default_factory=list)
    error: str | None = None  # the failure's text, as reports show it
    failure: CiGenError | None = None  # the failure itself: its class says whose it is
    skipped: str | None = None  # reason
    seconds: float = 0.0

    @property
    def status(self) -> Status:
        if self.error is not None:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        actions = {c.action for c in self.changes} - {"unchanged"}
        if not actions:
            return "unchanged"
        return "created" if actions == {"create"} else "updated"

    @property
    def error_kind(self) -> ErrorKind | None:
        """"user", "server" or "internal" from the failure's class; None when nothing failed."""
        return None if self.failure is None else error_kind(self.failure)

    def fail(self, error: CiGenError) -> None:
        """Record `error` unless an earlier one is: the first cause is kept, later ones are
        usually its consequences."""
        if self.failure is None:
            self.failure = error
            self.error = str(error) or type(error).__name__

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]


@dataclass
class Work:
    """One project of a sync run, as the sides fill it in."""

    source: Source
    result: ProjectResult
    manifest: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    attached: dict[str, Any] = field(default_factory=dict)  # each side's per-project target, by side name


@dataclass
class ServerPlan:
    """One project's planned changes on one server, and what applying them needs."""

    changes: list[Change]
    detail: Any = None  # the server's own plan object
    problem: CiGenError | None = None  # fails the project even in a dry run (a missing secret)


Translate = Callable[[BaseException], CiGenError]
Guard = Callable[[ProjectResult, Callable[[], None], Translate], None]
"""Runs one step of one project and records its failure on the project's result."""
