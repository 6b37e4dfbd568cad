"""GitLab deployment history: the Deployments API and single-file job artifact downloads, as
`ci-gen report` reads them through python-gitlab.

Modelled on GitLab's `lib/api/deployments.rb` (`GET /projects/:id/deployments`: filters
`environment`, `status`, `updated_after`/`updated_before` - which GitLab accepts only with
`order_by=updated_at` - `order_by` id|iid|created_at|updated_at|finished_at|ref, `sort`; offset
pagination) with the entity of `lib/api/entities/deployment.rb` (`deployable` is the job entity of
`lib/api/entities/ci/job.rb`, with `artifacts[]` and `commit`), and `lib/api/ci/job_artifacts.rb`
(`GET /projects/:id/jobs/:job_id/artifacts/*artifact_path`: the file's bytes, 404 when the job
has no archive or the archive lacks the file). See README.md, "Deployment history".

Kept apart from the approval flow of gitlab_environments.py (blocked deployments waiting for
approvals, `GET /deployments/:id`): the list here shows this history only."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulators.base import Handler, Request, Response
from tests.emulators.gitlab_common import API, ID, error, paginate, project
from tests.emulators.gitlab_model import now_iso

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

ORDERS = ("id", "iid", "created_at", "updated_at", "finished_at", "ref")
STATUSES = ("created", "running", "success", "failed", "canceled", "blocked")


def add_finished_deployment(emu: "GitLabEmulator", full_path: str, environment: str, status: str = "success", *,
                   sha: str = "0" * 40, created_at: str | None = None, started_at: str | None = None,
                   finished_at: str | None = None, duration: float | None = None,
                   commit_time: str | None = None, files: dict[str, bytes] | None = None,
                   updated_at: str | None = None) -> dict[str, Any]:
    """A deployment of `full_path` to `environment`, with its deploy job; `files` are the job's
    artifact archive (None: the job has no artifacts)."""
    with emu.lock:
        target = emu.project(full_path)
        created = created_at or now_iso()
        job_id = emu.next_id("job")
        deployments = emu.deploy_history.setdefault(target.id, [])
        env_ids = emu.environment_ids.setdefault(target.id, {})
        env_id = env_ids.setdefault(environment, emu.next_id("environment"))
        commit = {"id": sha, "short_id": sha[:8], "title": "change", "created_at": commit_time or created,
                  "committed_date": commit_time or created, "authored_date": commit_time or created,
                  "author_name": "dev", "author_email": "dev@example.com", "parent_ids": [], "message": "change"}
        job = {
            "id": job_id, "status": status, "stage": f"deploy-{environment}", "name": f"deploy-{environment}",
            "ref": "main", "tag": False, "coverage": None, "allow_failure": False, "created_at": created,
            "started_at": started_at or created, "finished_at": finished_at, "erased_at": None,
            "duration": duration, "queued_duration": 0.4, "user": None, "commit": commit,
            "pipeline": {"id": job_id, "project_id": target.id, "sha": sha, "ref": "main", "status": status},
            "web_url": f"{emu.url}/{target.full_path}/-/jobs/{job_id}",
            "artifacts": [] if files is None else [
                {"file_type": "archive", "size": sum(len(v) for v in files.values()),
                 "filename": "artifacts.zip", "file_format": "zip"},
                {"file_type": "metadata", "size": 180, "filename": "metadata.gz", "file_format": "gzip"}],
            "artifacts_expire_at": None, "tag_list": [], "runner": None,
        }
        target.jobs.append(job)
        if files is not None:
            emu.artifact_files[job_id] = dict(files)
        deployment = {
            "id": emu.next_id("deployment"), "iid": len(deployments) + 1, "ref": "main", "sha": sha,
            "created_at": created, "updated_at": updated_at or finished_at or created,
            "finished_at": finished_at, "status": status, "user": None,
            "environment": {"id": env_id, "name": environment, "slug": environment, "external_url": None,
                            "created_at": created, "updated_at": created, "state": "available"},
            "deployable": job,
        }
        deployments.append(deployment)
        return deployment


def list_deployments(emu: "GitLabEmulator", request: Request) -> Response:
    target = project(emu, request)
    order = request.arg("order_by") or "id"
    if order not in ORDERS:
        raise error(400, {"error": "order_by does not have a valid value"})
    after, before = request.arg("updated_after"), request.arg("updated_before")
    if (after or before) and order != "updated_at":
        raise error(400, {"message": "`updated_at` filter requires `updated_at` sort"})
    status = request.arg("status")
    if status is not None and status not in STATUSES:
        raise error(400, {"error": "status does not have a valid value"})
    chosen = [d for d in emu.deploy_history.get(target.id, [])
              if request.arg("environment") in (None, d["environment"]["name"])
              and status in (None, d["status"])
              and (after is None or _time(d["updated_at"]) >= _time(after))
              and (before is None or _time(d["updated_at"]) <= _time(before))]
    chosen.sort(key=lambda d: (_key(d.get(order)), d["id"]), reverse=(request.arg("sort") or "asc") == "desc")
    return paginate(request, chosen)


def _time(text: str) -> float:
    from datetime import datetime, timezone

    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def _key(value: Any) -> Any:
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        return _time(value)
    return value if value is not None else ""


def job_artifact(emu: "GitLabEmulator", request: Request) -> Response:
    target = project(emu, request)
    job_id = int(request.params["job"])
    if not any(j["id"] == job_id for j in target.jobs):
        raise error(404, "404 Not found")
    files = emu.artifact_files.get(job_id)
    if files is None:
        raise error(404, "404 Not found")
    path = request.params["path"]
    if path not in files:
        raise error(404, "404 Not found")
    return Response(200, files[path], {"Content-Type": "application/octet-stream",
                                       "Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"'})


P = f"{API}/projects/{ID}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", f"{P}/deployments", list_deployments),
    ("GET", rf"{P}/jobs/(?P<job>\d+)/artifacts/(?P<path>.+)", job_artifact),
]
