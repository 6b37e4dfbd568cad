"""Jenkins backend: read the fleet's jobs in one `tree=` query, plan per job, apply, prune.

Only python-jenkins talks to the server. Creates and updates are single POSTs through its
`jenkins_open` (its `create_job` adds two existence GETs per job that the tree query already
answered); a retried create that had in fact succeeded is turned into an update.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import CiGenError, InternalError, ServerError, UserError
from .multibranch import MULTIBRANCH_CLASS, PLUGINS as SOURCE_PLUGINS
from .job_xml import FOLDER_CLASS, JobSpec, Marker, config_digest, folder_xml, \
    has_marker_text, job_xml, read_marker, semantic
from ..base import Change

REQUIRED_PLUGINS = {"workflow-job": "Pipeline jobs", "workflow-cps": "Pipeline scripts",
                    "cloudbees-folder": "folders", "git": "jobs that read the Jenkinsfile from git",
                    "workflow-multibranch": "Multibranch Pipeline projects", "branch-api": "branch sources",
                    "gitlab-branch-source": "GitLab branch sources"}
# A job whose kind changed: Jenkins cannot change an item's class by posting config.xml, so the
# proven job is deleted and created again (its builds go with it).
REPLACED = "kind changed: the job is deleted and created again"
_XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


@dataclass(frozen=True)
class Item:
    name: str  # full name as Jenkins stores it
    kind: str  # "folder" | "job"
    marker: Marker | None = None  # what the description claims; None: no (current) ci-gen marker
    marked: bool = False  # the description holds marker text, readable or not
    cls: str = ""  # Jenkins' class of the item (`_class`), for a job: Pipeline or Multibranch


class JenkinsState:
    """Items found by the tree query, looked up case-insensitively as Jenkins does."""

    def __init__(self, items: list[Item]) -> None:
        self.items = {item.name.lower(): item for item in items}

    def add_folder(self, name: str) -> None:
        self.items[name.lower()] = Item(name, "folder")

    def get(self, name: str) -> Item | None:
        return self.items.get(name.lower())

    def marked_jobs(self, fleet: str) -> list[Item]:
        """Jobs whose marker names this fleet: candidates, not yet proven (see `prove`)."""
        return [i for i in self.items.values() if i.kind == "job" and i.marker is not None
                and i.marker.fleet == fleet]


class NotOurs(ValueError):
    """A job ci-gen may not change or delete: another fleet's, made by hand, or modified
    outside ci-gen since it was written (a copy included)."""


def translate_error(exc: BaseException) -> CiGenError:
    """An exception raised while talking to Jenkins, as ci-gen's own: one line, and a class that
    says whose the problem is (a 5xx, a failed login or a lost connection is the server's)."""
    import jenkins
    import requests

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        detail = exc.response.headers.get("X-Error") or exc.response.reason
        return UserError(f"Jenkins answered {exc.response.status_code}: {detail}")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, jenkins.TimeoutException)):
        return ServerError(f"Jenkins unreachable: {type(exc).__name__}")
    if isinstance(exc, jenkins.JenkinsException):
        return (ServerError if ("[5" in text or "authentication" in text) else UserError)(f"Jenkins: {text}")
    return InternalError(f"unexpected error: {type(exc).__name__}: {text}")


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
                              f"{translate_error(exc)}") from None
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
            raise ServerError(f"cannot read Jenkins jobs at {self.client.server}: {translate_error(exc)}") from None
        items: list[Item] = []
        _walk(info.get("jobs", []), "", items)
        return JenkinsState(items)

    def plan_job(self, spec: JobSpec, state: JenkinsState, verify: bool, diff: bool) -> Change:
        """The job's change; its folders are planned fleet-wide by the caller (shared by projects).
        An existing job is changed only once it is proven this fleet's and unmodified (`prove`)."""
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
        claim = owned_claim(live, spec.fleet)
        if claim.digest == digest and not verify:
            return Change("jenkins", "job", spec.full_name, "unchanged")  # the cheap check
        current = self.prove(live.name, claim, spec.fleet)
        if claim.digest == digest:
            return Change("jenkins", "job", spec.full_name, "unchanged")
        replaced = bool(live.cls) and live.cls != spec.item_class
        return Change("jenkins", "job", spec.full_name, "update", current if diff else None,
                      xml if diff else None, REPLACED if replaced else "content changed")

    def prove(self, name: str, claim: Marker, fleet: str) -> str:
        """The live config.xml of a job whose marker names this fleet, once it is shown to be
        what ci-gen wrote there: its digest, computed from the live fields and the job's own
        name, equals the marker's. Raises NotOurs otherwise: a copy ("Copy from" keeps the
        description, not the name), a pasted marker, an edit made in Jenkins."""
        current: str = self.client.get_job_config(name)
        if config_digest(name, fleet, current) != claim.digest:
            raise NotOurs(f"job '{name}' was modified outside ci-gen (its config is not what ci-gen wrote "
                          "there: edited in Jenkins, copied from a managed job, or a pasted marker); "
                          "ci-gen neither overwrites nor deletes it: revert the edit or delete the job")
        return current

    def create_folder(self, name: str) -> None:
        self._post_item(name, folder_xml(), None)

    def apply_job(self, spec: JobSpec, change: Change) -> None:
        xml, _ = job_xml(spec)
        if change.action == "create":
            self._post_item(spec.full_name, xml, spec)
        elif change.action == "update" and change.detail == REPLACED:
            self.delete_job(spec.full_name)  # proven this fleet's and unmodified by the plan
            self._post_item(spec.full_name, xml, spec)
        elif change.action == "update":
            self.client.reconfig_job(spec.full_name, xml)

    def _post_item(self, full_name: str, xml: str, spec: JobSpec | None) -> None:
        """One POST to createItem. A 400 is an error (a bad name, a name taken), unless the item
        turns out to be exactly what this POST wanted: a retried POST or a killed run created it."""
        import requests

        folder, _, short = full_name.rpartition("/")
        url = self.client._build_url("%(folder_url)screateItem?name=%(short_name)s",
                                     {"folder_url": _folder_url(folder), "short_name": short})
        try:
            self.client.jenkins_open(requests.Request("POST", url, data=xml.encode("utf-8"),
                                                      headers=_XML_HEADERS))
        except requests.HTTPError as exc:
            if exc.response is None or exc.response.status_code != 400:
                raise
            if not self._already_made(full_name, spec):
                raise

    def _already_made(self, full_name: str, spec: JobSpec | None) -> bool:
        import jenkins

        try:
            if spec is None:
                info = self.client.get_job_info(full_name, depth=0)
                return bool(info.get("_class") == FOLDER_CLASS and info.get("fullName", full_name).lower()
                            == full_name.lower())
            current = self.client.get_job_config(full_name)
        except jenkins.JenkinsException:  # NotFoundException included: the 400 was about something else
            return False
        _, digest = job_xml(spec)
        claim = read_marker(semantic(current)["description"])  # type: ignore[arg-type]
        return claim is not None and claim.fleet == spec.fleet and claim.digest == digest \
            and config_digest(full_name, spec.fleet, current) == digest

    def delete_job(self, name: str) -> None:
        import jenkins

        try:
            self.client.delete_job(name)
        except jenkins.NotFoundException:
            pass  # already gone: a retried or interrupted delete


def owned_claim(live: Item, fleet: str) -> Marker:
    """The marker of a job this fleet may manage, or NotOurs saying why it may not."""
    if live.marker is None:
        why = ("carries a ci-gen marker without a fleet id (written by an older ci-gen, or by hand)"
               if live.marked else "is not managed by ci-gen (no marker)")
        raise NotOurs(f"job '{live.name}' exists and {why}; rename or delete it before ci-gen can own it")
    if live.marker.fleet != fleet:
        raise NotOurs(f"job '{live.name}' is managed by fleet '{live.marker.fleet}', not '{fleet}'; "
                      "ci-gen leaves another fleet's jobs alone")
    return live.marker


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
        full, cls = f"{prefix}{name}", job.get("_class", "")
        # A Multibranch project holds jobs (one per branch) but is a job ci-gen owns, and what
        # Jenkins makes inside it is Jenkins' own: neither a folder nor walked into.
        is_folder = cls != MULTIBRANCH_CLASS and ("jobs" in job or cls == FOLDER_CLASS)
        description = None if is_folder else job.get("description")
        out.append(Item(full, "folder" if is_folder else "job", read_marker(description),
                        has_marker_text(description), cls))
        if is_folder:
            _walk(job.get("jobs") or [], f"{full}/", out)


def plugins_for(spec: JobSpec) -> set[str]:
    """The plugins Jenkins needs to load this job's config.xml."""
    if spec.multibranch is not None:
        return {"workflow-job", "workflow-cps", "workflow-multibranch", "branch-api",
                SOURCE_PLUGINS[spec.multibranch.source]}
    needed = {"workflow-job", "workflow-cps"}
    return needed | ({"git"} if spec.definition == "scm" else set())
