"""The servers one sync run writes to, each behind the same steps the engine loops over.

A server side (`targets.base.Backend`) says which projects it has work for (`wants`, and if not,
`why_not`) and whether that work needs the rendered files (`needs_files`), builds its
per-project target (`attach`), reads fleet-wide state once (`prepare`), plans one project
(`plan`), applies the plan (`apply`) and removes what ci-gen owns and no project claims any more
(`prune`). Each drives its target's planner (`targets/<name>/server.py`, built by its
`remote.backend`). The engine never names a server: it loops over `SIDES`, in this order.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import CiGenError, UserError
from ..redaction import public_url
from ..targets.gitlab.server import GitLabBackend, GitLabTarget
from ..targets.gitlab.server import translate_error as gitlab_error
from ..targets.jenkins.job_xml import JobSpec, marker_project
from ..targets.jenkins.multibranch import resolve as resolve_multibranch
from ..targets.jenkins.server import Item, JenkinsBackend, JenkinsState, missing_folders, plugins_for
from ..targets.jenkins.server import translate_error as jenkins_error
from .fleet import Fleet, GitLabDefaults, JenkinsDefaults
from .options import SyncOptions
from ..targets.jenkins.placement import inside, place
from .records import Change, ProjectResult, Source

@dataclass
class Work:
    """One project of a sync run, as the sides fill it in."""

    source: Source
    result: ProjectResult
    manifest: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    job: JobSpec | None = None
    gitlab: GitLabTarget | None = None


Guard = Callable[[ProjectResult, Callable[[], None], Callable[[BaseException], CiGenError]], None]


@dataclass
class ServerPlan:
    """One project's planned changes on one server, and what applying them needs."""

    changes: list[Change]
    detail: Any = None  # the server's own plan object
    problem: CiGenError | None = None  # fails the project even in a dry run (a missing secret)
    extra: dict[str, Any] = field(default_factory=dict)


class JenkinsSide:
    """One Jenkins job per project, planned fleet-wide (one tree read, duplicate claims, folders)."""

    name = "jenkins"

    def __init__(self, backends: dict[str, Any], options: SyncOptions, fleet: Fleet | None, fleet_id: str,
                 guard: Guard) -> None:
        self.client: JenkinsBackend = backends["jenkins"]
        self.defaults = fleet.jenkins if fleet else JenkinsDefaults()
        # A job that reads the Jenkinsfile from git asks the project's GitLab for its default branch.
        self.gitlab: GitLabBackend | None = backends.get("gitlab")
        self.options, self.fleet_id, self.guard = options, fleet_id, guard

    translate_error = staticmethod(jenkins_error)

    def wants(self, work: Work) -> bool:
        return "jenkins" in work.manifest.targets

    def why_not(self, work: Work) -> str:
        return "no Jenkins job: targets: in ci-gen.yaml leaves out jenkins"

    def needs_files(self, work: Work) -> bool:
        # An SCM job's config does not depend on the files: Jenkins reads the Jenkinsfile from git.
        if work.manifest.jenkins.kind == "multibranch":
            return False  # every branch's own Jenkinsfile: nothing to embed
        return (self.options.jenkins_definition or self.defaults.definition) == "inline"

    def attach(self, work: Work) -> None:
        work.job = self._job_spec(work)

    def has(self, work: Work) -> bool:
        return work.job is not None

    def _job_spec(self, work: Work) -> JobSpec:
        manifest, source, d = work.manifest, work.source, self.defaults
        name = place(d.folder, manifest.jenkins.folder, manifest.name)
        definition = self.options.jenkins_definition or d.definition
        crons = tuple(s.cron for s in manifest.schedules)
        creds = d.credentials_id or manifest.jenkins.credential("git") or ""
        if manifest.jenkins.kind == "multibranch":
            # Schedules run from each branch's Jenkinsfile (its `triggers`); the project itself
            # has only its scan trigger.
            gitlab_path = source.gitlab_path or manifest.gitlab.project
            try:
                branching = resolve_multibranch(manifest.jenkins.multibranch, gitlab_path,
                                                public_url(source.repo_url) if source.repo_url else None,
                                                creds, d.script_path)
            except UserError as exc:
                raise UserError(f"{source.origin}: {exc}") from None
            return JobSpec(name, source.key, self.fleet_id, "scm", credentials_id=creds,
                           script_path=d.script_path, multibranch=branching)
        if definition == "inline":
            return JobSpec(name, source.key, self.fleet_id, "inline",
                           script=work.files["Jenkinsfile"].decode("utf-8"), crons=crons)
        if not source.repo_url:
            raise UserError(f"{source.origin}: no repository URL for the Jenkins job (no git remote); "
                             "set repo_url in the fleet file or use the inline definition")
        branch = source.ref or source.default_branch
        if branch is None and self.gitlab is not None and work.gitlab is not None:
            branch = self.gitlab.default_branch(work.gitlab)
        # A checkout's remote often carries a token (GitLab CI's gitlab-ci-token:...@): the job
        # stores the bare URL and reaches the repository with its credentials id.
        return JobSpec(name, source.key, self.fleet_id, "scm", repo_url=public_url(source.repo_url),
                       branch=branch or "main", credentials_id=creds, script_path=d.script_path, crons=crons)

    def prepare(self, works: list[Work]) -> JenkinsState | None:
        claimed = [w for w in works if w.job is not None and w.result.error is None]
        if not claimed and not self.options.prune:
            return None
        _reject_duplicates(claimed)
        claimed = [w for w in claimed if w.job is not None]
        needed = {"workflow-job", "workflow-cps"}
        needed |= {"cloudbees-folder"} if any(w.job and w.job.folder for w in claimed) else set()
        for work in claimed:
            needed |= plugins_for(work.job) if work.job is not None else set()
        self.client.check_plugins(needed)
        depth = max([w.job.full_name.count("/") for w in claimed if w.job] + [2]) + 1
        state = self.client.read_state(depth)
        self._folders(claimed, state)
        return state

    def _folders(self, works: list[Work], state: JenkinsState) -> None:
        """Each missing folder once (parents first), recorded on the first project needing it."""
        done: set[str] = set()
        for work in sorted(works, key=lambda w: w.source.key):
            assert work.job is not None
            for folder in missing_folders(work.job.folder, state):
                if folder.lower() in done or work.result.error:
                    continue
                done.add(folder.lower())
                work.result.changes.append(Change("jenkins", "folder", folder, "create"))
                if self.options.writes:
                    self.guard(work.result, functools.partial(self.client.create_folder, folder),
                               jenkins_error)
                    if work.result.error is None:
                        state.add_folder(folder)

    def plan(self, work: Work, state: JenkinsState | None) -> ServerPlan | None:
        if state is None or work.job is None:
            return None
        change = self.client.plan_job(work.job, state, self.options.verify, self.options.diff)
        return ServerPlan([change], change)

    def apply(self, work: Work, plan: ServerPlan) -> None:
        assert work.job is not None
        self.client.apply_job(work.job, plan.detail)

    def prune(self, works: list[Work], state: JenkinsState | None) -> list[ProjectResult]:
        """Delete this fleet's jobs whose project certainly left the fleet in this run, within
        the fleet's folder only. Refused as a whole when a project could not be read (its job
        would look abandoned), or none was; a job whose project is still listed but failed
        anywhere is kept and named; a job is deleted only once proven unmodified (`prove`)."""
        if state is None:
            return []
        unread = [w.source.key for w in works if w.manifest is None and w.result.skipped is None]
        read = [w for w in works if w.manifest is not None]
        if unread or not read:
            result = ProjectResult("jenkins:prune", "prune")
            why = f"{len(unread)} project(s) could not be read (first: {unread[0]})" if unread else \
                "no project of the fleet was read"
            result.fail(UserError(f"prune skipped: {why}; nothing deleted"))
            return [result]
        wanted = {w.job.full_name.lower() for w in works if w.job is not None}
        failed = {marker_project(w.source.key): w.source.key for w in works if w.result.error is not None}
        results = []
        for item in sorted(state.marked_jobs(self.fleet_id), key=lambda i: i.name):
            if item.name.lower() in wanted or not inside(item.name, self.defaults.folder):
                continue
            assert item.marker is not None
            result = ProjectResult(f"jenkins:{item.name}", item.name)
            results.append(result)
            if item.marker.project in failed:
                result.skipped = (f"not pruned: its project {failed[item.marker.project]} is still in the "
                                  "fleet and failed in this run")
                continue
            self.guard(result, functools.partial(self._prune_one, item, result), jenkins_error)
        return results

    def _prune_one(self, item: Item, result: ProjectResult) -> None:
        assert item.marker is not None
        self.client.prove(item.name, item.marker, self.fleet_id)  # a copy or an edited job: NotOurs
        result.changes.append(Change("jenkins", "job", item.name, "delete", detail="project left the fleet"))
        if self.options.writes:
            self.client.delete_job(item.name)


class GitLabSide:
    """The project's generated files (a commit or merge request), variables, schedules and
    protected environments on its GitLab project."""

    name = "gitlab"

    def __init__(self, backends: dict[str, Any], options: SyncOptions, fleet: Fleet | None, fleet_id: str,
                 guard: Guard) -> None:
        self.client: GitLabBackend = backends["gitlab"]
        self.defaults = fleet.gitlab if fleet else GitLabDefaults()
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
        work.gitlab = GitLabTarget(path, work.source.ref, work.source.default_branch,
                                   self.options.gitlab_mode or d.mode, d.branch, d.lint)

    def has(self, work: Work) -> bool:
        return work.gitlab is not None

    def prepare(self, works: list[Work]) -> None:
        return None  # each project is planned on its own

    def plan(self, work: Work, state: None) -> ServerPlan | None:
        assert work.gitlab is not None
        plan = self.client.plan(work.gitlab, work.files, work.manifest, self.options.diff)
        problem = None
        if plan.variables is not None and plan.variables.missing_secrets:
            names = ", ".join(plan.variables.missing_secrets)
            problem = UserError(f"secrets not set in GitLab project {work.gitlab.path}: {names} "
                                "(ci-gen never writes secrets; add them in Settings > CI/CD > Variables)")
        return ServerPlan(plan.changes, plan, problem)

    def apply(self, work: Work, plan: ServerPlan) -> None:
        self.client.apply(plan.detail, work.files, work.manifest)

    def prune(self, works: list[Work], state: None) -> list[ProjectResult]:
        return []  # ci-gen never deletes a GitLab project's files, variables or schedules wholesale


def _reject_duplicates(works: list[Work]) -> None:
    by_name: dict[str, list[Work]] = {}
    for work in works:
        assert work.job is not None
        by_name.setdefault(work.job.full_name.lower(), []).append(work)
    for claims in by_name.values():
        if len(claims) > 1:
            job = claims[0].job.full_name  # type: ignore[union-attr]
            names = " and ".join(f"{w.source.key} ({w.source.origin})" for w in claims)
            for work in claims:
                work.result.fail(UserError(f"Jenkins job '{job}' is claimed by {names}"))
                work.job = None


Side = JenkinsSide | GitLabSide

# Every server a sync can write to, by target name, in the order a project is synced on them
# (and its changes reported). Jenkins first: its job may ask GitLab for the default branch,
# which GitLab's side attaches (the engine attaches sides in reverse).
SIDES: dict[str, type[Side]] = {"jenkins": JenkinsSide, "gitlab": GitLabSide}
