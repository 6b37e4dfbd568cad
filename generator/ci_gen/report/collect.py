"""Fetching every target's new history in parallel, storing each project in the cache as soon
as it arrives (one transaction each), and reading the window back from the cache."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable

from .cache import Cache
from .fetched import Cursor, Fetched
from .record import Deploy
from .targets import Target


@dataclass
class Source:
    """One target's history on one server, after the run."""

    target: Target
    server: str  # gitlab | jenkins
    project: str  # GitLab path or Jenkins job
    deploys: list[Deploy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fallbacks: int = 0
    error: str | None = None
    error_kind: str = ""  # user | server | internal
    fetched: int = 0  # new deploys this run


def collect(targets: list[Target], clients: dict[str, Any], cache: Cache, since: float, jobs: int,
            offline: bool) -> list[Source]:
    sources = [Source(t, server, project) for t in targets
               for server, project in (("gitlab", t.gitlab), ("jenkins", t.jenkins))
               if project is not None and (offline or clients.get(server) is not None)]
    if not offline:
        _fetch_all(sources, clients, cache, since, jobs)
    for source in sources:
        source.deploys = cache.deploys(source.server, source.project)
    return sources


def _fetch_all(sources: list[Source], clients: dict[str, Any], cache: Cache, since: float, jobs: int) -> None:
    from .gitlab_fetch import fetch_gitlab
    from .jenkins_fetch import fetch_jenkins

    fetchers: dict[str, Callable[..., Fetched]] = {"gitlab": fetch_gitlab, "jenkins": fetch_jenkins}
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="report")
    try:
        futures: dict[Future[Fetched], Source] = {}
        for source in sources:  # the cache is read and written on this thread only
            stored = Cursor.load(cache.cursor(source.server, source.project))
            known = cache.known_ids(source.server, source.project)
            futures[pool.submit(fetchers[source.server], clients[source.server], source.project,
                                stored, known, since)] = source
        for future in as_completed(futures):
            source = futures[future]
            try:
                fetched = future.result()
            except Exception as exc:  # noqa: BLE001 - one project's failure stops no other
                source.error, source.error_kind = _describe(source.server, exc)
                continue
            cache.store(source.server, source.project, fetched.deploys, fetched.cursor)
            source.notes, source.fallbacks, source.fetched = fetched.notes, fetched.fallbacks, len(fetched.deploys)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: drop queued projects


def _describe(server: str, exc: BaseException) -> tuple[str, str]:
    if server == "gitlab":
        from ..targets.gitlab.server import describe_error
        return describe_error(exc)
    import jenkins

    from ..targets.jenkins.server import describe_error
    if isinstance(exc, jenkins.NotFoundException):
        return "Jenkins: no such job", "user"
    if isinstance(exc, jenkins.BadHTTPException):  # python-jenkins' wrapper of a 5xx after retries
        return f"Jenkins: {str(exc).splitlines()[0]}", "server"
    return describe_error(exc)
