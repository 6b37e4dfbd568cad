"""`ci-gen sync`: options in, exit code out. commands/sync.py calls `run_sync`; nothing here exits."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import ServerError, UsageError, UserError
from .clients import RequestCounter
from .credentials import gitlab_credentials, jenkins_credentials
from .engine import Engine
from .fleet import Fleet, GitLabDefaults, JenkinsDefaults, load_fleet
from ..targets.jenkins.job_xml import DEFAULT_FLEET
from .records import ProjectResult, Source
from .options import SyncOptions
from .report import diff_lines, summary_blocks, to_json, write_json, write_junit


def run_sync(options: SyncOptions) -> int:
    """Plan (and unless dry-run/check, apply) the sync; return the exit code of DESIGN.md."""
    _check_usage(options)
    started = time.monotonic()
    fleet = load_fleet(options.fleet) if options.fleet is not None else None
    counters = {"jenkins": RequestCounter(), "gitlab": RequestCounter()}
    jenkins, gitlab, gitlab_url = _backends(options, fleet, counters)
    sources = _sources(options, fleet, gitlab, gitlab_url)
    engine = Engine(options, fleet.gitlab if fleet else GitLabDefaults(),
                    fleet.jenkins if fleet else JenkinsDefaults(), jenkins, gitlab,
                    fleet_id=fleet.id if fleet else DEFAULT_FLEET)
    with _progress(options, 2 * len(sources)) as tick:
        engine.tick = tick
        results = engine.run(sources)
    requests = {name: c.count for name, c in counters.items()
                if (jenkins if name == "jenkins" else gitlab) is not None}
    _emit(options, results, time.monotonic() - started, requests)
    return exit_code(results, options.check)


def exit_code(results: list[ProjectResult], check: bool) -> int:
    kinds = {r.error_kind for r in results if r.error is not None}
    if "internal" in kinds:
        return 4
    if "server" in kinds:
        return 3
    if kinds:
        return 1
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


# Every place a server can come from, so a first run says what to set rather than where to look.
NO_SERVER = (
    "no CI server configured. ci-gen looks for:\n"
    "Jenkins: CI_GEN_JENKINS_URL (+ CI_GEN_JENKINS_USER, CI_GEN_JENKINS_TOKEN), servers.jenkins in the fleet "
    "file, or a Jenkins Job Builder ini (--jenkins-ini FILE, else ~/.config/jenkins_jobs/jenkins_jobs.ini, "
    "/etc/jenkins_jobs/jenkins_jobs.ini) with url, user and password\n"
    "GitLab: CI_GEN_GITLAB_URL (+ CI_GEN_GITLAB_TOKEN), servers.gitlab in the fleet file, or a python-gitlab "
    "config file (--gitlab-config FILE, with --gitlab-id NAME for its section)"
)


def _backends(options: SyncOptions, fleet: Fleet | None,
              counters: dict[str, RequestCounter]) -> tuple[Any, Any, str | None]:
    from .clients import gitlab_client, jenkins_client
    from ..targets.gitlab.server import GitLabBackend
    from ..targets.jenkins.server import JenkinsBackend

    jk = jenkins_credentials(fleet.jenkins_url if fleet else None, options.jenkins_ini, options.jenkins_section)
    gl = gitlab_credentials(fleet.gitlab_url if fleet else None, options.gitlab_config, options.gitlab_id)
    jenkins = gitlab = None
    if jk is not None and options.only != "gitlab":
        jenkins = JenkinsBackend(jenkins_client(jk, options.timeout, options.jobs))
        counters["jenkins"].attach(jenkins.client._session)
    if gl is not None:  # also with --only jenkins: GitLab-hosted manifests are read from it
        client = gitlab_client(gl, options.timeout, options.jobs)
        counters["gitlab"].attach(client.session)
        _gitlab_preflight(client)
        gitlab = GitLabBackend(client)
    if jenkins is None and gitlab is None:
        raise UsageError(NO_SERVER)
    return jenkins, gitlab, (gitlab.gl.url.rstrip("/") if gitlab else None)


def _gitlab_preflight(client: Any) -> None:
    """One request that proves the server is there and takes the token, so an outage or a bad
    token is one clear line instead of one failure per project."""
    import gitlab
    import requests

    try:
        client.http_get("/user", max_retries=2)
    except gitlab.GitlabAuthenticationError:
        raise UserError(f"GitLab at {client.url} rejected the token (401); check CI_GEN_GITLAB_TOKEN") from None
    except (gitlab.GitlabError, requests.RequestException) as exc:
        raise ServerError(f"GitLab at {client.url} cannot be reached: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from None


def _sources(options: SyncOptions, fleet: Fleet | None, gitlab: Any, gitlab_url: str | None) -> list[Source]:
    from .sources import fleet_sources, repo_source, shard

    if fleet is None:
        sources = [repo_source(options.repo)]
    else:
        try:
            sources = fleet_sources(fleet, gitlab_url, gitlab.gl if gitlab else None)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - group discovery failed: one line, exit 3
            from ..targets.gitlab.server import describe_error

            message, kind = describe_error(exc)
            raise (ServerError if kind != "user" else UserError)(f"group discovery: {message}") from None
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
