"""`ci-gen report`: options in, exit code out. commands/report.py calls `run_report`; nothing here exits."""
from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, run_exit_code
from ..targets import SERVER_TARGETS, TARGETS, server_order
from ..targets.transport import RequestCounter, connect_servers
from .options import ReportOptions

if TYPE_CHECKING:
    from .build import Report


def run_report(options: ReportOptions) -> int:
    """Fetch what is new, report the window; 0 ok, 1 a project could not be read (its
    configuration), 3 a server failed, as DESIGN.md's exit codes."""
    _check(options)
    started = time.monotonic()
    from .build import build_report
    from .cache import Cache, default_path
    from .collect import collect

    fleet = _fleet(options)
    counters: dict[str, RequestCounter] = {}
    clients = {} if options.offline else _clients(options, fleet, counters)
    targets, problems = _targets(options, fleet, clients)
    cache = Cache(None if options.no_cache else options.cache or default_path())
    try:
        sources = collect(targets, clients, cache, options.since, options.jobs, options.offline)
    finally:
        cache.close()
    requests = {name: counters[name].count for name in SERVER_TARGETS if name in counters}
    report = build_report(sources, problems, options, time.monotonic() - started, requests)
    _emit(options, report)
    return _exit_code(sources, problems)


def _check(options: ReportOptions) -> None:
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.until <= options.since:
        raise UsageError("--until must be later than --since")
    if options.fleet is not None and not options.fleet.is_file():
        raise UsageError(f"--fleet {options.fleet}: no such file")
    if options.predict and options.fleet is not None:
        raise UsageError("--predict is for one repository: run it in the checkout, without --fleet")
    if options.offline and options.no_cache:
        raise UsageError("--offline reads the cache; it cannot be combined with --no-cache")
    if options.html is not None:
        from .html import require_extra

        require_extra()


def _fleet(options: ReportOptions) -> Any:
    from ..sync.fleet import load_fleet

    return load_fleet(options.fleet) if options.fleet is not None else None


def _clients(options: ReportOptions, fleet: Any, counters: dict[str, RequestCounter]) -> dict[str, Any]:
    """Each configured server's client, by target name (transport.connect_servers)."""
    clients = connect_servers(options, fleet, "report", counters)
    if not clients:
        raise UsageError("no CI server configured: set "
                         + " and/or ".join(TARGETS[name].remote.url_variable for name in server_order())
                         + ", servers: in the fleet file, or use --offline to report from the cache")
    return clients


def _targets(options: ReportOptions, fleet: Any, clients: dict[str, Any]) -> tuple[list[Any], list[str]]:
    from .targets import fleet_targets, repo_target

    if fleet is None:
        return [repo_target(options.repo)], []
    # Fleet entries and discovered groups are projects on the server that hosts manifests.
    host = next((name for name in clients if TARGETS[name].remote.hosts_manifests), None)
    if host is None:
        return fleet_targets(fleet, None, None, options.shard)
    remote, client = TARGETS[host].remote, clients[host]
    return fleet_targets(fleet, remote.backend(client), functools.partial(remote.discover, client), options.shard)


def _exit_code(sources: list[Any], problems: list[str]) -> int:
    """The worst failure's class decides (`errors.run_exit_code`); a project that could not be
    read (its manifest) is a problem found."""
    return run_exit_code(s.failure for s in sources if s.failure is not None) or (1 if problems else 0)


def _emit(options: ReportOptions, report: "Report") -> None:
    from . import outputs

    if options.json_file is not None:
        outputs.write_json(options.json_file, report)
    if options.csv_dir is not None:
        outputs.write_csv(options.csv_dir, report)
    if options.openmetrics is not None:
        outputs.write_openmetrics(options.openmetrics, report)
    if options.html is not None:
        from .html import write_html

        write_html(options.html, report)
    from ..output import emit_json, emit_rich

    if options.output == "json":
        emit_json(report.data, allow_nan=False)
    else:
        emit_rich(outputs.table_blocks(report), width=160, markup=False)
