"""The exported (api/json) form of Jenkins objects: root, folders, Pipeline jobs, builds, queue
items, the current user and plugins. Field names and classes follow contract A.2."""
from __future__ import annotations

from typing import Any

from tests.emulators.jenkins_json import Node
from tests.emulators.jenkins_model import Build, Item, QueueItem

ALL_VIEW = "hudson.model.AllView"
BUILD_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
MAX_BUILDS = 100  # Job.getBuilds() as exported holds at most 100 builds


def _view(base: str, item: Item) -> Node:
    url = f"{base}/{item.url_path}"
    return Node(ALL_VIEW, {"name": "all", "url": url}, ("name", "url"))


def build_node(base: str, job: Item, build: Build) -> Node:
    url = f"{base}/{job.url_path}{build.number}/"
    previous = job.build(build.number - 1)
    following = job.build(build.number + 1)
    return Node(BUILD_CLASS, {
        "actions": [], "building": build.building,
        "artifacts": [Node("hudson.model.Run$Artifact", {
            "displayPath": path.rsplit("/", 1)[-1], "fileName": path.rsplit("/", 1)[-1],
            "relativePath": path}) for path in sorted(build.artifacts)],
        "description": None, "displayName": f"#{build.number}",
        "duration": 0 if build.building else build.duration,
        "estimatedDuration": build.duration or -1,
        "fullDisplayName": f"{job.full_name.replace('/', ' » ')} #{build.number}",
        "id": str(build.number), "inProgress": build.building, "keepLog": False,
        "number": build.number, "queueId": build.queue_id,
        "result": None if build.building else build.result,
        "timestamp": build.timestamp, "url": url, "changeSets": [], "culprits": [],
        "previousBuild": (lambda: build_node(base, job, previous)) if previous else None,
        "nextBuild": (lambda: build_node(base, job, following)) if following else None,
    }, ("number", "url"))


def _last(base: str, job: Item, results: tuple[str, ...] | None,
          completed: bool = False) -> Node | None:
    for build in reversed(job.builds):
        if completed and build.building:
            continue
        if results is None or (not build.building and build.result in results):
            return build_node(base, job, build)
    return None


def _job_node(base: str, job: Item, queue: list[QueueItem]) -> Node:
    waiting = next((q for q in queue if q.job is job and q.build is None and not q.cancelled),
                   None)
    newest = list(reversed(job.builds))
    props: dict[str, Any] = {
        "actions": [], "description": job.config.findtext("description") or None,
        "displayName": job.name, "fullDisplayName": job.full_name.replace("/", " » "),
        "fullName": job.full_name, "name": job.name, "url": f"{base}/{job.url_path}",
        "buildable": not job.disabled, "color": job.color(),
        "builds": lambda: [build_node(base, job, b) for b in newest[:MAX_BUILDS]],
        "allBuilds": lambda: [build_node(base, job, b) for b in newest],
        "firstBuild": lambda: build_node(base, job, job.builds[0]) if job.builds else None,
        "lastBuild": lambda: _last(base, job, None),
        "lastCompletedBuild": lambda: _last(base, job, None, completed=True),
        "lastFailedBuild": lambda: _last(base, job, ("FAILURE",)),
        "lastStableBuild": lambda: _last(base, job, ("SUCCESS",)),
        "lastSuccessfulBuild": lambda: _last(base, job, ("SUCCESS", "UNSTABLE")),
        "lastUnstableBuild": lambda: _last(base, job, ("UNSTABLE",)),
        "lastUnsuccessfulBuild": lambda: _last(base, job, ("FAILURE", "UNSTABLE", "ABORTED")),
        "healthReport": [], "inQueue": waiting is not None, "keepDependencies": False,
        "nextBuildNumber": job.next_build_number, "property": [],
        "queueItem": (lambda: queue_node(base, waiting)) if waiting else None,
        "concurrentBuild": True, "resumeBlocked": False,
    }
    return Node(job.cls, props, ("name", "url", "color"), frozenset({"allBuilds"}))


def item_node(base: str, item: Item, queue: list[QueueItem]) -> Node:
    if not item.is_group:  # a folder or a Multibranch project: its items are `jobs`
        return _job_node(base, item, queue)
    props: dict[str, Any] = {
        "actions": [], "description": item.config.findtext("description") or None,
        "displayName": item.name, "fullDisplayName": item.full_name.replace("/", " » "),
        "fullName": item.full_name, "name": item.name, "url": f"{base}/{item.url_path}",
        "healthReport": [],
        "jobs": lambda: [item_node(base, child, queue) for child in item.sorted_children()],
        "primaryView": _view(base, item), "views": [_view(base, item)],
    }
    return Node(item.cls, props, ("name", "url"))


def root_node(base: str, root: Item, queue: list[QueueItem], use_crumbs: bool) -> Node:
    return Node("hudson.model.Hudson", {
        "assignedLabels": [{"name": "built-in"}], "mode": "NORMAL", "nodeDescription":
        "the Jenkins controller's built-in node", "nodeName": "", "numExecutors": 2,
        "description": None,
        "jobs": lambda: [item_node(base, child, queue) for child in root.sorted_children()],
        "overallLoad": {}, "primaryView": _view(base, root), "quietDownReason": None,
        "quietingDown": False, "slaveAgentPort": -1, "unlabeledLoad": {
            "_class": "jenkins.model.UnlabeledLoadStatistics"},
        "url": f"{base}/", "useCrumbs": use_crumbs, "useSecurity": True,
        "views": [_view(base, root)],
    })


def queue_node(base: str, entry: QueueItem) -> Node:
    started = entry.build is not None
    kind = "LeftItem" if started or entry.cancelled else "WaitingItem"
    executable = build_node(base, entry.job, entry.build) if entry.build else None
    return Node(f"hudson.model.Queue${kind}", {
        "actions": [], "blocked": False, "buildable": False, "id": entry.id,
        "inQueueSince": entry.since, "params": "".join(f"\n{k}={v}" for k, v in
                                                        entry.params.items()),
        "stuck": False, "task": {"_class": entry.job.cls, "name": entry.job.name,
                                 "url": f"{base}/{entry.job.url_path}",
                                 "color": entry.job.color()},
        "url": f"queue/item/{entry.id}/", "why": None if started else "In the quiet period.",
        "cancelled": entry.cancelled, "executable": executable,
    }, ("id", "url"))


def user_node(base: str, user_id: str, full_name: str) -> Node:
    return Node("hudson.model.User", {
        "absoluteUrl": f"{base}/user/{user_id}", "description": None, "fullName": full_name,
        "id": user_id, "property": [],
    })


def plugins_node(plugins: list[dict[str, Any]]) -> Node:
    entries = [Node("hudson.PluginWrapper", {
        "active": p.get("active", True), "backupVersion": None, "bundled": False,
        "deleted": False, "dependencies": [], "detached": False, "downgradable": False,
        "enabled": p.get("enabled", True), "hasUpdate": False,
        "longName": p.get("longName", p["shortName"]), "pinned": False,
        "requiredCoreVersion": "2.479.3", "shortName": p["shortName"],
        "supportsDynamicLoad": "MAYBE", "url": f"https://plugins.jenkins.io/{p['shortName']}",
        "version": p["version"]}) for p in plugins]
    return Node("hudson.LocalPluginManager", {"plugins": entries})
