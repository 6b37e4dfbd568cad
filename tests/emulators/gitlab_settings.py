"""GitLab project settings ci-gen writes: merge requests, CI/CD variables, pipeline schedules
and their variables (contract B.3, behaviours 19 to 21)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, SEG, authenticated, body, boolean, \
    error, paginate, param_error, project, require
from tests.emulators.gitlab_model import DEVELOPER, MAINTAINER, Project, now_iso

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

KEY_RULE = re.compile(r"\A[a-zA-Z0-9_]+\Z")
MASKABLE = re.compile(r"\A[a-zA-Z0-9_+=/@:.~-]{8,}\Z")  # Maskable::REGEX, the strict rule
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$|^[A-Za-z]{3}$")
VARIABLE_FIELDS = ("value", "variable_type", "protected", "masked", "raw",
                   "environment_scope", "description")


# -- merge requests ---------------------------------------------------------------------------
def _mr_conflict(target: Project, source: str, target_branch: str, skip: int = 0) -> None:
    if source == target_branch:
        raise error(409, ["You can't use same project/branch for source and target"])
    for mr in target.merge_requests:
        if mr["state"] == "opened" and mr["source_branch"] == source and mr["iid"] != skip:
            raise error(409, ["Another open merge request already exists for this source "
                              f"branch: !{mr['iid']}"])


def create_mr(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    require(data, "source_branch", "target_branch", "title")
    target = project(emu, request, DEVELOPER)
    user = authenticated(request)
    _mr_conflict(target, data["source_branch"], data["target_branch"])
    for field in ("source_branch", "target_branch"):
        if data[field] not in target.repo.branches:
            raise error(400, {field: ["is invalid"]})
    iid = max((mr["iid"] for mr in target.merge_requests), default=0) + 1
    stamp = now_iso()
    mr = {"id": emu.next_id("mr"), "iid": iid, "project_id": target.id,
          "title": data["title"], "description": data.get("description") or "",
          "state": "opened", "source_branch": data["source_branch"],
          "target_branch": data["target_branch"], "source_project_id": target.id,
          "target_project_id": target.id, "draft": data["title"].lower().startswith("draft"),
          "labels": [x for x in str(data.get("labels") or "").split(",") if x],
          "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
          "author": user.entity(request.base_url), "created_at": stamp, "updated_at": stamp,
          "web_url": f"{request.base_url}/{target.full_path}/-/merge_requests/{iid}",
          "references": {"short": f"!{iid}", "full": f"{target.full_path}!{iid}"},
          "remove_source_branch": boolean(data.get("remove_source_branch")),
          "squash": boolean(data.get("squash"))}
    target.merge_requests.append(mr)
    return json_response(201, _mr_view(target, mr))


def _mr_view(target: Project, mr: dict[str, Any]) -> dict[str, Any]:
    sha = target.repo.branches.get(mr["source_branch"])
    return {**mr, "sha": sha}


def list_mrs(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    state = request.arg("state") or "all"
    selected = [mr for mr in reversed(target.merge_requests)
                if state in ("all", mr["state"])
                and request.arg("source_branch") in (None, mr["source_branch"])
                and request.arg("target_branch") in (None, mr["target_branch"])]
    return paginate(request, [_mr_view(target, mr) for mr in selected])


def _mr(target: Project, iid: str) -> dict[str, Any]:
    found = next((mr for mr in target.merge_requests if str(mr["iid"]) == iid), None)
    if found is None:
        raise error(404, "404 Not found")
    return found


def get_mr(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    return json_response(200, _mr_view(target, _mr(target, request.params["iid"])))


def update_mr(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    mr = _mr(target, request.params["iid"])
    data = body(request)
    event = data.get("state_event")
    if event == "reopen" or data.get("target_branch"):
        _mr_conflict(target, mr["source_branch"], data.get("target_branch") or
                     mr["target_branch"], skip=mr["iid"])
    for field in ("title", "description", "target_branch"):
        if data.get(field) is not None:
            mr[field] = data[field]
    if "labels" in data:
        mr["labels"] = [x for x in str(data["labels"] or "").split(",") if x]
    mr["state"] = {"close": "closed", "reopen": "opened"}.get(event or "", mr["state"])
    mr["updated_at"] = now_iso()
    return json_response(200, _mr_view(target, mr))


# -- project CI/CD variables ------------------------------------------------------------------
def _variable_view(variable: dict[str, Any]) -> dict[str, Any]:
    return {"variable_type": variable["variable_type"], "key": variable["key"],
            "value": variable["value"], "hidden": False, "protected": variable["protected"],
            "masked": variable["masked"], "raw": variable["raw"],
            "environment_scope": variable["environment_scope"],
            "description": variable["description"]}


def _validate_variable(target: Project, variable: dict[str, Any], skip: Any = None) -> None:
    key = str(variable["key"])
    if len(key) > 255:
        raise error(400, {"key": ["is too long (maximum is 255 characters)"]})
    if not KEY_RULE.match(key):
        raise error(400, {"key": ["can contain only letters, digits and '_'."]})
    if variable["masked"] and not MASKABLE.match(str(variable["value"])):
        raise error(400, {"value": ["is invalid"]})
    if variable["variable_type"] not in ("env_var", "file"):
        raise error(400, {"variable_type": ["is not included in the list"]})
    for other in target.variables:
        if other is not skip and other["key"] == key and \
                other["environment_scope"] == variable["environment_scope"]:
            raise error(400, {"key": [f"({key}) has already been taken"]})


def list_variables(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    return paginate(request, [_variable_view(v) for v in target.variables])


def create_variable(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    data = body(request)
    require(data, "key")
    if data.get("value") is None:  # an empty value is allowed, a missing one is not
        raise param_error("value is missing")
    variable = {"key": data["key"], "value": str(data["value"]),
                "variable_type": data.get("variable_type") or "env_var",
                "protected": boolean(data.get("protected")),
                "masked": boolean(data.get("masked")), "raw": boolean(data.get("raw")),
                "environment_scope": data.get("environment_scope") or "*",
                "description": data.get("description")}
    _validate_variable(target, variable)
    target.variables.append(variable)
    return json_response(201, _variable_view(variable))


def _find_variable(target: Project, request: Request) -> dict[str, Any]:
    scope = request.arg("filter[environment_scope]")
    found = [v for v in target.variables if v["key"] == request.params["key"]
             and scope in (None, v["environment_scope"])]
    if not found:
        raise error(404, "404 Variable Not Found")
    if len(found) > 1:
        raise error(409, "There are multiple variables with provided parameters. Please use "
                         "'filter[environment_scope]'")
    return found[0]


def variable(emu: GitLabEmulator, request: Request) -> Response:
    """GET, PUT and DELETE of one variable."""
    target = project(emu, request, MAINTAINER)
    found = _find_variable(target, request)
    if request.method == "DELETE":
        target.variables.remove(found)
        return Response(204)
    if request.method == "PUT":
        data = body(request)
        updated = dict(found)
        for field in VARIABLE_FIELDS:
            if data.get(field) is not None:
                updated[field] = boolean(data[field]) if field in (
                    "protected", "masked", "raw") else str(data[field])
        _validate_variable(target, updated, skip=found)
        found.update(updated)
    return json_response(200, _variable_view(found))


# -- pipeline schedules -----------------------------------------------------------------------
def _check_schedule(schedule: dict[str, Any]) -> None:
    fields = str(schedule["cron"]).split()
    if len(fields) not in (5, 6) or not all(CRON_FIELD.match(f) for f in fields):
        raise error(400, {"cron": ["is invalid syntax"]})
    if schedule["cron_timezone"] in ("UTC", "Etc/UTC"):
        return  # known without the system's tz database, which slim images lack
    try:
        ZoneInfo(str(schedule["cron_timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise error(400, {"cron_timezone": ["is invalid syntax"]}) from None


def _schedule_view(schedule: dict[str, Any], details: bool) -> dict[str, Any]:
    view = {k: v for k, v in schedule.items() if k not in ("variables", "last_pipeline")}
    if details:
        view["last_pipeline"] = schedule.get("last_pipeline")
        view["variables"] = [dict(v) for v in schedule["variables"]]
    return view


def _schedule(target: Project, request: Request) -> dict[str, Any]:
    found = next((s for s in target.schedules
                  if str(s["id"]) == request.params["schedule"]), None)
    if found is None:
        raise error(404, "404 Pipeline Schedule Not Found")
    return found


def list_schedules(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    scope = request.arg("scope")
    chosen = [s for s in target.schedules if scope is None
              or s["active"] == (scope == "active")]
    return paginate(request, [_schedule_view(s, False) for s in chosen])


def create_schedule(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    data = body(request)
    require(data, "description", "ref", "cron")
    stamp = now_iso()
    schedule = {"id": emu.next_id("schedule"), "description": data["description"],
                "ref": data["ref"], "cron": data["cron"],
                "cron_timezone": data.get("cron_timezone") or "UTC",
                "next_run_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(),
                "active": boolean(data.get("active"), True), "created_at": stamp,
                "updated_at": stamp, "owner": authenticated(request).entity(request.base_url),
                "inputs": [], "variables": []}
    _check_schedule(schedule)
    target.schedules.append(schedule)
    return json_response(201, _schedule_view(schedule, True))


def _owned(request: Request, schedule: dict[str, Any]) -> None:
    """Changing a schedule needs its ownership (update_pipeline_schedule)."""
    if schedule["owner"]["id"] != authenticated(request).id:
        raise error(403, "403 Forbidden")


def schedule(emu: GitLabEmulator, request: Request) -> Response:
    """GET, PUT and DELETE of one schedule."""
    target = project(emu, request, DEVELOPER)
    found = _schedule(target, request)
    if request.method == "DELETE":
        if authenticated(request).role < MAINTAINER:
            _owned(request, found)
        target.schedules.remove(found)
        return Response(204)
    if request.method == "PUT":
        _owned(request, found)
        data = body(request)
        updated = dict(found)
        for field in ("description", "ref", "cron", "cron_timezone"):
            if data.get(field) is not None:
                updated[field] = data[field]
        if data.get("active") is not None:
            updated["active"] = boolean(data["active"])
        _check_schedule(updated)
        found.update(updated, updated_at=now_iso())
    return json_response(200, _schedule_view(found, True))


def play_schedule(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    found = _schedule(target, request)
    pipeline = emu.add_pipeline(target.full_path, found["ref"], "pending", source="schedule")
    found["last_pipeline"] = {k: pipeline[k] for k in ("id", "sha", "ref", "status")}
    return json_response(201, {"message": "201 Created"})


def take_ownership(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    found = _schedule(target, request)
    user = authenticated(request)
    status = 200 if found["owner"]["id"] == user.id else 201
    found["owner"] = user.entity(request.base_url)
    return json_response(status, _schedule_view(found, True))


def schedule_variable(emu: GitLabEmulator, request: Request) -> Response:
    """POST a schedule variable; PUT and DELETE one by key (DELETE answers 202 and the body)."""
    target = project(emu, request, DEVELOPER)
    found = _schedule(target, request)
    _owned(request, found)
    data = body(request)
    if request.method == "POST":
        require(data, "key", "value")
        if not KEY_RULE.match(str(data["key"])):
            raise error(400, {"key": ["can contain only letters, digits and '_'."]})
        if any(v["key"] == data["key"] for v in found["variables"]):
            raise error(400, {"key": ["has already been taken"]})
        created = {"key": data["key"], "value": str(data["value"]),
                   "variable_type": data.get("variable_type") or "env_var", "raw": False}
        found["variables"].append(created)
        return json_response(201, created)
    entry: dict[str, Any] | None = next(
        (v for v in found["variables"] if v["key"] == request.params.get("key")), None)
    if entry is None:
        raise error(404, "404 Pipeline Schedule Variable Not Found")
    if request.method == "DELETE":
        found["variables"].remove(entry)
        return json_response(202, entry)
    for field in ("value", "variable_type"):
        if data.get(field) is not None:
            entry[field] = str(data[field])
    return json_response(200, entry)


P = f"{API}/projects/{ID}"
MR = rf"{P}/merge_requests/(?P<iid>\d+)"
VAR = rf"{P}/variables/(?P<key>{SEG})"
SCHED = rf"{P}/pipeline_schedules/(?P<schedule>\d+)"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", f"{P}/merge_requests", list_mrs), ("POST", f"{P}/merge_requests", create_mr),
    ("GET", MR, get_mr), ("PUT", MR, update_mr),
    ("GET", f"{P}/variables", list_variables), ("POST", f"{P}/variables", create_variable),
    ("GET", VAR, variable), ("PUT", VAR, variable), ("DELETE", VAR, variable),
    ("GET", f"{P}/pipeline_schedules", list_schedules),
    ("POST", f"{P}/pipeline_schedules", create_schedule),
    ("GET", SCHED, schedule), ("PUT", SCHED, schedule), ("DELETE", SCHED, schedule),
    ("POST", SCHED + "/play", play_schedule),
    ("POST", SCHED + "/take_ownership", take_ownership),
    ("POST", SCHED + "/variables", schedule_variable),
    ("PUT", SCHED + rf"/variables/(?P<key>{SEG})", schedule_variable),
    ("DELETE", SCHED + rf"/variables/(?P<key>{SEG})", schedule_variable),
]
