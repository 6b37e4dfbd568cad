"""Jenkins backend: read the fleet's jobs in one `tree=` query, plan per job, apply, prune.

Only python-jenkins talks to the server. Creates and updates are single POSTs through its
`jenkins_open` (its `create_job` adds two existence GETs per job that the tree query already
answered); a retried create that had in fact succeeded is turned into an update.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ServerError
from .jenkins_xml import FOLDER_CLASS, JobSpec, folder_xml, job_xml, marker_hash, semantic
from .model import Change

REQUIRED_PLUGINS = {"workflow-job": "Pipeline jobs", "workflow-cps": "Pipeline scripts",
                    "cloudbees-folder": "folders", "git": "jobs that read the Jenkinsfile from git"}
_XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


@dataclass(frozen=True)
class Item:
    name: str  # full name as Jenkins stores it
    kind: str  # "folder" | "job"
    hash: str | None  # content hash from a ci-gen marker; None: not managed


class JenkinsState:
    """Items found by the tree query, looked up case-insensitively as Jenkins does."""

    def __init__(self, items: list[Item]) -> None:
        self.items = {item.name.lower(): item for item in items}

    def add_folder(self, name: str) -> None:
        self.items[name.lower()] = Item(name, "folder", None)

    def get(self, name: str) -> Item | None:
        return self.items.get(name.lower())

    def managed_jobs(self) -> list[Item]:
        return [i for i in self.items.values() if i.kind == "job" and i.hash is not None]


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(one-line message, "server"|"user") for an exception raised while talking to Jenkins."""
    import jenkins
    import requests

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        detail = exc.response.headers.get("X-Error") or exc.response.reason
        return f"Jenkins answered {exc.response.status_code}: {detail}", "user"
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, jenkins.TimeoutException)):
        return f"Jenkins unreachable: {type(exc).__name__}", "server"
    if isinstance(exc, jenkins.JenkinsException):
        return f"Jenkins: {text}", "server" if ("[5" in text or "authentication" in text) else "user"
    return f"unexpected error: {type(exc).__name__}: {text}", "internal"


class JenkinsBackend:
    def __init__(self, client: Any) -> None:
        self.client = client

    def check_plugins(self, needed: set[str]) -> None:
        """Fail early, with the names to install, when the jobs' plugins are missing."""
        try:
            info = self.client.get_info(item="pluginManager",
                                        query="?tree=plugins[shortName,active,enabled]")
        except Exception as exc:  # noqa: BLE001 - translated at the edge into one line
            raise ServerError(f"cannot read Jenkins plugins at {self.client.server}: "
                              f"{describe_error(exc)[0]}") from None
        active = {p.get("shortName") for p in info.get("plugins", []) if p.get("active", True)}
        missing = sorted(needed - active)
        if missing:
            why = ", ".join(f"{name} ({REQUIRED_PLUGINS.get(name, 'required')})" for name in missing)
            raise ServerError(f"Jenkins at {self.client.server} lacks plugins: {why}; install them first")

    def read_state(self, depth: int) -> JenkinsState:
        """Every item down to `depth` folder levels, with descriptions, in ONE request."""
        tree = "jobs[name,description]"
        for _ in range(depth):
            tree = f"jobs[name,description,{tree}]"
        try:
            info = self.client.get_info(query=f"?tree={tree}")
        except Exception as exc:  # noqa: BLE001
            raise ServerError(f"cannot read Jenkins jobs at {self.client.server}: {describe_error(exc)[0]}") from None
        items: list[Item] = []
        _walk(info.get("jobs", []), "", items)
        return JenkinsState(items)

    def plan_job(self, spec: JobSpec, state: JenkinsState, verify: bool, diff: bool) -> Change:
        """The job's change; its folders are planned fleet-wide by the caller (shared by projects)."""
        for folder in _prefixes(spec.folder):
            item = state.get(folder)
            if item is not None and item.kind != "folder":
                raise ValueError(f"'{folder}' exists in Jenkins and is not a folder")
        xml, digest = job_xml(spec)
        live = state.get(spec.full_name)
        if live is None:
            return Change("jenkins", "job", spec.full_name, "create", None, xml if diff else None)
        if live.kind != "job":
            raise ValueError(f"'{spec.full_name}' exists in Jenkins and is a folder, not a job")
        if live.hash is None:
            raise ValueError(f"job '{spec.full_name}' exists and is not managed by ci-gen (no marker); "
                             "rename or delete it before ci-gen can own it")
        return self._compare(spec.full_name, xml, digest, live, verify, diff)

    def _compare(self, name: str, xml: str, digest: str, live: Item, verify: bool, diff: bool) -> Change:
        if live.hash == digest and not verify:
            return Change("jenkins", "job", name, "unchanged")
        current = self.client.get_job_config(name) if (verify or diff) else None
        if verify and live.hash == digest and semantic(current or "") == semantic(xml):
            return Change("jenkins", "job", name, "unchanged")
        detail = "edited in Jenkins since the last sync" if live.hash == digest else "content changed"
        return Change("jenkins", "job", name, "update", current if diff else None, xml if diff else None, detail)

    def create_folder(self, name: str) -> None:
        self._post_item(name, folder_xml(), is_job=False)

    def apply_job(self, spec: JobSpec, change: Change) -> None:
        xml, _ = job_xml(spec)
        if change.action == "create":
            self._post_item(spec.full_name, xml, is_job=True)
        elif change.action == "update":
            self.client.reconfig_job(spec.full_name, xml)

    def _post_item(self, full_name: str, xml: str, is_job: bool) -> None:
        import requests

        folder, _, short = full_name.rpartition("/")
        url = self.client._build_url("%(folder_url)screateItem?name=%(short_name)s",
                                     {"folder_url": _folder_url(folder), "short_name": short})
        try:
            self.client.jenkins_open(requests.Request("POST", url, data=xml.encode("utf-8"),
                                                      headers=_XML_HEADERS))
        except requests.HTTPError as exc:
            # 400 "already exists": an earlier attempt (a retried POST, a killed run) created it.
            if exc.response is None or exc.response.status_code != 400:
                raise
            if is_job:
                self.client.reconfig_job(full_name, xml)

    def delete_job(self, name: str) -> None:
        import jenkins

        try:
            self.client.delete_job(name)
        except jenkins.NotFoundException:
            pass  # already gone: a retried or interrupted delete


def _folder_url(folder: str) -> str:
    return "".join(f"job/{part}/" for part in folder.split("/")) if folder else ""


def _prefixes(folder: str) -> list[str]:
    parts = folder.split("/") if folder else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def missing_folders(folder: str, state: JenkinsState) -> list[str]:
    return [p for p in _prefixes(folder) if state.get(p) is None]


def _walk(jobs: list[dict[str, Any]], prefix: str, out: list[Item]) -> None:
    for job in jobs:
        name = job.get("name")
        if not name:
            continue  # a stub past the requested depth
        full = f"{prefix}{name}"
        is_folder = "jobs" in job or job.get("_class") == FOLDER_CLASS
        out.append(Item(full, "folder" if is_folder else "job",
                        None if is_folder else marker_hash(job.get("description"))))
        if is_folder:
            _walk(job.get("jobs") or [], f"{full}/", out)
