"""What every CI system plugs in: the protocols a target folder implements, and shared types.

A target is a package under `targets/` whose module exposes `render` and `lint` (see
`TargetModule`); its registry entry (`targets.Target`) is plain data that imports the package
only when asked for it.
`Backend` is the shape of a server sync, which the sync engine loops over.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..plan import Job, Pipeline


Action = Literal["create", "update", "delete", "unchanged"]
NOT_ENFORCED = "not enforced:"  # starts a change's detail when the server cannot enforce a setting


@dataclass
class Change:
    """One object on one server and what the plan does to it."""

    server: Literal["jenkins", "gitlab"]
    kind: str  # job, folder, file, variable, secret, schedule, merge-request, commit
    name: str
    action: Action
    before: str | None = None  # text for --diff (already redacted where it holds secrets)
    after: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"server": self.server, "kind": self.kind, "name": self.name,
                                "action": self.action}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class LintResult:
    """One file's offline lint: problems as `file: where: message` lines."""

    file: str
    problems: tuple[str, ...]
    skipped: str | None = None  # why this check could not run here

    @property
    def ok(self) -> bool:
        return not self.problems


class TargetModule(Protocol):
    """What `targets/<name>/__init__.py` exports."""

    def render(self, plan: Pipeline, manifest: Manifest) -> str:
        """The plan as this CI system's file. Reads only this target's own manifest settings
        (runner tags or labels by role, credential ids by purpose); escapes every value."""

    def lint(self, files: dict[str, str]) -> list[LintResult]:
        """Offline lint of rendered or committed files (name -> text) with the real validator."""


class Backend(Protocol):
    """A server that ci-gen keeps in step with the rendered files (`sync/backends.py` holds the
    Jenkins and GitLab ones; `sync/engine.py` loops over them and names none).

    Per project: `wants` (has this server work for it?), `needs_files` (does that work need the
    rendered files?), `attach` (build its per-project target), `has`. Per run: `prepare` reads
    fleet-wide state once; `plan` compares one project with it (an object with `changes` and
    `problem`); `apply` writes a plan; `prune` removes what ci-gen owns and no project claims."""

    name: str

    def describe_error(self, exc: BaseException) -> tuple[str, str]: ...

    def wants(self, project: Any) -> bool: ...

    def needs_files(self, project: Any) -> bool: ...

    def attach(self, project: Any) -> None: ...

    def has(self, project: Any) -> bool: ...

    def prepare(self, projects: list[Any]) -> Any: ...

    def plan(self, project: Any, state: Any) -> Any: ...

    def apply(self, project: Any, plan: Any) -> None: ...

    def prune(self, projects: list[Any], state: Any) -> list[Any]: ...


def job_environment(job: Job) -> str | None:
    """The deployment environment whose settings a job reads: a deploy's own, else the one whose
    credential it holds (verify holds the kubeconfig). CI systems hand an environment's secrets
    (GitHub environment secrets, GitLab environment-scoped variables, a CircleCI context) only to
    jobs that name it."""
    return job.environment or next((c.environment for c in job.credentials if c.environment), None)


def gate_environment(job: Job) -> str | None:
    """The environment whose approvers stand for a gated job: the one it reads or deploys, else,
    for the infrastructure apply, the one it changes. None for an ungated job, or a gated job
    no environment is known for (a renderer whose gate lives on an environment refuses that)."""
    if job.gate is None:
        return None
    return job_environment(job) or dict(job.env).get("CI_GEN_INFRA_ENV")
