"""Fetching every target's new history in parallel, storing each project in the cache as soon
as it arrives (one transaction each), and reading the window back from the cache."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ..errors import CiGenError, ErrorKind, error_kind
from ..targets import TARGETS
from .cache import Cache
from .fetched import Cursor, Fetched
from .record import Deploy
from .targets import Target


@dataclass
class Source:
    """One target's history on one server, after the run."""

    target: Target
    server: str  # the target's name
    project: str  # where that server keeps the deploys: GitLab path, Jenkins job
    deploys: list[Deploy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fallbacks: int = 0
    error: str | None = None  # the failure's text
    failure: CiGenError | None = None  # the failure itself: its class says whose it is
    fetched: int = 0  # new deploys this run

    @property
    def error_kind(self) -> ErrorKind | None:
        return None if self.failure is None else error_kind(self.failure)


def collect(targets: list[Target], clients: dict[str, Any], cache: Cache, since: float, jobs: int,
            offline: bool) -> list[Source]:
    sources = [Source(t, server, project) for t in targets for server, project in t.projects.items()
               if offline or clients.get(server) is not None]
    if not offline:
        _fetch_all(sources, clients, cache, since, jobs)
    for source in sources:
        source.deploys = cache.deploys(source.server, source.project)
    return sources


def _fetch_all(sources: list[Source], clients: dict[str, Any], cache: Cache, since: float, jobs: int) -> None:
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="report")
    try:
        futures: dict[Future[Fetched], Source] = {}
        for source in sources:  # the cache is read and written on this thread only
            stored = Cursor.load(cache.cursor(source.server, source.project))
            known = cache.known_ids(source.server, source.project)
            futures[pool.submit(TARGETS[source.server].remote.fetch_history, clients[source.server],
                                source.project, stored, known, since)] = source
        for future in as_completed(futures):
            source = futures[future]
            try:
                fetched = future.result()
            except Exception as exc:  # noqa: BLE001 - one project's failure stops no other
                source.failure = TARGETS[source.server].remote.history_error(exc)
                source.error = str(source.failure)
                continue
            cache.store(source.server, source.project, fetched.deploys, fetched.cursor)
            source.notes, source.fallbacks, source.fetched = fetched.notes, fetched.fallbacks, len(fetched.deploys)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: drop queued projects
