"""One sync run over a list of sources: load and render each manifest in parallel, let each
server side prepare fleet-wide (Jenkins: one tree query, duplicate claims, folders), then plan and
apply each project on each side in parallel, then prune. A failure is recorded on its project and
never stops the others. The servers are `backends.py`'s sides; the engine names none of them."""
from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable

from ..errors import CiGenError
from ..paths import manifest_escape_reason
from ..workspace import MANIFEST_NAME
from ..yamlio import read_text
from ..targets.gitlab import server as gitlab_mod
from .backends import GitLabSide, JenkinsSide, Work
from .fleet import GitLabDefaults, JenkinsDefaults
from ..targets.gitlab.server import GitLabBackend
from ..targets.jenkins.server import JenkinsBackend
from ..targets.jenkins.job_xml import DEFAULT_FLEET
from .records import ProjectResult, Source
from .options import SyncOptions



class Engine:
    def __init__(self, options: SyncOptions, gitlab_defaults: GitLabDefaults,
                 jenkins_defaults: JenkinsDefaults, jenkins: JenkinsBackend | None,
                 gitlab: GitLabBackend | None, tick: Callable[[str], None] = lambda _: None,
                 fleet_id: str = DEFAULT_FLEET) -> None:
        self.options, self.tick, self.fleet_id = options, tick, fleet_id
        self.gitlab = gitlab  # also where fleet projects' manifests are read from
        self.jenkins = jenkins
        # In the order each project is synced (and its changes reported).
        self.sides: list[JenkinsSide | GitLabSide] = []
        if jenkins is not None:
            self.sides.append(JenkinsSide(jenkins, options, jenkins_defaults, gitlab, fleet_id, _guard))
        if gitlab is not None:
            self.sides.append(GitLabSide(gitlab, options, gitlab_defaults))

    def run(self, sources: list[Source]) -> list[ProjectResult]:
        works = [Work(s, ProjectResult(s.key)) for s in sources]
        self._parallel(works, self._load, "read")
        states: dict[str, Any] = {side.name: side.prepare(works) for side in self.sides}
        self._parallel(works, lambda w: self._sync(w, states), "sync")
        results = [w.result for w in works]
        if self.options.prune:
            for side in self.sides:
                results += side.prune(works, states[side.name])
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
        sides = [side for side in self.sides if side.wants(work)]
        # Rendering is the costly part of reading a project: skipped when no server needs the files.
        if any(side.needs_files(work) for side in sides):
            work.files = api.render_manifest(work.manifest, text.encode("utf-8")).files
        # Later sides first: Jenkins asks the project's GitLab target for its default branch.
        for side in reversed(sides):
            side.attach(work)
        if not sides:
            work.result.skipped = "nothing to sync: " + "; ".join(self._skip_reasons(work))
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

    def _skip_reasons(self, work: Work) -> list[str]:
        """Why neither server gets anything from this project, each with what would change it."""
        assert work.manifest is not None
        reasons = []
        if self.options.only == "gitlab":
            reasons.append("Jenkins left out by --only gitlab")
        elif self.jenkins is None:
            reasons.append("no Jenkins server configured (CI_GEN_JENKINS_URL or a Jenkins Job Builder ini)")
        elif "jenkins" not in work.manifest.targets:
            reasons.append("no Jenkins job: targets: in ci-gen.yaml leaves out jenkins")
        if self.options.only == "jenkins":
            reasons.append("GitLab left out by --only jenkins")
        elif self.gitlab is None:
            reasons.append("no GitLab server configured (CI_GEN_GITLAB_URL or --gitlab-config)")
        elif not (work.source.gitlab_path or work.manifest.gitlab.project):
            reasons.append("no GitLab project: set gitlab.project in ci-gen.yaml (e.g. ml/fraud-detector)"
                           + ("" if work.source.repo_url else "; this checkout has no git remote either"))
        return reasons

    # -- per project -------------------------------------------------------------------------
    def _sync(self, work: Work, states: dict[str, Any]) -> None:
        if work.result.error is not None or work.result.skipped is not None:
            return
        started = time.monotonic()
        for side in self.sides:
            if side.has(work):
                _guard(work.result, functools.partial(self._sync_one, side, work, states[side.name]),
                       side.describe_error)
        work.result.seconds += time.monotonic() - started

    def _sync_one(self, side: JenkinsSide | GitLabSide, work: Work, state: Any) -> None:
        plan = side.plan(work, state)
        if plan is None:
            return
        work.result.changes += plan.changes
        if self.options.writes:
            side.apply(work, plan)
        if plan.problem:
            work.result.fail(plan.problem)


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
