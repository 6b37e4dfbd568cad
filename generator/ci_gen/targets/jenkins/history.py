"""Jenkins history: the job's builds through one `tree` query per page (newest first), and each
new build's archived deploy records.

Jenkins has no "since" filter, so the query asks for a window of the newest builds
(`allBuilds[...]{0,N}`) and widens it only while every build in it is new and inside `--since`:
a rerun with nothing new costs one request per job. A build still running is not stored and
not counted in the mark, so it is read again once finished."""
from __future__ import annotations

import re
from typing import Any

from ...errors import CiGenError, ServerError, UserError
from ...report.fetched import Cursor, Fetched
from ...report.record import RECORD_DIR, Deploy, RecordError, deploy_from_record, parse_record
from .placement import place

WINDOW = 25
TREE = "allBuilds[number,result,building,timestamp,duration,artifacts[relativePath]]"
RESULTS = {"SUCCESS": "success", "UNSTABLE": "failed", "FAILURE": "failed"}
_RECORD = re.compile(re.escape(RECORD_DIR) + r"/deploy-[^/]+\.json")


def fetch_history(server: Any, job: str, stored: Cursor | None, known: set[str], since: float) -> Fetched:
    resume = stored is not None and stored.covers(since) and stored.mark is not None
    floor = int(stored.mark or 0) if resume and stored is not None else 0
    out = Fetched()
    builds = _builds(server, job, floor, since)
    running = [int(b["number"]) for b in builds if b.get("building") or b.get("result") is None]
    limit = min(running, default=None)
    seen = {ident.split(":", 1)[0] for ident in known}
    newest = floor
    for build in builds:
        number = int(build["number"])
        if number in running:
            continue
        if limit is None or number < limit:  # never past a running build: its result comes later
            newest = max(newest, number)
        if str(number) not in seen:
            out.deploys.extend(_deploys(server, job, build, out))
    oldest = min(since, stored.since) if resume and stored is not None else since
    out.cursor = Cursor(oldest, str(newest)).dump()
    return out


def _builds(server: Any, job: str, floor: int, since: float) -> list[dict[str, Any]]:
    """Builds above `floor` started inside `--since`, oldest first."""
    item = "/".join(f"job/{part}" for part in job.split("/"))
    found: list[dict[str, Any]] = []
    start = 0
    while True:
        page = server.get_info(item=item, query=f"?tree={TREE}{{{start},{start + WINDOW}}}")
        builds = [b for b in page.get("allBuilds") or [] if isinstance(b, dict) and "number" in b]
        fresh = [b for b in builds if int(b["number"]) > floor and (b.get("timestamp") or 0) / 1000 >= since]
        found.extend(fresh)
        if len(builds) < WINDOW or len(fresh) < len(builds):
            return sorted(found, key=lambda b: int(b["number"]))
        start += WINDOW


def _deploys(server: Any, job: str, build: dict[str, Any], out: Fetched) -> list[Deploy]:
    number = int(build["number"])
    paths = [a.get("relativePath", "") for a in build.get("artifacts") or [] if isinstance(a, dict)]
    records = [p for p in paths if _RECORD.fullmatch(p)]
    deploys = []
    for path in records:
        raw = _artifact(server, job, number, path, out)
        if raw is None:
            continue
        try:
            record = parse_record(raw)
        except RecordError as exc:
            out.notes.append(f"build #{number}: malformed deploy record {path} ({exc}); skipped")
            continue
        deploys.append(deploy_from_record("jenkins", job, f"{number}:{record['environment']}", record))
    if records or any(p.startswith(RECORD_DIR + "/") for p in paths):
        return deploys  # a ci-gen build: the records are the deploys (none: it never deployed)
    result = RESULTS.get(str(build.get("result")))
    if result is None:
        out.notes.append(f"build #{number}: {build.get('result')}, not counted")
        return []
    out.fallbacks += 1
    started = float(build.get("timestamp") or 0) / 1000
    duration = float(build.get("duration") or 0) / 1000
    return [Deploy(server="jenkins", project=job, id=f"{number}:pipeline", environment="(pipeline)",
                   result=result, started_at=started, finished_at=started + duration,
                   duration=duration, has_record=False)]


def _artifact(server: Any, job: str, number: int, path: str, out: Fetched) -> bytes | None:
    import jenkins

    try:
        return bytes(server.get_build_artifact_as_bytes(job, number, path))
    except jenkins.NotFoundException:
        out.notes.append(f"build #{number}: {path} listed but missing")
    except jenkins.JenkinsException as exc:
        out.notes.append(f"build #{number}: {path} unreadable ({str(exc).splitlines()[0][:120]})")
    return None


def history_error(exc: BaseException) -> CiGenError:
    """A failed history read, as ci-gen's error: a job that is not there is the fleet's (or the
    manifest's) problem; python-jenkins' wrapper of a 5xx after retries is the server's."""
    import jenkins

    from .server import translate_error

    if isinstance(exc, jenkins.NotFoundException):
        return UserError("Jenkins: no such job")
    if isinstance(exc, jenkins.BadHTTPException):
        return ServerError(f"Jenkins: {str(exc).splitlines()[0]}")
    return translate_error(exc)


def history_project(manifest: Any, repository: str | None, fleet: Any | None) -> str | None:
    """The job holding a manifest's deploy history, placed as sync places it: inside the fleet's
    folder, every segment checked before a URL is built from it (a manifest is untrusted; `..`
    would reach another item)."""
    if "jenkins" not in manifest.targets:
        return None
    return place(fleet.jenkins.folder if fleet else None, manifest.jenkins.folder, manifest.name)
