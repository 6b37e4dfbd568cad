"""GitLab's side of a sync run (`targets.base.Backend`): the project's generated files (a commit or
merge request), variables, schedules and protected environments. The sync engine loops over the
sides; this one drives `server.py`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import UserError
from ..sync_data import Guard, ProjectResult, ServerPlan, Work
from .server import GitLabBackend, GitLabTarget
from .server import translate_error as gitlab_error


@dataclass(frozen=True)
class GitLabDefaults:
    """A fleet file's `defaults.gitlab`."""

    mode: str = "merge-request"
    branch: str = "ci-gen/sync"
    lint: bool = False


class GitLabSide:
    """The project's generated files (a commit or merge request), variables, schedules and
    protected environments on its GitLab project."""

    name = "gitlab"

    def __init__(self, backends: dict[str, Any], options: Any, fleet: Any | None, fleet_id: str,
                 guard: Guard) -> None:
        self.client: GitLabBackend = backends["gitlab"]
        self.defaults: GitLabDefaults = fleet.gitlab if fleet else GitLabDefaults()
        self.options = options

    translate_error = staticmethod(gitlab_error)

    def wants(self, work: Work) -> bool:
        return (work.source.gitlab_path or work.manifest.gitlab.project) is not None

    def why_not(self, work: Work) -> str:
        return ("no GitLab project: set gitlab.project in ci-gen.yaml (e.g. ml/fraud-detector)"
                + ("" if work.source.repo_url else "; this checkout has no git remote either"))

    def needs_files(self, work: Work) -> bool:
        return True

    def attach(self, work: Work) -> None:
        d = self.defaults
        path = work.source.gitlab_path or work.manifest.gitlab.project
        work.attached[self.name] = GitLabTarget(path, work.source.ref, work.source.default_branch,
                                                self.options.gitlab_mode or d.mode, d.branch, d.lint)

    def has(self, work: Work) -> bool:
        return work.attached.get(self.name) is not None

    def prepare(self, works: list[Work]) -> None:
        return None  # each project is planned on its own

    def plan(self, work: Work, state: None) -> ServerPlan | None:
        target: GitLabTarget = work.attached[self.name]
        plan = self.client.plan(target, work.files, work.manifest, self.options.diff)
        problem = None
        if plan.variables is not None and plan.variables.missing_secrets:
            names = ", ".join(plan.variables.missing_secrets)
            problem = UserError(f"secrets not set in GitLab project {target.path}: {names} "
                                "(ci-gen never writes secrets; add them in Settings > CI/CD > Variables)")
        return ServerPlan(plan.changes, plan, problem)

    def apply(self, work: Work, plan: ServerPlan) -> None:
        self.client.apply(plan.detail, work.files, work.manifest)

    def prune(self, works: list[Work], state: None) -> list[ProjectResult]:
        return []  # ci-gen never deletes a GitLab project's files, variables or schedules wholesale


if TYPE_CHECKING:
    from ..base import Backend

    def _conforms(side: GitLabSide) -> Backend:  # mypy proves the side is a `Backend`
        return side
