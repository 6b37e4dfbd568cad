"""`ci-gen report`: the request checked and turned into ReportOptions; the engine is ci_gen.report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .usage import given, refuse

DEFAULT_TIMEOUT = 30.0
DEFAULT_JENKINS_SECTION = "jenkins"


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C: single-repository mode
    fleet: str | None = None
    since: str = "30d"
    until: str | None = None
    jobs: int = 4
    shard: str | None = None  # "I/N", fleets only
    timeout: float | None = None  # None: DEFAULT_TIMEOUT
    cache: str | None = None
    no_cache: bool = False
    offline: bool = False
    model: str = "pooled"
    predict: bool = False
    json_file: str | None = None
    csv_dir: str | None = None
    openmetrics: str | None = None
    html: str | None = None
    gitlab_config: tuple[str, ...] = ()
    gitlab_id: str | None = None
    jenkins_ini: str | None = None
    jenkins_section: str | None = None  # None: DEFAULT_JENKINS_SECTION
    fmt: str = "text"


def run(request: Request) -> int:
    _check_usage(request)
    import time

    from ..report.main import run_report
    from ..report.options import ReportOptions, parse_when
    from ..sync.options import parse_shard

    now = time.time()

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    return run_report(ReportOptions(
        fleet=path(request.fleet), repo=Path(request.directory or "."), since=parse_when(request.since, now),
        until=parse_when(request.until, now) if request.until else now, jobs=request.jobs,
        shard=parse_shard(request.shard) if request.shard else None, timeout=request.timeout or DEFAULT_TIMEOUT,
        cache=path(request.cache), no_cache=request.no_cache, offline=request.offline, model=request.model,
        predict=request.predict, output=request.fmt, csv_dir=path(request.csv_dir),
        openmetrics=path(request.openmetrics), html=path(request.html), json_file=path(request.json_file),
        gitlab_config=request.gitlab_config, gitlab_id=request.gitlab_id, jenkins_ini=path(request.jenkins_ini),
        jenkins_section=request.jenkins_section or DEFAULT_JENKINS_SECTION))


def _check_usage(request: Request) -> None:
    """The report engine checks the window and --predict/--offline against the fleet; this refuses
    the flags a mode would drop."""
    servers = given([("--timeout", request.timeout), ("--gitlab-config", request.gitlab_config),
                     ("--gitlab-id", request.gitlab_id), ("--jenkins-ini", request.jenkins_ini),
                     ("--jenkins-section", request.jenkins_section)])
    refuse([
        (request.fleet is not None and request.directory is not None,
         "-C DIR reports on one checkout; --fleet FILE on the fleet's projects: give one of them"),
        (request.fleet is None and request.shard is not None, "--shard splits a fleet: it needs --fleet"),
        (request.no_cache and request.cache is not None, "--cache names the cache; --no-cache keeps none"),
        (request.offline and bool(servers), f"--offline asks no server: {', '.join(servers)} cannot go with it"),
    ])
