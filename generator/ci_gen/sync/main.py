"""`ci-gen sync`: options in, exit code out. commands/sync.py calls `run_sync`; nothing here exits."""
from __future__ import annotations

import functools
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import ServerError, UsageError, UserError, run_exit_code
from ..targets import TARGETS, server_order
from ..targets.transport import RequestCounter, connect_servers
from .engine import Engine
from .fleet import Fleet, load_fleet
from ..targets.sync_data import ProjectResult, Source
from .options import SyncOptions
from .report import diff_lines, summary_blocks, to_json, write_json, write_junit


def run_sync(options: SyncOptions) -> int:
    """Plan (and unless dry-run/check, apply) the sync; return the exit code of DESIGN.md."""
    _check_usage(options)
    started = time.monotonic()
    fleet = load_fleet(options.fleet) if options.fleet is not None else None
    counters: dict[str, RequestCounter] = {}
    clients = _clients(options, fleet, counters)
    backends = {name: TARGETS[name].remote.backend(client) for name, client in clients.items()}
    sources = _sources(options, fleet, clients)
    engine = Engine(options, backends, fleet)
    with _progress(options, 2 * len(sources)) as tick:
        engine.tick = tick
        results = engine.run(sources)
    requests = {name: c.count for name, c in counters.items()}
    _emit(options, results, time.monotonic() - started, requests)
    return exit_code(results, options.check)


def exit_code(results: list[ProjectResult], check: bool) -> int:
    """The worst failure's class decides (`errors.run_exit_code`); with --check, a pending change
    is a problem found."""
    code = run_exit_code(r.failure for r in results if r.failure is not None)
    if code:
        return code
    return 1 if check and any(r.pending for r in results) else 0


def _check_usage(options: SyncOptions) -> None:
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.shard is not None:
        index, count = options.shard
        if not 1 <= index <= count:
            raise UsageError(f"--shard {index}/{count}: the index must be between 1 and {count}")
        if options.prune and count > 1:
            raise UsageError("--prune needs the whole fleet; run it unsharded (the fleet pipeline has a prune job)")
    if options.prune and options.fleet is None:
        raise UsageError("--prune needs --fleet: only a fleet file says which jobs have left it")
    if options.fleet is not None and not options.fleet.is_file():
        raise UsageError(f"--fleet {options.fleet}: no such file")


def no_server_message() -> str:
    """Every place a server can come from, so a first run says what to set rather than where to look."""
    return "no CI server configured. ci-gen looks for:\n" + "\n".join(
        f"{TARGETS[name].remote.title}: {TARGETS[name].remote.where}" for name in server_order())


def _clients(options: SyncOptions, fleet: Fleet | None,
             counters: dict[str, RequestCounter]) -> dict[str, Any]:
    """Each configured server's client, by target name, in sync order (transport.connect_servers).
    A server left out by --only is still connected when projects' manifests are read from it."""
    clients = connect_servers(options, fleet, "sync", counters,
                              lambda name, remote: options.only in (None, name) or remote.hosts_manifests)
    if not clients:
        raise UsageError(no_server_message())
    return clients


def _sources(options: SyncOptions, fleet: Fleet | None, clients: dict[str, Any]) -> list[Source]:
    from .sources import fleet_sources, repo_source, shard

    if fleet is None:
        sources = [repo_source(options.repo)]
    else:
        # Fleet entries and discovered groups are projects on the server that hosts manifests.
        host = next((name for name in clients if TARGETS[name].remote.hosts_manifests), None)
        client = clients[host] if host else None
        discover = functools.partial(TARGETS[host].remote.discover, client) if host else None
        try:
            sources = fleet_sources(fleet, client.url.rstrip("/") if client else None, discover)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - group discovery failed: one line, exit 3
            assert host is not None
            error = TARGETS[host].remote.translate_error(exc)
            raise (UserError if isinstance(error, UserError) else ServerError)(
                f"group discovery: {error}") from None
    if options.shard is not None:
        sources = shard(sources, *options.shard)
    return sources


@contextmanager
def _progress(options: SyncOptions, total: int) -> Iterator[Callable[[str], None]]:
    show = options.progress if options.progress is not None else sys.stderr.isatty()
    if not show or total == 0:
        yield lambda _phase: None
        return
    from rich.console import Console
    from rich.progress import Progress

    # stderr, so `--output json` on stdout stays clean
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("syncing", total=total)
        yield lambda phase: progress.update(task, advance=1, description=phase)


def _emit(options: SyncOptions, results: list[ProjectResult], seconds: float,
          requests: dict[str, int]) -> None:
    mode = "check" if options.check else "dry-run" if options.dry_run else "apply"
    data = to_json(results, mode, seconds, requests)
    if options.report is not None:
        write_json(options.report, data)
    if options.junit is not None:
        write_junit(options.junit, results, seconds)
    from ..output import emit_json, emit_lines, emit_rich

    if options.output == "json":
        emit_json(data)
        return
    if options.diff:
        emit_lines(diff_lines(results))
    emit_rich(summary_blocks(results, mode), soft_wrap=True)
    lines = [f"{seconds:.1f}s, HTTP requests: "
             + (", ".join(f"{name} {count}" for name, count in requests.items()) or "none")]
    if options.writes is False and any(r.pending for r in results):
        lines.append(f"{sum(len(r.pending) for r in results)} change(s) planned; nothing written ({mode}).")
    emit_lines(lines)
