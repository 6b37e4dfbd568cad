"""Jenkins' side of a sync run (`targets.base.Backend`): one job per project, planned fleet-wide
(one tree read, duplicate claims, folders), pruned within the fleet's folder. The sync engine
loops over the sides; this one drives `server.py`."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import UserError
from ...redaction import public_url
from .. import TARGETS
from ..base import Change
from ..sync_data import Guard, ProjectResult, ServerPlan, Work
from .job_xml import JobSpec, marker_project
from .multibranch import resolve as resolve_multibranch
from .placement import inside, place
from .server import Item, JenkinsBackend, JenkinsState, missing_folders, plugins_for
from .server import translate_error as jenkins_error


@dataclass(frozen=True)
class JenkinsDefaults:
    """A fleet file's `defaults.jenkins`."""

    folder: str | None = None
    definition: str = "scm"
    credentials_id: str | None = None
    script_path: str = "Jenkinsfile"


class JenkinsSide:
    """One Jenkins job per project, planned fleet-wide (one tree read, duplicate claims, folders)."""

    name = "jenkins"

    def __init__(self, backends: dict[str, Any], options: Any, fleet: Any | None, fleet_id: str,
                 guard: Guard) -> None:
        self.client: JenkinsBackend = backends["jenkins"]
        self.defaults: JenkinsDefaults = fleet.jenkins if fleet else JenkinsDefaults()
        # A job that reads the Jenkinsfile from git may ask the server hosting the repository for
        # its default branch, with the target that server's side attached (`default_branch`).
        self.hosts = {name: b for name, b in backends.items() if TARGETS[name].remote.hosts_manifests}
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
        work.attached[self.name] = self._job_spec(work)

    def has(self, work: Work) -> bool:
        return job_of(work) is not None

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
        for server, host in self.hosts.items():
            if branch is None and work.attached.get(server) is not None:
                branch = host.default_branch(work.attached[server])
        # A checkout's remote often carries a token (GitLab CI's gitlab-ci-token:...@): the job
        # stores the bare URL and reaches the repository with its credentials id.
        return JobSpec(name, source.key, self.fleet_id, "scm", repo_url=public_url(source.repo_url),
                       branch=branch or "main", credentials_id=creds, script_path=d.script_path, crons=crons)

    def prepare(self, works: list[Work]) -> JenkinsState | None:
        claimed = [w for w in works if job_of(w) is not None and w.result.error is None]
        if not claimed and not self.options.prune:
            return None
        _reject_duplicates(claimed)
        jobs = [(w, job) for w in claimed if (job := job_of(w)) is not None]
        needed = {"workflow-job", "workflow-cps"}
        needed |= {"cloudbees-folder"} if any(job.folder for _, job in jobs) else set()
        for _, job in jobs:
            needed |= plugins_for(job)
        self.client.check_plugins(needed)
        depth = max([job.full_name.count("/") for _, job in jobs] + [2]) + 1
        state = self.client.read_state(depth)
        self._folders(jobs, state)
        return state

    def _folders(self, jobs: list[tuple[Work, JobSpec]], state: JenkinsState) -> None:
        """Each missing folder once (parents first), recorded on the first project needing it."""
        done: set[str] = set()
        for work, job in sorted(jobs, key=lambda pair: pair[0].source.key):
            for folder in missing_folders(job.folder, state):
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
        job = job_of(work)
        if state is None or job is None:
            return None
        change = self.client.plan_job(job, state, self.options.verify, self.options.diff)
        return ServerPlan([change], change)

    def apply(self, work: Work, plan: ServerPlan) -> None:
        job = job_of(work)
        assert job is not None
        self.client.apply_job(job, plan.detail)

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
        wanted = {job.full_name.lower() for w in works if (job := job_of(w)) is not None}
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


def job_of(work: Work) -> JobSpec | None:
    """The project's Jenkins job, as `attach` built it; None when it has none (or lost it)."""
    job: JobSpec | None = work.attached.get(JenkinsSide.name)
    return job


def _reject_duplicates(works: list[Work]) -> None:
    by_name: dict[str, list[tuple[Work, JobSpec]]] = {}
    for work in works:
        job = job_of(work)
        assert job is not None
        by_name.setdefault(job.full_name.lower(), []).append((work, job))
    for claims in by_name.values():
        if len(claims) > 1:
            job_name = claims[0][1].full_name
            names = " and ".join(f"{w.source.key} ({w.source.origin})" for w, _ in claims)
            for work, _ in claims:
                work.result.fail(UserError(f"Jenkins job '{job_name}' is claimed by {names}"))
                work.attached[JenkinsSide.name] = None


if TYPE_CHECKING:
    from ..base import Backend

    def _conforms(side: JenkinsSide) -> Backend:  # mypy proves the side is a `Backend`
        return side
