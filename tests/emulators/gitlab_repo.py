"""GitLab repository endpoints: files, tree, commits with several actions, branches
(contract B.3, behaviours 15, 17 and 18)."""
from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, SEG, authenticated, body, boolean, \
    can_push, current_user, decode_content, error, paginate, param_error, project, require
from tests.emulators.gitlab_model import REPORTER, Commit, Project, User, blob_id

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

ACTIONS = ("create", "update", "delete", "move", "chmod")
EXISTS = "A file with this name already exists"
MISSING = "A file with this name doesn't exist"


def _commit_at(target: Project, ref: str | None, missing: str) -> Commit:
    found = target.repo.resolve(ref)
    if found is None:
        raise error(404, missing)
    return found


def _file_fields(target: Project, commit: Commit, path: str, ref: str) -> dict[str, Any]:
    if path not in commit.files:
        raise error(404, "404 File Not Found")
    content = commit.files[path]
    return {"file_name": path.rsplit("/", 1)[-1], "file_path": path, "size": len(content),
            "encoding": "base64", "content_sha256": hashlib.sha256(content).hexdigest(),
            "ref": ref, "blob_id": blob_id(content), "commit_id": commit.id,
            "last_commit_id": target.repo.last_commit_for(path, commit),
            "execute_filemode": path in commit.executable}


def _file_headers(fields: dict[str, Any]) -> dict[str, str]:
    """`X-Gitlab-File-Name` and friends (headers_helpers.rb): each key capitalised part-wise."""
    headers = {}
    for key, value in fields.items():
        name = "X-Gitlab-" + "-".join(part.capitalize() for part in key.split("_"))
        headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return headers


def get_file(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, REPORTER if current_user(request) else 0)
    ref = request.arg("ref")
    if not ref:
        raise param_error("ref is missing")
    commit = _commit_at(target, ref, "404 Commit Not Found")
    fields = _file_fields(target, commit, request.params["file"], ref)
    headers = _file_headers(fields)
    if request.method == "HEAD":
        return Response(200, b"", headers)
    content = base64.b64encode(commit.files[fields["file_path"]]).decode()
    return json_response(200, {**fields, "content": content}, headers)


def raw_file(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    ref = request.arg("ref") or target.default_branch
    commit = _commit_at(target, ref, "404 Commit Not Found")
    fields = _file_fields(target, commit, request.params["file"], ref or "")
    return Response(200, commit.files[fields["file_path"]],
                    {"Content-Type": "text/plain; charset=utf-8", **_file_headers(fields)})


def write_file(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    required = ("branch", "commit_message") if request.method == "DELETE" else (
        "branch", "content", "commit_message")
    require(data, *required)
    action = {"POST": "create", "PUT": "update", "DELETE": "delete"}[request.method]
    data["start_branch"] = data.get("start_branch") or data["branch"]  # files.rb commit_params
    data["actions"] = [{"action": action, "file_path": request.params["file"],
                        "content": data.get("content"), "encoding": data.get("encoding"),
                        "last_commit_id": data.get("last_commit_id"),
                        "execute_filemode": data.get("execute_filemode")}]
    target = project(emu, request, REPORTER)
    apply_commit(target, authenticated(request), data, files_api=True)
    if request.method == "DELETE":
        return Response(204)
    status = 201 if request.method == "POST" else 200
    return json_response(status, {"file_path": request.params["file"], "branch": data["branch"]})


def _base_commit(target: Project, user: User, data: dict[str, Any]) -> Commit | None:
    """The commit the change starts from, enforcing the branch rules (create_service.rb)."""
    branch, start_branch, start_sha = data["branch"], data.get("start_branch"), \
        data.get("start_sha")
    if start_branch and start_sha:
        raise error(400, "You can't pass both start_branch and start_sha")
    if not can_push(user, target, branch):
        raise error(403, "You are not allowed to push into this branch")
    repo = target.repo
    if repo.empty:
        return None
    exists = branch in repo.branches
    if start_sha:
        start = repo.resolve(start_sha)
        if start is None:
            raise error(400, f"Cannot find start_sha '{start_sha}'")
    elif start_branch:
        if start_branch not in repo.branches:
            raise error(400, f"Failed to find start branch '{start_branch}'")
        start = repo.resolve(start_branch)
    elif exists:
        start = repo.resolve(branch)
    else:
        raise error(400, "You can only create or edit files when you are on a branch")
    differs = start is not None and repo.branches.get(branch) != start.id
    if exists and differs and not boolean(data.get("force")):
        raise error(400, f"A branch called '{branch}' already exists. Switch to that branch "
                         "in order to make changes")
    return start


def _apply_action(target: Project, base: Commit | None, files: dict[str, bytes],
                  executable: set[str], action: dict[str, Any], files_api: bool) -> None:
    kind, path = action.get("action"), action.get("file_path") or ""
    if kind not in ACTIONS:
        raise param_error("actions[action] does not have a valid value")
    if not path:
        raise error(400, "You must provide a file path")
    if ".." in path.split("/"):
        raise error(400, "Path cannot include directory traversal")
    stale = action.get("last_commit_id")
    if stale and base is not None and path in base.files and \
            stale != target.repo.last_commit_for(path, base):
        raise error(400, "You are attempting to update a file that has changed since you "
                         "started editing it." if files_api else
                    f"The file has changed since you started editing it: {path}")
    content = action.get("content")
    if kind == "create":
        if path in files:
            raise error(400, EXISTS)
        if any(p.startswith(path + "/") for p in files):
            raise error(400, "A directory with this name already exists")
        files[path] = decode_content(content or "", action.get("encoding"))
    elif kind == "move":
        previous = action.get("previous_path") or ""
        if previous not in files:
            raise error(400, MISSING)
        if path in files:
            raise error(400, EXISTS)
        data = files.pop(previous)
        files[path] = data if content is None else decode_content(content,
                                                                  action.get("encoding"))
        if previous in executable:
            executable.add(path)
    elif path not in files:
        raise error(400, MISSING)
    elif kind == "update":
        files[path] = decode_content(content or "", action.get("encoding"))
    elif kind == "delete":
        del files[path]
    if kind == "chmod" or action.get("execute_filemode") is not None:
        (executable.add if boolean(action.get("execute_filemode")) else executable.discard)(path)


def apply_commit(target: Project, user: User, data: dict[str, Any],
                 files_api: bool = False) -> Commit:
    """Apply every action or none; move the branch to the new commit."""
    base = _base_commit(target, user, data)
    files = dict(base.files) if base else {}
    executable = set(base.executable) if base else set()
    actions = data.get("actions") or []
    if not isinstance(actions, list) or not actions:
        raise param_error("actions is missing")
    for action in actions:
        _apply_action(target, base, files, executable, action, files_api)
    author = (data.get("author_name") or user.name,
              data.get("author_email") or f"{user.username}@example.com")
    commit = target.repo.commit(base, files, executable, data["commit_message"], author)
    target.repo.branches[data["branch"]] = commit.id
    if target.default_branch is None or target.default_branch not in target.repo.branches:
        target.default_branch = data["branch"]
    return commit


def _stats(target: Project, commit: Commit) -> dict[str, int]:
    parent = target.repo.commits[commit.parent_ids[0]] if commit.parent_ids else None
    before = parent.files if parent else {}
    added = deleted = 0
    for path in set(before) | set(commit.files):
        old = before.get(path, b"").splitlines()
        new = commit.files.get(path, b"").splitlines()
        if old != new:
            added, deleted = added + len(set(new) - set(old)), deleted + len(set(old) - set(new))
    return {"additions": added, "deletions": deleted, "total": added + deleted}


def commit_entity(target: Project, commit: Commit, base: str) -> dict[str, Any]:
    return {**commit.entity(base, target.full_path), "stats": _stats(target, commit),
            "status": None, "project_id": target.id, "last_pipeline": None}


def create_commit(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    require(data, "branch", "commit_message", "actions")
    target = project(emu, request, REPORTER)
    commit = apply_commit(target, authenticated(request), data)
    return json_response(201, commit_entity(target, commit, request.base_url))


def list_commits(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    ref = request.arg("ref_name") or target.default_branch
    head = target.repo.resolve(ref)
    history: list[dict[str, Any]] = []
    while head is not None:
        history.append(head.entity(request.base_url, target.full_path))
        head = target.repo.commits[head.parent_ids[0]] if head.parent_ids else None
    return paginate(request, history)


def get_commit(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    commit = _commit_at(target, request.params["sha"], "404 Commit Not Found")
    return json_response(200, commit_entity(target, commit, request.base_url))


def tree(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    commit = _commit_at(target, request.arg("ref") or target.default_branch,
                        "404 Tree Not Found")
    entries = target.repo.tree(commit, request.arg("path") or "",
                               boolean(request.arg("recursive")))
    if entries is None:
        raise error(404, "404 Tree Not Found")
    return paginate(request, entries)


def branch_entity(target: Project, name: str, user: User | None, base: str) -> dict[str, Any]:
    commit = target.repo.commits[target.repo.branches[name]]
    return {"name": name, "merged": False, "protected": name in target.protected_branches,
            "default": name == target.default_branch, "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": bool(user and can_push(user, target, name)),
            "web_url": f"{base}/{target.full_path}/-/tree/{name}",
            "commit": commit.entity(base, target.full_path)}


def list_branches(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    search = request.arg("search") or ""
    names = sorted(n for n in target.repo.branches if search in n)
    return paginate(request, [branch_entity(target, n, current_user(request),
                                            request.base_url) for n in names])


def get_branch(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    name = request.params["branch"]
    if name not in target.repo.branches:
        if request.method == "HEAD":
            return Response(404)
        raise error(404, "404 Branch Not Found")
    if request.method == "HEAD":
        return Response(204)
    entity = branch_entity(target, name, current_user(request), request.base_url)
    return json_response(200, entity)


def create_branch(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    require(data, "branch", "ref")
    target = project(emu, request, REPORTER)
    user = authenticated(request)
    if not can_push(user, target, data["branch"]):
        raise error(403, "403 Forbidden")
    if data["branch"] in target.repo.branches:
        raise error(400, "Branch already exists")
    start = target.repo.resolve(data["ref"])
    if start is None:
        raise error(400, f"Invalid reference name: {data['ref']}")
    target.repo.branches[data["branch"]] = start.id
    return json_response(201, branch_entity(target, data["branch"], user, request.base_url))


def delete_branch(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, REPORTER)
    name = request.params["branch"]
    if name not in target.repo.branches:
        raise error(404, "404 Branch Not Found")
    if name == target.default_branch:
        raise error(405, "The default branch of a project cannot be deleted.")
    if not can_push(authenticated(request), target, name):
        raise error(403, "403 Forbidden")
    del target.repo.branches[name]
    return Response(204)


P = f"{API}/projects/{ID}"
FILE = rf"{P}/repository/files/(?P<file>{SEG})"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", FILE, get_file), ("HEAD", FILE, get_file), ("GET", FILE + "/raw", raw_file),
    ("POST", FILE, write_file), ("PUT", FILE, write_file), ("DELETE", FILE, write_file),
    ("GET", f"{P}/repository/tree", tree),
    ("POST", f"{P}/repository/commits", create_commit),
    ("GET", f"{P}/repository/commits", list_commits),
    ("GET", rf"{P}/repository/commits/(?P<sha>{SEG})", get_commit),
    ("GET", f"{P}/repository/branches", list_branches),
    ("POST", f"{P}/repository/branches", create_branch),
    ("GET", rf"{P}/repository/branches/(?P<branch>{SEG})", get_branch),
    ("HEAD", rf"{P}/repository/branches/(?P<branch>{SEG})", get_branch),
    ("DELETE", rf"{P}/repository/branches/(?P<branch>{SEG})", delete_branch),
]
