"""`ci-gen report`: options in, exit code out. commands/report.py calls `run_report`; nothing here exits."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import ServerError, UsageError, UserError
from ..sync.clients import RequestCounter
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
    counters = {"gitlab": RequestCounter(), "jenkins": RequestCounter()}
    clients = {} if options.offline else _clients(options, fleet, counters)
    targets, problems = _targets(options, fleet, clients.get("gitlab"))
    cache = Cache(None if options.no_cache else options.cache or default_path())
    try:
        sources = collect(targets, clients, cache, options.since, options.jobs, options.offline)
    finally:
        cache.close()
    requests = {name: c.count for name, c in counters.items() if name in clients}
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
    from ..sync.clients import gitlab_client, jenkins_client
    from ..sync.command import _gitlab_preflight
    from ..sync.credentials import gitlab_credentials, jenkins_credentials

    jk = jenkins_credentials(fleet.jenkins_url if fleet else None, options.jenkins_ini, options.jenkins_section)
    gl = gitlab_credentials(fleet.gitlab_url if fleet else None, options.gitlab_config, options.gitlab_id)
    clients: dict[str, Any] = {}
    if jk is not None:
        clients["jenkins"] = jenkins_client(jk, options.timeout, options.jobs)
        counters["jenkins"].attach(clients["jenkins"]._session)
        _jenkins_preflight(clients["jenkins"])
    if gl is not None:
        clients["gitlab"] = gitlab_client(gl, options.timeout, options.jobs)
        counters["gitlab"].attach(clients["gitlab"].session)
        _gitlab_preflight(clients["gitlab"])
    if not clients:
        raise UsageError("no CI server configured: set CI_GEN_JENKINS_URL and/or CI_GEN_GITLAB_URL, "
                         "servers: in the fleet file, or use --offline to report from the cache")
    return clients


def _jenkins_preflight(server: Any) -> None:
    """One call before the workers start: proves the server and the credentials with one clear
    line, and fetches the CSRF crumb once (python-jenkins fetches it lazily, so parallel workers
    would each fetch their own)."""
    import jenkins
    import requests

    try:
        server.get_whoami()
    except (requests.RequestException, jenkins.TimeoutException) as exc:
        raise ServerError(f"Jenkins at {server.server} cannot be reached: {type(exc).__name__}") from None
    except jenkins.JenkinsException as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "[401]" in text or "[403]" in text:
            raise UserError(f"Jenkins at {server.server} rejected the credentials; check CI_GEN_JENKINS_USER "
                            "and CI_GEN_JENKINS_TOKEN") from None
        raise ServerError(f"Jenkins at {server.server}: {text}") from None


def _targets(options: ReportOptions, fleet: Any, gitlab: Any) -> tuple[list[Any], list[str]]:
    from .targets import fleet_targets, repo_target

    if fleet is None:
        return [repo_target(options.repo)], []
    url = gitlab.url.rstrip("/") if gitlab is not None else None
    return fleet_targets(fleet, gitlab, url, options.shard)


def _exit_code(sources: list[Any], problems: list[str]) -> int:
    kinds = {s.error_kind for s in sources if s.error}
    if "internal" in kinds:
        return 4
    if "server" in kinds:
        return 3
    return 1 if kinds or problems else 0


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
