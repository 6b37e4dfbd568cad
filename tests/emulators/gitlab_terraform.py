"""GitLab-managed Terraform state (`lib/api/terraform/state.rb`, documented in "GitLab-managed
Terraform state" and the Terraform HTTP backend docs): what the `infra` step's `-backend-config`
settings point at.

    GET    /projects/:id/terraform/state/:name        200 the state, 204 when there is none
    POST   /projects/:id/terraform/state/:name?ID=..  store (Maintainer); 409 when locked by another ID
    DELETE /projects/:id/terraform/state/:name        delete (Maintainer)
    POST   /projects/:id/terraform/state/:name/lock   lock with Terraform's lock info (JSON, its `ID`);
                                                       200 with the lock info, 409 with the holder's
    DELETE /projects/:id/terraform/state/:name/lock   unlock; the lock info's `ID` must match (409)

Reading needs Developer, writing and locking Maintainer. Terraform's HTTP backend authenticates
with HTTP Basic (a username and a personal access token, or `gitlab-ci-token` and a job token):
the emulator's `before` takes the password as the token.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, SEG, authenticated, error, project
from tests.emulators.gitlab_model import DEVELOPER, MAINTAINER, Project

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

STATE = rf"{API}/projects/{ID}/terraform/state/(?P<name>{SEG})"


def _states(target: Project) -> dict[str, dict[str, Any]]:
    # on the project object: reset_state() makes new projects, so nothing leaks between tests
    store: dict[str, dict[str, Any]] | None = getattr(target, "terraform_states", None)
    if store is None:
        store = {}
        setattr(target, "terraform_states", store)
    return store


def _lock_id(request: Request) -> str | None:
    try:
        info = request.json() if request.body else {}
    except ValueError:
        info = {}
    return (info.get("ID") if isinstance(info, dict) else None) or request.arg("ID")


def get_state(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    state = _states(project(emu, request, DEVELOPER)).get(request.params["name"])
    if state is None or state.get("value") is None:
        return Response(204)
    return Response(200, state["value"], {"Content-Type": "application/json"})


def post_state(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    target = project(emu, request, MAINTAINER)
    with emu.lock:
        state = _states(target).setdefault(request.params["name"], {"value": None, "lock": None})
        if state["lock"] is not None and state["lock"].get("ID") != request.arg("ID"):
            return json_response(409, state["lock"])
        if not request.body:
            return Response(204)
        state["value"] = request.body
    return Response(200)


def delete_state(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    states = _states(project(emu, request, MAINTAINER))
    if request.params["name"] not in states:
        raise error(404, "404 Not Found")
    del states[request.params["name"]]
    return json_response(200, {"message": "State deleted"})


def lock(emu: GitLabEmulator, request: Request) -> Response:
    user = authenticated(request)
    target = project(emu, request, MAINTAINER)
    info = request.json() if request.body else {}
    with emu.lock:
        state = _states(target).setdefault(request.params["name"], {"value": None, "lock": None})
        if state["lock"] is not None:
            return json_response(409, state["lock"])
        state["lock"] = {**{k: info.get(k) for k in ("Operation", "Info", "Version", "Path")},
                         "ID": info.get("ID"), "Who": user.username}
        return json_response(200, state["lock"])


def unlock(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    target = project(emu, request, MAINTAINER)
    with emu.lock:
        state = _states(target).get(request.params["name"])
        if state is None:
            raise error(404, "404 Not Found")
        held = state["lock"]
        if held is not None and held.get("ID") != _lock_id(request):
            return json_response(409, held)
        state["lock"] = None
    return Response(200)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", STATE, get_state), ("POST", STATE, post_state), ("DELETE", STATE, delete_state),
    ("POST", f"{STATE}/lock", lock), ("DELETE", f"{STATE}/lock", unlock),
]
