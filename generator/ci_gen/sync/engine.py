"""One sync run over a list of sources: load and render each manifest in parallel, plan the
Jenkins side fleet-wide (one tree query, duplicate claims, folders), then plan and apply each
project in parallel. A failure is recorded on its project and never stops the others."""
from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import CiGenError, UserError
from ..paths import manifest_escape_reason
from ..redaction import public_url
from ..yamlio import read_text
from . import gitlab as gitlab_mod
from . import jenkins as jenkins_mod
from .fleet import GitLabDefaults, JenkinsDefaults
from .gitlab import GitLabBackend, GitLabTarget
from .jenkins import Item, JenkinsBackend, JenkinsState, missing_folders, plugins_for
from .jenkins_multibranch import resolve as resolve_multibranch
from .jenkins_xml import DEFAULT_FLEET, JobSpec, marker_project
from .placement import inside, place
from .model import Change, ProjectResult, Source
from .options import SyncOptions

MANIFEST_NAME = "ci-gen.yaml"  # the name generated headers cite: keeps bytes equal to `render`


@dataclass
class Work:
    source: Source
    result: ProjectResult
    manifest: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    job: JobSpec | None = None
    gitlab: GitLabTarget | None = None


class Engine:
    def __init__(self, options: SyncOptions, gitlab_defaults: GitLabDefaults,
                 jenkins_defaults: JenkinsDefaults, jenkins: JenkinsBackend | None,
                 gitlab: GitLabBackend | None, tick: Callable[[str], None] = lambda _: None,
                 fleet_id: str = DEFAULT_FLEET) -> None:
        self.options, self.tick, self.fleet_id = options, tick, fleet_id
        self.gl_defaults, self.jk_defaults = gitlab_defaults, jenkins_defaults
        self.jenkins, self.gitlab = jenkins, gitlab

    def run(self, sources: list[Source]) -> list[ProjectResult]:
        works = [Work(s, ProjectResult(s.key)) for s in sources]
        self._parallel(works, self._load, "read")
        state = self._prepare_jenkins(works) if self.jenkins is not None else None
        self._parallel(works, lambda w: self._sync(w, state), "sync")
        results = [w.result for w in works]
        if self.options.prune and state is not None:
            results += self._prune(works, state)
        return results

    def _parallel(self, works: list[Work], step: Callable[[Work], None], phase: str) -> None:
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="sync")
        try:
            futures = {pool.submit(_guard, w.result, functools.partial(step, w), gitlab_mod.describe_error): w
                       for w in works}
            for future in as_completed(futures):
                future.result()
                self.tick(phase)
        finally:
            # On Ctrl-C, drop queued projects; running ones finish their current request.
            pool.shutdown(wait=True, cancel_futures=True)

    # -- read and render ---------------------------------------------------------------------
    def _load(self, work: Work) -> None:
        from .. import api

        started = time.monotonic()
        text = self._manifest_text(work)
        if text is None:
            return
        work.manifest = api.load_manifest_text(text, MANIFEST_NAME)
        work.result.name = work.manifest.name
        work.gitlab = self._gitlab_target(work)
        wants_job = self.jenkins is not None and "jenkins" in work.manifest.targets and self.options.only != "gitlab"
        definition = self.options.jenkins_definition or self.jk_defaults.definition
        if work.manifest.jenkins.kind == "multibranch":
            definition = "scm"  # every branch's own Jenkinsfile: nothing to embed
        # Rendering is the costly part of reading a project: skipped when nothing needs the files
        # (an SCM job's config does not depend on them; Jenkins reads the Jenkinsfile from git).
        if work.gitlab is not None or (wants_job and definition == "inline"):
            work.files = api.render_manifest(work.manifest, text.encode("utf-8")).files
        if wants_job:
            work.job = self._job_spec(work)
        if work.job is None and work.gitlab is None:
            work.result.skipped = "nothing to sync: no Jenkins target and no GitLab project to write to"
        work.result.seconds += time.monotonic() - started

    def _manifest_text(self, work: Work) -> str | None:
        source = work.source
        if source.local_path is not None:
            path = source.local_path / MANIFEST_NAME
            if not path.is_file():
                work.result.fail(f"{source.origin}: no {MANIFEST_NAME} in {source.local_path}")
                return None
            if reason := manifest_escape_reason(source.local_path, path):
                work.result.fail(f"{source.origin}: {MANIFEST_NAME}: {reason}")
                return None
            return read_text(path, MANIFEST_NAME)  # the limits and errors of `validate`
        if self.gitlab is None:
            work.result.fail(f"{source.origin}: no GitLab server configured to read {source.gitlab_path}")
            return None
        text = self.gitlab.read_manifest(str(source.gitlab_path), source.ref)
        if text is None:
            where = source.ref or "the default branch"
            if source.discovered:
                work.result.skipped = f"no {MANIFEST_NAME} on {where}"
            else:
                work.result.fail(f"{source.origin}: {source.gitlab_path} has no {MANIFEST_NAME} on {where}")
        return text

    def _gitlab_target(self, work: Work) -> GitLabTarget | None:
        path = work.source.gitlab_path or work.manifest.gitlab.project
        if path is None or self.gitlab is None or self.options.only == "jenkins":
            return None
        d = self.gl_defaults
        return GitLabTarget(path, work.source.ref, work.source.default_branch,
                            self.options.gitlab_mode or d.mode, d.branch, d.lint)

    def _job_spec(self, work: Work) -> JobSpec:
        manifest, source, d = work.manifest, work.source, self.jk_defaults
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

    # -- Jenkins, fleet-wide -----------------------------------------------------------------
    def _prepare_jenkins(self, works: list[Work]) -> JenkinsState | None:
        assert self.jenkins is not None
        claimed = [w for w in works if w.job is not None and w.result.error is None]
        if not claimed and not self.options.prune:
            return None
        _reject_duplicates(claimed)
        claimed = [w for w in claimed if w.job is not None]
        needed = {"workflow-job", "workflow-cps"}
        needed |= {"cloudbees-folder"} if any(w.job and w.job.folder for w in claimed) else set()
        for work in claimed:
            needed |= plugins_for(work.job) if work.job is not None else set()
        self.jenkins.check_plugins(needed)
        depth = max([w.job.full_name.count("/") for w in claimed if w.job] + [2]) + 1
        state = self.jenkins.read_state(depth)
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
                    _guard(work.result, functools.partial(self.jenkins.create_folder, folder),  # type: ignore[union-attr]
                           jenkins_mod.describe_error)
                    if work.result.error is None:
                        state.add_folder(folder)

    # -- per project -------------------------------------------------------------------------
    def _sync(self, work: Work, state: JenkinsState | None) -> None:
        if work.result.error is not None or work.result.skipped is not None:
            return
        started = time.monotonic()
        if work.job is not None and state is not None:
            _guard(work.result, lambda: self._sync_jenkins(work, state), jenkins_mod.describe_error)
        if work.gitlab is not None:
            _guard(work.result, lambda: self._sync_gitlab(work), gitlab_mod.describe_error)
        work.result.seconds += time.monotonic() - started

    def _sync_jenkins(self, work: Work, state: JenkinsState) -> None:
        assert self.jenkins is not None and work.job is not None
        change = self.jenkins.plan_job(work.job, state, self.options.verify, self.options.diff)
        work.result.changes.append(change)
        if self.options.writes:
            self.jenkins.apply_job(work.job, change)

    def _sync_gitlab(self, work: Work) -> None:
        assert self.gitlab is not None and work.gitlab is not None
        plan = self.gitlab.plan(work.gitlab, work.files, work.manifest, self.options.diff)
        work.result.changes += plan.changes
        if self.options.writes:
            self.gitlab.apply(plan, work.files, work.manifest)
        if plan.variables is not None and plan.variables.missing_secrets:
            names = ", ".join(plan.variables.missing_secrets)
            work.result.fail(f"secrets not set in GitLab project {work.gitlab.path}: {names} "
                             "(ci-gen never writes secrets; add them in Settings > CI/CD > Variables)")

    def _prune(self, works: list[Work], state: JenkinsState) -> list[ProjectResult]:
        """Delete this fleet's jobs whose project certainly left the fleet in this run, within
        the fleet's folder only. Refused as a whole when a project could not be read (its job
        would look abandoned), or none was; a job whose project is still listed but failed
        anywhere is kept and named; a job is deleted only once proven unmodified (`prove`)."""
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
            if item.name.lower() in wanted or not inside(item.name, self.jk_defaults.folder):
                continue
            assert item.marker is not None
            result = ProjectResult(f"jenkins:{item.name}", item.name)
            results.append(result)
            if item.marker.project in failed:
                result.skipped = (f"not pruned: its project {failed[item.marker.project]} is still in the "
                                  "fleet and failed in this run")
                continue
            _guard(result, functools.partial(self._prune_one, item, result), jenkins_mod.describe_error)
        return results

    def _prune_one(self, item: Item, result: ProjectResult) -> None:
        assert self.jenkins is not None and item.marker is not None
        self.jenkins.prove(item.name, item.marker, self.fleet_id)  # a copy or an edited job: NotOurs
        result.changes.append(Change("jenkins", "job", item.name, "delete", detail="project left the fleet"))
        if self.options.writes:
            self.jenkins.delete_job(item.name)


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


def _guard(result: ProjectResult, call: Callable[[], None],
           describe: Callable[[BaseException], tuple[str, str]]) -> None:
    """Run one project's step; turn any failure into data on its result."""
    try:
        call()
    except CiGenError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        result.fail(lines[0], "server" if exc.exit_code == 3 else "user")
        if len(lines) > 1 and result.error == lines[0]:
            result.error = str(exc)  # every manifest problem, each with file:line:col
    except ValueError as exc:
        result.fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - per-project isolation is the point
        message, kind = describe(exc)
        result.fail(message, kind)  # type: ignore[arg-type]
