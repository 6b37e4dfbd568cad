"""The servers one sync run writes to, each behind the same steps the engine loops over.

A server side (`targets.base.Backend`) says which projects it has work for (`wants`) and whether
that work needs the rendered files (`needs_files`), builds its per-project target (`attach`),
reads fleet-wide state once (`prepare`), plans one project (`plan`), applies the plan (`apply`)
and removes what ci-gen owns and no project claims any more (`prune`). The engine never names a
server; adding one is a class here and a line in `Engine.__init__`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UserError
from ..redaction import public_url
from ..targets.gitlab import server as gitlab_mod
from ..targets.jenkins import server as jenkins_mod
from .fleet import GitLabDefaults, JenkinsDefaults
from ..targets.gitlab.server import GitLabBackend, GitLabTarget
from ..targets.jenkins.server import Item, JenkinsBackend, JenkinsState, missing_folders, plugins_for
from ..targets.jenkins.multibranch import resolve as resolve_multibranch
from ..targets.jenkins.job_xml import JobSpec, marker_project
from .records import Change, ProjectResult, Source
from .options import SyncOptions
from .placement import inside, place

@dataclass
class Work:
    """One project of a sync run, as the sides fill it in."""

    source: Source
    result: ProjectResult
    manifest: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    job: JobSpec | None = None
    gitlab: GitLabTarget | None = None


Guard = Callable[[ProjectResult, Callable[[], None], Callable[[BaseException], tuple[str, str]]], None]


@dataclass
class ServerPlan:
    """One project's planned changes on one server, and what applying them needs."""

    changes: list[Change]
    detail: Any = None  # the server's own plan object
    problem: str | None = None  # fails the project even in a dry run (a missing secret)
    extra: dict[str, Any] = field(default_factory=dict)


class JenkinsSide:
    """One Jenkins job per project, planned fleet-wide (one tree read, duplicate claims, folders)."""

    name = "jenkins"

    def __init__(self, client: JenkinsBackend, options: SyncOptions, defaults: JenkinsDefaults,
                 gitlab: GitLabBackend | None, fleet_id: str, guard: Guard) -> None:
        self.client, self.options, self.defaults = client, options, defaults
        self.gitlab, self.fleet_id, self.guard = gitlab, fleet_id, guard

    describe_error = staticmethod(jenkins_mod.describe_error)

    def wants(self, work: Work) -> bool:
        return "jenkins" in work.manifest.targets and self.options.only != "gitlab"

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
                               jenkins_mod.describe_error)
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
            result.fail(f"prune skipped: {why}; nothing deleted")
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
            self.guard(result, functools.partial(self._prune_one, item, result), jenkins_mod.describe_error)
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

    def __init__(self, client: GitLabBackend, options: SyncOptions, defaults: GitLabDefaults) -> None:
        self.client, self.options, self.defaults = client, options, defaults

    describe_error = staticmethod(gitlab_mod.describe_error)

    def wants(self, work: Work) -> bool:
        path = work.source.gitlab_path or work.manifest.gitlab.project
        return path is not None and self.options.only != "jenkins"

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
            problem = (f"secrets not set in GitLab project {work.gitlab.path}: {names} "
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
                work.result.fail(f"Jenkins job '{job}' is claimed by {names}")
                work.job = None
