"""Protected environments (GitLab Premium, `ee/lib/api/protected_environments.rb`), the user
lookup sync needs to name deployers, and deployment approvals (`POST /projects/:id/deployments/
:deployment_id/approval`): who may deploy to an environment, how many approvals a deployment
needs (the unified approval setting, `required_approval_count`), and who may give them.

Documented shapes: `GET/POST /projects/:id/protected_environments`, `GET/PUT/DELETE
/projects/:id/protected_environments/:name`; access levels 30, 40, 60; an entry names exactly
one of `access_level`, `user_id`, `group_id`; PUT adds entries without `id` and removes those
sent as `{id, _destroy: true}`; 0 to 5 required approvals. Unverified details (the 422 texts for
unknown users and groups) are marked where they are produced.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, SEG, authenticated, body, error, paginate, param_error, \
    project, require
from tests.emulators.gitlab_model import DEVELOPER, MAINTAINER, Project, User, now_iso

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

ACCESS_LEVELS = {30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
P = f"{API}/projects/{ID}/protected_environments"
ONE = rf"{P}/(?P<name>{SEG})"


def _store(target: Project) -> dict[str, dict[str, Any]]:
    # Kept on the project object: reset_state() makes new projects, so nothing leaks between tests.
    store: dict[str, dict[str, Any]] | None = getattr(target, "protected_environments", None)
    if store is None:
        store = {}
        setattr(target, "protected_environments", store)
    return store


def _entry(emu: GitLabEmulator, raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise param_error(f"{where} is invalid")
    given = [k for k in ("access_level", "user_id", "group_id") if raw.get(k) not in (None, "")]
    if len(given) != 1:
        raise param_error(f"{where}[access_level], {where}[user_id], {where}[group_id] are missing, "
                          "exactly one parameter must be provided" if not given else
                          f"{where}[access_level], {where}[user_id], {where}[group_id] are mutually exclusive")
    kind = given[0]
    try:
        value = int(raw[kind])
    except (TypeError, ValueError):
        raise param_error(f"{where}[{kind}] is invalid") from None
    entry = {"id": emu.next_id("deploy_access_level"), "access_level": None, "user_id": None, "group_id": None,
             "group_inheritance_type": int(raw.get("group_inheritance_type") or 0)}
    if kind == "access_level":
        if value not in ACCESS_LEVELS:
            raise param_error(f"{where}[access_level] does not have a valid value")
        entry.update(access_level=value, access_level_description=ACCESS_LEVELS[value])
    elif kind == "user_id":
        user = emu.users.get(value)
        if user is None:  # unverified text
            raise error(422, ["Deploy access levels user can't be blank"])
        entry.update(user_id=value, access_level_description=user.name)
    else:
        group = emu.groups.get(value)
        if group is None:  # unverified text
            raise error(422, ["Deploy access levels group can't be blank"])
        entry.update(group_id=value, access_level_description=group.name)
    return entry


def _approvals(data: dict[str, Any], default: int) -> int:
    raw = data.get("required_approval_count", default)
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise param_error("required_approval_count is invalid") from None
    if not 0 <= count <= 5:
        raise error(422, ["Required approval count must be less than or equal to 5"
                          if count > 5 else "Required approval count must be greater than or equal to 0"])
    return count


def list_protected(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    return paginate(request, [_store(target)[name] for name in sorted(_store(target))])


def protect(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    data = body(request)
    require(data, "name")
    levels = data.get("deploy_access_levels")
    if not isinstance(levels, list) or not levels:
        raise param_error("deploy_access_levels is missing" if levels is None else "deploy_access_levels is empty")
    name = str(data["name"])
    with emu.lock:
        if name in _store(target):
            raise error(409, f"Protected environment '{name}' already exists")
        entries = [_entry(emu, raw, f"deploy_access_levels[{i}]") for i, raw in enumerate(levels)]
        record = {"name": name, "deploy_access_levels": entries,
                  "required_approval_count": _approvals(data, 0), "approval_rules": []}
        _store(target)[name] = record
    return json_response(201, record)


def one(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, MAINTAINER)
    name = unquote(request.params["name"])
    with emu.lock:
        record = _store(target).get(name)
        if record is None:
            raise error(404, "404 Not found")
        if request.method == "GET":
            return json_response(200, record)
        if request.method == "DELETE":
            del _store(target)[name]
            return Response(204)
        data = body(request)
        levels = data.get("deploy_access_levels") or []
        if not isinstance(levels, list):
            raise param_error("deploy_access_levels is invalid")
        kept = list(record["deploy_access_levels"])
        for index, raw in enumerate(levels):
            where = f"deploy_access_levels[{index}]"
            if isinstance(raw, dict) and raw.get("id") is not None:
                if raw.get("_destroy") in (True, "true", 1, "1"):
                    kept = [e for e in kept if str(e["id"]) != str(raw["id"])]
                continue
            kept.append(_entry(emu, raw, where))
        if not kept:  # unverified text; the model requires at least one deployer
            raise error(422, ["Deploy access levels can't be blank"])
        record.update(deploy_access_levels=kept,
                      required_approval_count=_approvals(data, record["required_approval_count"]))
        return json_response(200, record)


def add_deployment(emu: GitLabEmulator, full_path: str, environment: str, *, user: str | None = None,
                   ref: str = "main") -> dict[str, Any]:
    """A deployment as a pipeline's deploy job makes it: `blocked` while its protected environment
    needs approvals, else `created`. Called through GitLabEmulator.add_deployment."""
    target = emu.project(full_path)
    by = next(u for u in emu.users.values() if u.username == (user or emu.user))
    protection = _store(target).get(environment)
    required = protection["required_approval_count"] if protection else 0
    with emu.lock:
        deployments: list[dict[str, Any]] = getattr(target, "deployments", [])
        setattr(target, "deployments", deployments)
        record = {"id": emu.next_id("deployment"), "iid": len(deployments) + 1, "ref": ref,
                  "sha": target.repo.branches.get(ref), "status": "blocked" if required else "created",
                  "environment": {"name": environment}, "user_id": by.id, "required": required,
                  "approvals": [], "created_at": now_iso()}
        deployments.append(record)
    return record


def _deployment_view(emu: GitLabEmulator, record: dict[str, Any], base: str) -> dict[str, Any]:
    approved = sum(1 for a in record["approvals"] if a["status"] == "approved")
    view = {k: v for k, v in record.items() if k not in ("user_id", "required")}
    return {**view, "user": emu.users[record["user_id"]].entity(base),
            "pending_approval_count": max(record["required"] - approved, 0) if record["status"] == "blocked" else 0}


def _deployment(target: Project, ident: str) -> dict[str, Any]:
    found = next((d for d in getattr(target, "deployments", []) if str(d["id"]) == ident), None)
    if found is None:
        raise error(404, "404 Not found")
    return found


def get_deployment(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    return json_response(200, _deployment_view(emu, _deployment(target, request.params["deployment_id"]),
                                               request.base_url))


def _may_deploy(emu: GitLabEmulator, target: Project, user: User, protection: dict[str, Any]) -> bool:
    role = user.role if user.projects is None or target.id in user.projects else 0
    for level in protection["deploy_access_levels"]:
        if level["user_id"] == user.id or (level["access_level"] is not None and role >= level["access_level"]):
            return True
        group = emu.groups.get(level["group_id"]) if level["group_id"] is not None else None
        if group is not None and user.id in getattr(group, "members", set()):
            return True
    return False


def approve_deployment(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    user = authenticated(request)
    data = body(request)
    require(data, "status")
    if data["status"] not in ("approved", "rejected"):
        raise param_error("status does not have a valid value")
    with emu.lock:
        record = _deployment(target, request.params["deployment_id"])
        protection = _store(target).get(record["environment"]["name"])
        # the texts below are unverified (Deployments::ApprovalService)
        if record["status"] != "blocked" or protection is None:
            raise error(400, "This deployment job is not waiting for approvals.")
        if not _may_deploy(emu, target, user, protection):
            raise error(400, "You do not have permission to approve or reject this deployment.")
        if record["user_id"] == user.id:
            raise error(400, "You cannot approve your own deployment.")
        approval = {"user": user.entity(request.base_url), "status": data["status"],
                    "created_at": now_iso(), "comment": data.get("comment")}
        record["approvals"] = [a for a in record["approvals"] if a["user"]["id"] != user.id] + [approval]
        if data["status"] == "rejected":
            record["status"] = "canceled"
        elif sum(1 for a in record["approvals"] if a["status"] == "approved") >= record["required"]:
            record["status"] = "created"  # unblocked: the deploy job may run
    return json_response(201, approval)


def list_users(emu: GitLabEmulator, request: Request) -> Response:
    wanted = request.arg("username")
    users = [u for u in emu.users.values() if wanted is None or u.username.lower() == wanted.lower()]
    return paginate(request, [u.entity(request.base_url) for u in sorted(users, key=lambda u: u.id)])


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", P, list_protected), ("POST", P, protect),
    ("GET", ONE, one), ("PUT", ONE, one), ("DELETE", ONE, one),
    ("GET", f"{API}/users", list_users),
    ("GET", rf"{API}/projects/{ID}/deployments/(?P<deployment_id>\d+)", get_deployment),
    ("POST", rf"{API}/projects/{ID}/deployments/(?P<deployment_id>\d+)/approval", approve_deployment),
]
