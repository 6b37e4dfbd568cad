"""GitLab history: the Deployments API (one paginated list per project, newest `updated_at`
first fetched last) and each deploy job's record artifact.

`updated_after` with `order_by=updated_at` is what makes a rerun cheap: a project with no new
deployments costs one request. A deployment still running is not stored; its status change
moves its `updated_at` past the cursor, so the next run picks it up finished."""
from __future__ import annotations

from typing import Any

from ...errors import CiGenError
from ...report.fetched import Cursor, Fetched
from ...report.record import Deploy, RecordError, deploy_from_record, epoch, iso, parse_record, record_path

FINISHED = {"success": "success", "failed": "failed"}


def fetch_history(gl: Any, path: str, stored: Cursor | None, known: set[str], since: float) -> Fetched:
    project = gl.projects.get(path, lazy=True)
    resume = stored is not None and stored.covers(since) and stored.mark
    after = stored.mark if resume and stored is not None else iso(since)
    out = Fetched()
    mark = after
    for item in project.deployments.list(order_by="updated_at", sort="asc", updated_after=after,
                                         iterator=True, per_page=100):
        data = item.attributes
        mark = max(mark or "", str(data.get("updated_at") or ""), key=_sortable) or mark
        status = data.get("status")
        if status == "canceled":
            out.notes.append(f"deployment {data.get('id')}: canceled, not counted")
            continue
        if status not in FINISHED or str(data.get("id")) in known:
            continue
        deploy = _deploy(project, path, data, out)
        if deploy is not None:
            out.deploys.append(deploy)
    oldest = min(since, stored.since) if resume and stored is not None else since
    out.cursor = Cursor(oldest, mark).dump()
    return out


def _sortable(text: str) -> float:
    try:
        return epoch(text) if text else 0.0
    except ValueError:
        return 0.0


def _deploy(project: Any, path: str, data: dict[str, Any], out: Fetched) -> Deploy | None:
    ident = str(data["id"])
    environment = str((data.get("environment") or {}).get("name") or "unknown")
    job = data.get("deployable") or {}
    if job.get("id") is not None and _has_archive(job):
        raw = _artifact(project, int(job["id"]), record_path(environment), ident, out)
        if raw is not None:
            try:
                record = parse_record(raw)
                if record["environment"] == environment:
                    return deploy_from_record("gitlab", path, ident, record)
                out.notes.append(f"deployment {ident}: record names environment "
                                 f"{str(record['environment'])[:60]!r}, not {environment!r}; using the server's facts")
            except RecordError as exc:
                out.notes.append(f"deployment {ident}: malformed deploy record ({exc}); using the server's facts")
    return _fallback(path, ident, environment, data, job, out)


def _has_archive(job: dict[str, Any]) -> bool:
    artifacts = job.get("artifacts")
    if not isinstance(artifacts, list):
        return True  # an older server that does not list them: ask
    return any(isinstance(a, dict) and a.get("file_type") == "archive" for a in artifacts)


def _artifact(project: Any, job_id: int, name: str, ident: str, out: Fetched) -> bytes | None:
    import gitlab

    try:
        raw = project.jobs.get(job_id, lazy=True).artifact(name)
    except gitlab.GitlabGetError as exc:
        if exc.response_code == 404:
            return None  # a job from before ci-gen, or artifacts expired
        out.notes.append(f"deployment {ident}: deploy record unreadable (GitLab answered {exc.response_code}); "
                         "using the server's facts")
        return None
    return raw if isinstance(raw, bytes) else None


def _fallback(path: str, ident: str, environment: str, data: dict[str, Any], job: dict[str, Any],
              out: Fetched) -> Deploy | None:
    try:
        started = epoch(job.get("started_at") or data["created_at"])
        finished = epoch(data.get("finished_at") or job.get("finished_at") or data["updated_at"])
    except (KeyError, TypeError, ValueError):
        out.notes.append(f"deployment {ident}: no usable start or end time, skipped")
        return None
    duration = job.get("duration")
    commit = job.get("commit") or {}
    commit_time = commit.get("committed_date") or commit.get("created_at")
    out.fallbacks += 1
    return Deploy(
        server="gitlab", project=path, id=ident, environment=environment,
        result=FINISHED[data["status"]], started_at=started, finished_at=finished,
        duration=float(duration) if isinstance(duration, (int, float)) else max(0.0, finished - started),
        commit=data.get("sha"), commit_time=_epoch_or_none(commit_time), has_record=False,
    )


def _epoch_or_none(text: Any) -> float | None:
    try:
        return epoch(text) if isinstance(text, str) else None
    except ValueError:
        return None


def history_error(exc: BaseException) -> CiGenError:
    from .server import translate_error

    return translate_error(exc)


def history_project(manifest: Any, repository: str | None, fleet: Any | None) -> str | None:
    """The project holding a manifest's deployments: the fleet's entry (`repository`) over the
    manifest's `gitlab.project`."""
    if "gitlab" not in manifest.targets:
        return None
    return repository or manifest.gitlab.project
