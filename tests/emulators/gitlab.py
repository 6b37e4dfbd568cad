"""GitLab REST v4 as python-gitlab sees it (contract Part B).

    with GitLabEmulator() as gitlab:
        gitlab.add_project("ml/fraud", files={"ci-gen.yaml": "..."})
        client = gitlab_lib.Gitlab(gitlab.url, private_token=gitlab.token)
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from tests.emulators import gitlab_ci, gitlab_deploy, gitlab_environments, gitlab_repo, gitlab_settings, \
    gitlab_terraform
from tests.emulators.base import Emulator, Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, authenticated, current_user, error, \
    paginate, project, project_entity, namespace_entity, boolean
from tests.emulators.gitlab_model import MAINTAINER, Group, Project, User, now_iso

DEFAULT_USER = "ci-gen-bot"
DEFAULT_TOKEN = "glpat-emulator-0123456789ab"
VERSION = {"version": "17.11.2", "revision": "3c5f1e4a2b9", "kas": {"enabled": False,
           "externalUrl": None, "version": None}, "enterprise": False}


class GitLabEmulator(Emulator):
    """Settings: `legacy_lint` (True models a pre-16.0 server whose `POST /ci/lint` answers)."""

    name = "gitlab"

    def route_table(self) -> list[tuple[str, str, Handler]]:
        own: list[tuple[str, str, Handler]] = [
            ("GET", f"{API}/version", version), ("GET", f"{API}/user", current),
            ("GET", f"{API}/projects", list_projects),
            ("GET", f"{API}/projects/{ID}", get_project),
            ("GET", f"{API}/groups", list_groups),
            ("GET", f"{API}/groups/{ID}", get_group),
            ("GET", f"{API}/groups/{ID}/projects", group_projects),
            ("GET", f"{API}/groups/{ID}/subgroups", subgroups),
        ]
        return (own + gitlab_repo.ROUTES + gitlab_settings.ROUTES + gitlab_ci.ROUTES + gitlab_environments.ROUTES
                + gitlab_deploy.ROUTES + gitlab_terraform.ROUTES)

    def reset_state(self) -> None:
        self.legacy_lint = False
        self.deploy_history: dict[int, list[dict[str, Any]]] = {}  # project id -> finished deployments
        self.environment_ids: dict[int, dict[str, int]] = {}
        self.artifact_files: dict[int, dict[str, bytes]] = {}  # job id -> archive contents
        self.users: dict[int, User] = {}
        self.tokens: dict[str, User] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self.add_user(DEFAULT_USER, DEFAULT_TOKEN, name="ci-gen bot")

    def next_id(self, kind: str) -> int:
        return next(self._ids.setdefault(kind, itertools.count(1)))

    @property
    def token(self) -> str:
        return DEFAULT_TOKEN

    @property
    def user(self) -> str:
        return DEFAULT_USER

    # -- seeding ---------------------------------------------------------------------------
    def add_user(self, username: str, token: str | None = None, *, role: int = MAINTAINER,
                 projects: set[int] | None = None, name: str | None = None) -> User:
        """A user whose `token` grants `role` on `projects` (None: on every project)."""
        with self.lock:
            user = User(self.next_id("user"), username, name or username, role, projects)
            self.users[user.id] = user
            if token:
                self.tokens[token] = user
            return user

    def add_deployment(self, full_path: str, environment: str, *, user: str | None = None,
                       ref: str = "main") -> dict[str, Any]:
        """A deployment to `environment` by `user` (default: the bot): blocked while its protected
        environment needs approvals (POST .../deployments/:id/approval gives them)."""
        return gitlab_environments.add_deployment(self, full_path, environment, user=user, ref=ref)

    def add_group_member(self, full_path: str, username: str) -> None:
        """Make `username` a member of the group (what protected environments' group_id entries check)."""
        group = self.group(full_path)
        user = next(u for u in self.users.values() if u.username == username)
        assert group is not None
        members: set[int] = getattr(group, "members", set())
        members.add(user.id)
        setattr(group, "members", members)

    def group(self, full_path: str) -> Group | None:
        return next((g for g in self.groups.values()
                     if g.full_path.lower() == full_path.lower()), None)

    def add_group(self, full_path: str) -> Group:
        """A group with its parents, as needed."""
        with self.lock:
            parent: Group | None = None
            for depth, part in enumerate(full_path.split("/"), start=1):
                path = "/".join(full_path.split("/")[:depth])
                found = self.group(path)
                if found is None:
                    found = Group(self.next_id("namespace"), part, part, parent)
                    self.groups[found.id] = found
                parent = found
            assert parent is not None
            return parent

    def add_project(self, full_path: str, files: dict[str, str | bytes] | None = None, *,
                    branch: str = "main", visibility: str = "private",
                    executable: tuple[str, ...] = ()) -> Project:
        """A project in its group (created as needed), with `files` committed on `branch`."""
        with self.lock:
            namespace, _, path = full_path.rpartition("/")
            owner = self.add_group(namespace) if namespace else next(iter(self.users.values()))
            target = Project(self.next_id("project"), path, path, owner, visibility)
            target.default_branch = branch
            self.projects[target.id] = target
            if files:
                self.commit_files(full_path, files, branch=branch, executable=executable)
            return target

    def project(self, full_path: str) -> Project:
        found = next((p for p in self.projects.values() if p.full_path == full_path), None)
        assert found is not None, f"no project {full_path}"
        return found

    def commit_files(self, full_path: str, files: Mapping[str, str | bytes | None], *,
                     branch: str = "main", message: str = "seed",
                     executable: tuple[str, ...] = ()) -> str:
        """Commit straight to `branch` (None deletes a file); returns the commit id."""
        with self.lock:
            target = self.project(full_path)
            parent = target.repo.resolve(branch)
            merged = dict(parent.files) if parent else {}
            for path, content in files.items():
                if content is None:
                    merged.pop(path, None)
                else:
                    merged[path] = content.encode() if isinstance(content, str) else content
            marked = (parent.executable if parent else set()) | set(executable)
            commit = target.repo.commit(parent, merged, marked, message,
                                        ("Seeder", "seed@example.com"))
            target.repo.branches[branch] = commit.id
            return commit.id

    def files(self, full_path: str, ref: str | None = None) -> dict[str, bytes]:
        """The files at `ref` (default branch), for assertions."""
        target = self.project(full_path)
        commit = target.repo.resolve(ref or target.default_branch)
        return dict(commit.files) if commit else {}

    def add_pipeline(self, full_path: str, ref: str = "main", status: str = "success", *,
                     duration: float | None = None, created_at: str | None = None,
                     source: str = "push", jobs: list[dict[str, Any]] | None = None
                     ) -> dict[str, Any]:
        """A pipeline on `ref` (its history: status, duration in seconds, jobs)."""
        with self.lock:
            target = self.project(full_path)
            head = target.repo.resolve(ref)
            created = created_at or now_iso()
            pipeline_id = self.next_id("pipeline")
            finished = _plus(created, duration) if duration is not None else None
            pipeline = {
                "id": pipeline_id, "iid": len(target.pipelines) + 1, "project_id": target.id,
                "sha": head.id if head else "0" * 40, "ref": ref, "status": status,
                "source": source, "created_at": created, "updated_at": finished or created,
                "web_url": f"{self.url}/{target.full_path}/-/pipelines/{pipeline_id}",
                "name": None, "before_sha": "0" * 40, "tag": False, "yaml_errors": None,
                "user": next(iter(self.users.values())).entity(self.url),
                "started_at": created if duration is not None else None,
                "finished_at": finished, "committed_at": created, "duration": duration,
                "queued_duration": 0.5, "coverage": None,
                "detailed_status": {"group": status, "text": status, "label": status}}
            target.pipelines.append(pipeline)
            for job in jobs or []:
                self._add_job(target, pipeline, **job)
            return pipeline

    def add_finished_deployment(self, full_path: str, environment: str, status: str = "success",
                                **details: Any) -> dict[str, Any]:
        """Deployment history: a deployment with its deploy job and artifacts (see
        gitlab_deploy.add_finished_deployment)."""
        return gitlab_deploy.add_finished_deployment(self, full_path, environment, status, **details)

    def _add_job(self, target: Project, pipeline: dict[str, Any], name: str,
                 stage: str = "test", status: str | None = None,
                 duration: float | None = None, trace: str = "") -> None:
        job_id = self.next_id("job")
        target.jobs.append({
            "id": job_id, "name": name, "stage": stage, "status": status or pipeline["status"],
            "ref": pipeline["ref"], "tag": False, "allow_failure": False,
            "created_at": pipeline["created_at"], "started_at": pipeline["started_at"],
            "finished_at": _plus(pipeline["created_at"], duration) if duration else None,
            "erased_at": None, "duration": duration, "queued_duration": 0.2,
            "coverage": None, "user": pipeline["user"],
            "commit": {"id": pipeline["sha"], "short_id": pipeline["sha"][:8]},
            "pipeline": {k: pipeline[k] for k in ("id", "project_id", "ref", "sha", "status")},
            "web_url": f"{self.url}/{target.full_path}/-/jobs/{job_id}", "artifacts": [],
            "runner": None, "tag_list": [], "trace": trace,
            **({"failure_reason": "script_failure"} if status == "failed" else {})})

    def seed(self, data: dict[str, Any]) -> None:
        """Seed from plain data (the HTTP control form): users, groups, projects, pipelines."""
        with self.lock:
            for user in data.get("users", []):
                self.add_user(user["username"], user.get("token"),
                              role=user.get("role", MAINTAINER), name=user.get("name"))
            for group in data.get("groups", []):
                self.add_group(group)
            for spec in data.get("projects", []):
                self.add_project(spec["path"], spec.get("files"),
                                 branch=spec.get("branch", "main"),
                                 visibility=spec.get("visibility", "private"))
            for pipeline in data.get("pipelines", []):
                self.add_pipeline(pipeline.pop("project"), **pipeline)
            self.legacy_lint = data.get("settings", {}).get("legacy_lint", self.legacy_lint)

    def snapshot(self) -> dict[str, Any]:
        projects = {}
        for p in self.projects.values():
            projects[p.full_path] = {
                "id": p.id, "default_branch": p.default_branch,
                "branches": {name: sorted(p.repo.commits[sha].files)
                             for name, sha in p.repo.branches.items()},
                "commits": len(p.repo.commits), "merge_requests": p.merge_requests,
                "variables": p.variables, "schedules": p.schedules,
                "pipelines": len(p.pipelines)}
        return {"projects": projects, "groups": sorted(g.full_path for g in self.groups.values())}

    # -- authentication --------------------------------------------------------------------
    def before(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization") or ""
        token = request.headers.get("PRIVATE-TOKEN") or (
            header[7:].strip() if header.lower().startswith("bearer ") else None) or _basic_password(header)
        job_token = request.headers.get("JOB-TOKEN")
        request.state["user"] = None
        if token is not None or job_token is not None:
            user = self.tokens.get(token or "") if token is not None else None
            if user is None:  # job tokens are not issued by this emulator
                return json_response(401, {"message": "401 Unauthorized"})
            request.state["user"] = user
        elif request.method != "GET":
            return json_response(401, {"message": "401 Unauthorized"})
        return None


def _basic_password(header: str) -> str | None:
    """HTTP Basic, as Terraform's HTTP backend sends it: the password is the token."""
    if not header.lower().startswith("basic "):
        return None
    import base64
    import binascii

    try:
        return base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")[2] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _plus(start: str, seconds: float | None) -> str:
    moment = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (moment + timedelta(seconds=seconds or 0)).strftime("%Y-%m-%dT%H:%M:%S.%f")[
        :-3] + "Z"


# -- instance, project and group endpoints ----------------------------------------------------
def version(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    return json_response(200, VERSION)


def current(emu: GitLabEmulator, request: Request) -> Response:
    user = authenticated(request)
    return json_response(200, {**user.entity(request.base_url), "is_admin": False,
                               "bot": False, "email": f"{user.username}@example.com"})


def get_project(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    return json_response(200, project_entity(target, request.base_url,
                                             current_user(request)))


def _visible(emu: GitLabEmulator, request: Request, candidates: list[Project]) -> list[Project]:
    user = current_user(request)
    return [p for p in candidates if p.visibility == "public" or (
        user is not None and (user.projects is None or p.id in user.projects))]


def _project_page(emu: GitLabEmulator, request: Request, chosen: list[Project]) -> Response:
    search = (request.arg("search") or "").lower()
    chosen = [p for p in _visible(emu, request, chosen) if search in p.name.lower()]
    ascending = request.arg("sort") == "asc"
    chosen.sort(key=lambda p: p.id, reverse=not ascending)
    user = current_user(request)
    return paginate(request, [project_entity(p, request.base_url, user) for p in chosen])


def list_projects(emu: GitLabEmulator, request: Request) -> Response:
    return _project_page(emu, request, list(emu.projects.values()))


def _group(emu: GitLabEmulator, request: Request) -> Group:
    ident = request.params["id"]
    found = emu.groups.get(int(ident)) if ident.isdigit() else emu.group(ident)
    if found is None or current_user(request) is None:
        raise error(404, "404 Group Not Found")
    return found


def _group_entity(group: Group, base: str) -> dict[str, Any]:
    entity = namespace_entity(group, base)
    entity.pop("kind")
    return {**entity, "description": "", "visibility": "private", "full_name": group.full_path}


def get_group(emu: GitLabEmulator, request: Request) -> Response:
    return json_response(200, _group_entity(_group(emu, request), request.base_url))


def list_groups(emu: GitLabEmulator, request: Request) -> Response:
    authenticated(request)
    return paginate(request, [_group_entity(g, request.base_url)
                              for g in sorted(emu.groups.values(), key=lambda g: g.full_path)])


def _descends(group: Group, ancestor: Group) -> bool:
    current_group: Group | None = group
    while current_group is not None:
        if current_group is ancestor:
            return True
        current_group = current_group.parent
    return False


def group_projects(emu: GitLabEmulator, request: Request) -> Response:
    group = _group(emu, request)
    deep = boolean(request.arg("include_subgroups"))
    chosen = [p for p in emu.projects.values() if isinstance(p.namespace, Group) and (
        p.namespace is group or (deep and _descends(p.namespace, group)))]
    return _project_page(emu, request, chosen)


def subgroups(emu: GitLabEmulator, request: Request) -> Response:
    group = _group(emu, request)
    return paginate(request, [_group_entity(g, request.base_url)
                              for g in emu.groups.values() if g.parent is group])
