"""What every GitLab handler shares: error bodies (contract B.2), offset pagination (behaviour
23), access checks and the project entity."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, parse_qsl

from tests.emulators.base import HttpError, Request, Response, json_response
from tests.emulators.gitlab_model import DEVELOPER, Group, Project, User

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

API = "/api/v4"
ID = r"(?P<id>[^/]+)"  # numeric id or URL-encoded path: a literal "/" never matches
SEG = r"[^/]+"
MAX_COUNTED = 10_000  # beyond this GitLab stops counting (X-Total, X-Total-Pages, rel=last)


def error(status: int, message: Any) -> HttpError:
    """`{"message": ...}`: not_found!, forbidden!, conflict!, render_validation_error!."""
    return HttpError(json_response(status, {"message": message}))


def param_error(message: str) -> HttpError:
    """Grape parameter validation uses the `error` key."""
    return HttpError(json_response(400, {"error": message}))


def require(data: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if data.get(n) in (None, "")]
    if missing:
        raise param_error(", ".join(f"{n} is missing" for n in missing))


def body(request: Request) -> dict[str, Any]:
    """JSON body merged over the query string: Grape reads parameters from both."""
    merged: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
    if request.content_type() == "application/json":
        merged.update(request.json())
    elif request.content_type() == "application/x-www-form-urlencoded":
        merged.update(request.form())
    return merged


def boolean(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes", "t")


def current_user(request: Request) -> User | None:
    return request.state.get("user")


def authenticated(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise error(401, "401 Unauthorized")
    return user


def project(emu: GitLabEmulator, request: Request, level: int = 0) -> Project:
    """The `:id` project if the caller may see it (404 otherwise) and holds `level`."""
    ident = request.params["id"]
    found = emu.projects.get(int(ident)) if ident.isdigit() else next(
        (p for p in emu.projects.values() if p.full_path.lower() == ident.lower()), None)
    user = current_user(request)
    visible = found is not None and (found.visibility == "public" or (
        user is not None and (user.projects is None or found.id in user.projects)))
    if found is None or not visible:
        raise error(404, "404 Project Not Found")
    if level:
        role = user.role if user is not None and (
            user.projects is None or found.id in user.projects) else 0
        if user is None:
            raise error(401, "401 Unauthorized")
        if role < level:
            raise error(403, "403 Forbidden")
    return found


def can_push(user: User, target: Project, branch: str) -> bool:
    return user.role >= DEVELOPER and (branch not in target.protected_branches
                                       or user.role > DEVELOPER)


def decode_content(content: str, encoding: str | None) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except ValueError as exc:
            raise param_error("content is invalid base64") from exc
    return content.encode("utf-8")


def paginate(request: Request, items: list[Any], default_per_page: int = 20) -> Response:
    """One page of `items` with GitLab's offset pagination headers and Link."""
    page = _positive(request.arg("page"), 1)
    per_page = min(_positive(request.arg("per_page"), default_per_page), 100)
    total = len(items)
    pages = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page:page * per_page]
    has_next = page * per_page < total
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page),
               "X-Next-Page": str(page + 1) if has_next else "",
               "X-Prev-Page": str(page - 1) if page > 1 else ""}
    links = []
    if page > 1:
        links.append((page - 1, "prev"))
    if has_next:
        links.append((page + 1, "next"))
    links.append((1, "first"))
    if total <= MAX_COUNTED:
        headers.update({"X-Total": str(total), "X-Total-Pages": str(pages)})
        links.append((pages, "last"))
    headers["Link"] = ", ".join(f'<{_page_url(request, n, per_page)}>; rel="{rel}"'
                                for n, rel in links)
    return json_response(200, chunk, headers)


def _positive(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and int(text) > 0 else default


def _page_url(request: Request, page: int, per_page: int) -> str:
    query = [(k, v) for k, v in parse_qsl(request.raw_query, keep_blank_values=True)
             if k not in ("page", "per_page")]
    query += [("page", str(page)), ("per_page", str(per_page))]
    return f"{request.base_url}{request.path}?{urlencode(query)}"


def namespace_entity(ns: Group | User, base: str) -> dict[str, Any]:
    if isinstance(ns, Group):
        return {"id": ns.id, "name": ns.name, "path": ns.path, "kind": "group",
                "full_path": ns.full_path, "parent_id": ns.parent.id if ns.parent else None,
                "web_url": f"{base}/groups/{ns.full_path}"}
    return {"id": ns.id, "name": ns.name, "path": ns.username, "kind": "user",
            "full_path": ns.username, "parent_id": None, "web_url": f"{base}/{ns.username}"}


def project_entity(p: Project, base: str, user: User | None) -> dict[str, Any]:
    web = f"{base}/{p.full_path}"
    api = f"{base}{API}/projects/{p.id}"
    entity: dict[str, Any] = {
        "id": p.id, "description": p.description, "name": p.name,
        "name_with_namespace": f"{p.namespace.name} / {p.name}", "path": p.path,
        "path_with_namespace": p.full_path, "created_at": p.created_at,
        "default_branch": p.default_branch if not p.repo.empty else None,
        "visibility": p.visibility, "web_url": web, "http_url_to_repo": f"{web}.git",
        "ssh_url_to_repo": f"git@127.0.0.1:{p.full_path}.git", "empty_repo": p.repo.empty,
        "archived": False, "namespace": namespace_entity(p.namespace, base),
        "last_activity_at": p.created_at, "topics": [],
        "_links": {"self": api, "issues": f"{api}/issues", "merge_requests":
                   f"{api}/merge_requests", "repo_branches": f"{api}/repository/branches"},
    }
    if user is not None and (user.projects is None or p.id in user.projects):
        entity["permissions"] = {"project_access": {"access_level": user.role,
                                                    "notification_level": 3},
                                 "group_access": None}
    return entity
