"""A Jenkins controller as python-jenkins sees it: Basic auth with API tokens, CSRF crumbs,
folders, Pipeline jobs, builds and the queue (contract Part A).

    with JenkinsEmulator() as jenkins:
        jenkins.create_job("ml/fraud", script="pipeline { ... }")
        client = jenkins_lib.Jenkins(jenkins.url, jenkins.user, jenkins.token)
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from tests.emulators.base import Emulator, Handler, Request, Response
from tests.emulators.jenkins_model import Build, Item, QueueItem, folder_config, \
    parse_config, pipeline_config, serialise
from tests.emulators.jenkins_routes import ROUTES, html

DEFAULT_USER = "admin"
DEFAULT_TOKEN = "11a1b2c3d4e5f60718293a4b5c6d7e8f90"
DEFAULT_PASSWORD = "admin-password"
SESSION_COOKIE = "JSESSIONID.5f3c2a1b"
DEFAULT_PLUGINS = [
    {"shortName": "workflow-job", "longName": "Pipeline: Job", "version": "1520.v56d65e3b_4566"},
    {"shortName": "workflow-cps", "longName": "Pipeline: Groovy",
     "version": "4106.v7a_8a_8176d450"},
    {"shortName": "cloudbees-folder", "longName": "Folders",
     "version": "6.1012.v79a_86a_1ea_c1f"},
    {"shortName": "git", "longName": "Git plugin", "version": "5.7.0"},
    {"shortName": "pipeline-model-definition", "longName": "Pipeline: Declarative",
     "version": "2.2255.v56a_15e805f12"},
    {"shortName": "credentials", "longName": "Credentials Plugin",
     "version": "1415.v831096eb_5534"},
    {"shortName": "workflow-multibranch", "longName": "Pipeline: Multibranch",
     "version": "806.vb_b_688f609ee9"},
    {"shortName": "branch-api", "longName": "Branch API", "version": "2.1217.v43d8b_b_d8b_2c7"},
    {"shortName": "scm-api", "longName": "SCM API", "version": "704.v3ce5c542825a_"},
    {"shortName": "gitlab-branch-source", "longName": "GitLab Branch Source",
     "version": "718.v40b_a_1b_d0b_e3e"},
]


@dataclass
class JenkinsUser:
    id: str
    full_name: str
    password: str | None = None
    tokens: list[str] = field(default_factory=list)


class JenkinsEmulator(Emulator):
    """Settings, changeable between requests: `csrf` (crumb issuer on), `anonymous_read`
    (anonymous callers may GET; off as on a secured server, which makes a first
    `get_version()` fail exactly as it does for real), `version` (the X-Jenkins header)."""

    name = "jenkins"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session_id = secrets.token_hex(8)  # X-Jenkins-Session, constant per process
        self._salt = secrets.token_hex(8)
        super().__init__(host, port)

    # -- state -----------------------------------------------------------------------------
    def route_table(self) -> list[tuple[str, str, Handler]]:
        return ROUTES

    def reset_state(self) -> None:
        self.csrf = True
        self.anonymous_read = False
        self.version = "2.504.3"
        self.root = Item("", folder_config())
        self.queue: list[QueueItem] = []
        self.next_queue_id = 1
        self.plugins = [dict(p) for p in DEFAULT_PLUGINS]
        self.users: dict[str, JenkinsUser] = {}
        self.add_user(DEFAULT_USER, token=DEFAULT_TOKEN, password=DEFAULT_PASSWORD,
                      full_name="Administrator")

    @property
    def user(self) -> str:
        return DEFAULT_USER

    @property
    def token(self) -> str:
        return DEFAULT_TOKEN

    def resolve(self, folder_url: str) -> Item | None:
        """The item at a `job/a/job/b/` path (case-insensitive), or None."""
        item: Item | None = self.root
        for name in folder_url.split("/")[1::2]:
            if item is None or not item.is_group:
                return None
            item = item.child(name)
        return item

    def item(self, full_name: str) -> Item | None:
        return self.resolve("".join(f"job/{part}/" for part in full_name.split("/")))

    # -- seeding and inspection ------------------------------------------------------------
    def add_user(self, user_id: str, *, token: str | None = None, password: str | None = None,
                 full_name: str | None = None) -> JenkinsUser:
        with self.lock:
            user = JenkinsUser(user_id, full_name or user_id, password, [token] if token else [])
            self.users[user_id] = user
            return user

    def _parent_for(self, full_name: str) -> tuple[Item, str]:
        *folders, name = full_name.split("/")
        parent = self.root
        for folder in folders:
            parent = parent.child(folder) or parent.add(Item(folder, folder_config()))
        return parent, name

    def create_folder(self, full_name: str) -> Item:
        with self.lock:
            parent, name = self._parent_for(full_name)
            return parent.child(name) or parent.add(Item(name, folder_config()))

    def create_job(self, full_name: str, xml: str | None = None, *, script: str | None = None,
                   scm_url: str | None = None, **options: Any) -> Item:
        """Add a Pipeline job (parent folders as needed) from config `xml`, or built from an
        inline `script` or a Git `scm_url`."""
        config = parse_config(xml.encode()) if xml else pipeline_config(
            script, scm_url=scm_url, **options)
        with self.lock:
            parent, name = self._parent_for(full_name)
            return parent.add(Item(name, config))

    def add_build(self, job_name: str, result: str | None = "SUCCESS", *, duration: int = 0,
                  timestamp: int | None = None, building: bool = False,
                  artifacts: dict[str, bytes] | None = None) -> Build:
        """Append a build to a job's history (`duration`, `timestamp` in ms; `artifacts`:
        archived files by relativePath)."""
        with self.lock:
            job = self._job(job_name)
            build = Build(job.next_build_number, result, building, duration=duration,
                          artifacts=dict(artifacts or {}))
            if timestamp is not None:
                build.timestamp = timestamp
            job.next_build_number += 1
            job.builds.append(build)
            return build

    def run_queue(self, result: str | None = None, duration: int = 1000) -> list[Build]:
        """Start every waiting queue item; with `result`, finish the builds too."""
        with self.lock:
            started = []
            for entry in self.queue:
                if entry.build is None and not entry.cancelled:
                    entry.build = self.add_build(entry.job.full_name, None, building=True)
                    entry.build.queue_id = entry.id
                    started.append(entry.build)
            for build in started if result else []:
                build.building, build.result, build.duration = False, result, duration
            return started

    def finish_build(self, job_name: str, number: int, result: str = "SUCCESS",
                     duration: int = 1000) -> None:
        with self.lock:
            build = self._job(job_name).build(number)
            assert build is not None, f"{job_name} has no build {number}"
            build.building, build.result, build.duration = False, result, duration

    def _job(self, job_name: str) -> Item:
        job = self.item(job_name)
        assert job is not None and not job.is_folder, f"no job {job_name}"
        return job

    def active_plugins(self) -> set[str]:
        return {p["shortName"] for p in self.plugins if p.get("active", True) and p.get("enabled", True)}

    def index_branch(self, project: str, branch: str) -> Item:
        """What a Multibranch project's scan makes for a branch it found: a Pipeline job inside it,
        reading the branch's Jenkinsfile (Jenkins' own item: no description, no marker)."""
        with self.lock:
            owner = self.item(project)
            assert owner is not None and owner.is_group and not owner.is_folder, f"no multibranch {project}"
            script_path = owner.config.findtext("factory/scriptPath") or "Jenkinsfile"
            return owner.child(branch) or owner.add(Item(branch, pipeline_config(
                scm_url="(from the branch source)", branch=branch, script_path=script_path)))

    def config_xml(self, full_name: str) -> str:
        item = self.item(full_name)
        assert item is not None, f"no item {full_name}"
        return serialise(item.config).decode()

    def job_names(self) -> list[str]:
        """Full names of every item, folders included, depth first."""
        names: list[str] = []
        pending = list(reversed(self.root.sorted_children()))
        while pending:
            item = pending.pop()
            names.append(item.full_name)
            pending.extend(reversed(item.sorted_children()))
        return names

    def seed(self, data: dict[str, Any]) -> None:
        """Seed from plain data (the HTTP control form): users, folders, jobs, plugins, settings.
        A job is `{"name", "config" | "script" | "scm_url", "builds": [{"result", ...}]}`."""
        with self.lock:
            for user in data.get("users", []):
                self.add_user(user["id"], token=user.get("token"),
                              password=user.get("password"), full_name=user.get("full_name"))
            for folder in data.get("folders", []):
                self.create_folder(folder)
            for job in data.get("jobs", []):
                self.create_job(job["name"], job.get("config"), script=job.get("script"),
                                scm_url=job.get("scm_url"))
                for build in job.get("builds", []):
                    self.add_build(job["name"], **build)
            if "plugins" in data:
                self.plugins = data["plugins"]
            for key in ("csrf", "anonymous_read", "version"):
                if key in data.get("settings", {}):
                    setattr(self, key, data["settings"][key])

    def snapshot(self) -> dict[str, Any]:
        items = {}
        for name in self.job_names():
            item = self.item(name)
            assert item is not None
            items[name] = {"class": item.cls, "config": serialise(item.config).decode(),
                           "builds": [vars(b) for b in item.builds]}
        return {"items": items, "queue": [{"id": q.id, "job": q.job.full_name,
                                           "params": q.params, "started": q.build is not None}
                                          for q in self.queue],
                "users": sorted(self.users)}

    # -- authentication, crumbs and headers ------------------------------------------------
    def session_of(self, request: Request) -> tuple[str, str | None]:
        """The web session id from the cookie, or a new one with its Set-Cookie value."""
        cookie = SimpleCookie(request.headers.get("Cookie") or "")
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value, None
        session = secrets.token_hex(12)
        return session, f"{SESSION_COOKIE}={session}; Path=/; HttpOnly"

    def crumb_for(self, user: str | None, session: str) -> str:
        text = f"{self._salt}:{user or 'anonymous'}:{session}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _credentials(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("basic "):
            return None
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8", "replace")
        user_id, _, secret = decoded.partition(":")
        return user_id, secret

    def before(self, request: Request) -> Response | None:
        credentials = self._credentials(request)
        request.state["user"] = None
        if credentials is not None:
            user = self.users.get(credentials[0])
            if user is None or credentials[1] not in user.tokens + [user.password]:
                return html(401, f"Invalid password/token for user: {credentials[0]}",
                            {"WWW-Authenticate": 'Basic realm="Jenkins"'})
            request.state["user"] = user.id
            request.state["api_token"] = credentials[1] in user.tokens
        elif not self._anonymous_allowed(request):
            return html(403, "Authentication required", {
                "X-You-Are-Authenticated-As": "anonymous",
                "X-Required-Permission": "hudson.model.Hudson.Read"})
        needs_crumb = request.method == "POST" and self.csrf and not request.state.get(
            "api_token")  # ApiCrumbExclusion: API-token callers are exempt
        if needs_crumb and not self._crumb_ok(request):
            return html(403, "No valid crumb was included in the request")
        return None

    def _anonymous_allowed(self, request: Request) -> bool:
        if request.path.startswith("/whoAmI/"):
            return True
        return self.anonymous_read and request.method == "GET" and \
            not request.path.startswith("/me/")

    def _crumb_ok(self, request: Request) -> bool:
        cookie = SimpleCookie(request.headers.get("Cookie") or "")
        if SESSION_COOKIE not in cookie:
            return False
        expected = self.crumb_for(request.state["user"], cookie[SESSION_COOKIE].value)
        supplied = request.headers.get("Jenkins-Crumb")
        if supplied is None and request.content_type() == "application/x-www-form-urlencoded":
            supplied = request.form().get("Jenkins-Crumb")
        return supplied == expected

    def not_found(self, request: Request) -> Response:
        return html(404, "Not Found")

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.update({
            "X-Jenkins": self.version, "X-Hudson": "1.395",
            "X-Jenkins-Session": self.session_id, "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "deny"})
