"""One sync run over a list of sources: load and render each manifest in parallel, let each
server side prepare fleet-wide (Jenkins: one tree query, duplicate claims, folders), then plan and
apply each project on each side in parallel, then prune. A failure is recorded on its project and
never stops the others. The servers are the targets' sides (`targets/<name>/sync_side.py`),
reached through their `remote` modules; the engine names none of them."""
from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable

from ..errors import CiGenError, InternalError, UserError
from ..paths import manifest_escape_reason
from ..targets import TARGETS
from ..workspace import MANIFEST_NAME
from ..yamlio import read_text
from ..targets import server_order
from ..targets.base import Backend
from .fleet import DEFAULT_FLEET, Fleet
from .options import SyncOptions
from ..targets.sync_data import ProjectResult, Source, Work


class Engine:
    def __init__(self, options: SyncOptions, backends: dict[str, Any], fleet: Fleet | None = None,
                 tick: Callable[[str], None] = lambda _: None) -> None:
        """`backends`: each connected server's planner by target name (`Remote.backend`)."""
        self.options, self.tick = options, tick
        self.fleet_id = fleet.id if fleet else DEFAULT_FLEET
        self.backends = backends
        # Where projects' manifests are read from when a fleet names them by server project.
        host = next((name for name in backends if TARGETS[name].remote.hosts_manifests), None)
        self.host = backends[host] if host else None
        self.translate = TARGETS[host].remote.translate_error if host else _internal
        # In the order each project is synced (and its changes reported); --only leaves out the rest.
        names = [name for name in server_order() if name in backends and options.only in (None, name)]
        self.sides: list[Backend] = [TARGETS[name].remote.sync_side()(backends, options, fleet, self.fleet_id, _guard)
                                     for name in names]

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
            futures = {pool.submit(_guard, w.result, functools.partial(step, w), self.translate): w
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
                work.result.fail(UserError(f"{source.origin}: no {MANIFEST_NAME} in {source.local_path}"))
                return None
            if reason := manifest_escape_reason(source.local_path, path):
                work.result.fail(UserError(f"{source.origin}: {MANIFEST_NAME}: {reason}"))
                return None
            return read_text(path, MANIFEST_NAME)  # the limits and errors of `validate`
        if self.host is None:
            work.result.fail(UserError(f"{source.origin}: no GitLab server configured to read {source.gitlab_path}"))
            return None
        text: str | None = self.host.read_manifest(str(source.gitlab_path), source.ref)
        if text is None:
            where = source.ref or "the default branch"
            if source.discovered:
                work.result.skipped = f"no {MANIFEST_NAME} on {where}"
            else:
                work.result.fail(UserError(f"{source.origin}: {source.gitlab_path} has no {MANIFEST_NAME} on {where}"))
        return text

    def _skip_reasons(self, work: Work) -> list[str]:
        """Why no server gets anything from this project, each with what would change it."""
        assert work.manifest is not None
        sides = {side.name: side for side in self.sides}
        reasons = []
        for name in server_order():
            remote = TARGETS[name].remote
            if self.options.only not in (None, name):
                reasons.append(f"{remote.title} left out by --only {self.options.only}")
            elif name not in sides:
                reasons.append(f"no {remote.title} server configured ({remote.configure_hint})")
            elif not sides[name].wants(work):
                reasons.append(sides[name].why_not(work))
        return reasons

    # -- per project -------------------------------------------------------------------------
    def _sync(self, work: Work, states: dict[str, Any]) -> None:
        if work.result.error is not None or work.result.skipped is not None:
            return
        started = time.monotonic()
        for side in self.sides:
            if side.has(work):
                _guard(work.result, functools.partial(self._sync_one, side, work, states[side.name]),
                       side.translate_error)
        work.result.seconds += time.monotonic() - started

    def _sync_one(self, side: Backend, work: Work, state: Any) -> None:
        plan = side.plan(work, state)
        if plan is None:
            return
        work.result.changes += plan.changes
        if self.options.writes:
            side.apply(work, plan)
        if plan.problem:
            work.result.fail(plan.problem)


def _guard(result: ProjectResult, call: Callable[[], None],
           translate: Callable[[BaseException], CiGenError]) -> None:
    """Run one project's step; turn any failure into data on its result: ci-gen's own errors as
    they are, a client library's through its target's `translate_error`."""
    try:
        call()
    except CiGenError as exc:
        result.fail(exc)
    except ValueError as exc:  # what ci-gen's own checks raise below the error classes (NotOurs)
        result.fail(UserError(str(exc)))
    except Exception as exc:  # noqa: BLE001 - per-project isolation is the point
        result.fail(translate(exc))


def _internal(exc: BaseException) -> CiGenError:
    return InternalError(f"unexpected error: {type(exc).__name__}: {exc}")
