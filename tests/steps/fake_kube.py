"""A small fake Kubernetes API server for the rollout step's tests (stdlib http.server).

Models what the real `kubectl` needs for apply, get, patch, delete, set image, rollout status
and rollout undo: discovery, Deployments with a synchronous deployment controller (ReplicaSet
per pod template, revision annotations, status), ReplicaSets, Services, list/label selectors,
watches, and merge / strategic-merge / JSON patches. A container whose image contains
"broken" never becomes available, so a rollout of it times out.
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from typing import Any

RESOURCES = {  # plural -> (group/version, kind)
    "services": ("v1", "Service"),
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
    "secrets": ("v1", "Secret"),
}
SHORT_NAMES = {"services": ["svc"], "deployments": ["deploy"], "replicasets": ["rs"], "networkpolicies": ["netpol"], "secrets": []}
GROUPS = ("apps/v1", "networking.k8s.io/v1")  # the API groups served besides the core v1
REVISION = "deployment.kubernetes.io/revision"


class Store:
    """Objects by (plural, namespace, name) with a global resourceVersion and change events."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, plural, type, obj)
        self.rv = 100
        self.cond = threading.Condition()
        self.requests: list[tuple[str, str]] = []

    def _record(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, plural, kind, copy.deepcopy(obj)))
        self.cond.notify_all()

    def put(self, plural: str, obj: dict[str, Any], created: bool) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (plural, meta.get("namespace", ""), meta["name"])
        self.objects[key] = obj
        self._record(plural, "ADDED" if created else "MODIFIED", obj)
        return obj

    def delete(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.objects.pop((plural, namespace, name), None)
        if obj is not None:
            self._record(plural, "DELETED", obj)
        return obj

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        return [o for (p, ns, _), o in sorted(self.objects.items()) if p == plural and ns == namespace]


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif labels.get(term) is None:
            return False
    return True


def _normalize(value: Any) -> Any:
    """For the template hash: drop nulls and empty maps/lists, which kubectl adds to templates it
    sends back (`creationTimestamp: null`, `resources: {}`) and API defaulting would equalise."""
    if isinstance(value, dict):
        items = {k: _normalize(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


class DeploymentController:
    """What kube-controller-manager does for a Deployment, done at once on every write."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def owned_sets(self, dep: dict[str, Any]) -> list[dict[str, Any]]:
        uid = dep["metadata"]["uid"]
        return [rs for rs in self.store.list("replicasets", dep["metadata"]["namespace"])
                if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences", []))]

    def sync(self, dep: dict[str, Any]) -> None:
        template = copy.deepcopy(dep["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {}).pop("pod-template-hash", None)
        digest = hashlib.sha256(json.dumps(_normalize(template), sort_keys=True).encode()).hexdigest()[:10]
        sets = self.owned_sets(dep)
        top = max((int(rs["metadata"]["annotations"].get(REVISION, "0")) for rs in sets), default=0)
        current = next((rs for rs in sets if rs["metadata"]["labels"].get("pod-template-hash") == digest), None)
        if current is None:
            current = self._new_set(dep, template, digest, top + 1)
        elif int(current["metadata"]["annotations"][REVISION]) != top:
            current["metadata"]["annotations"][REVISION] = str(top + 1)  # a rollback is a new revision
        replicas = int(dep["spec"].get("replicas", 1))
        healthy = not any("broken" in c.get("image", "") for c in template["spec"].get("containers", []))
        for rs in sets + ([current] if current not in sets else []):
            rs["spec"]["replicas"] = replicas if rs is current else 0
            ready = rs["spec"]["replicas"] if (rs is not current or healthy) else 0
            rs["status"] = {"replicas": rs["spec"]["replicas"], "readyReplicas": ready,
                            "availableReplicas": ready, "observedGeneration": 1}
            self.store.put("replicasets", rs, created=False)
        dep["metadata"].setdefault("annotations", {})[REVISION] = current["metadata"]["annotations"][REVISION]
        available = replicas if healthy else 0
        dep["status"] = {
            "observedGeneration": dep["metadata"]["generation"], "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": available, "availableReplicas": available,
            "unavailableReplicas": replicas - available,
            "conditions": [{"type": "Available", "status": "True" if healthy else "False"},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable" if healthy else "ReplicaSetUpdated"}]}

    def _new_set(self, dep: dict[str, Any], template: dict[str, Any], digest: str, revision: int) -> dict[str, Any]:
        meta = dep["metadata"]
        template = copy.deepcopy(template)
        template["metadata"]["labels"]["pod-template-hash"] = digest
        selector = copy.deepcopy(dep["spec"]["selector"])
        selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
        return {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta['name']}-{digest}", "namespace": meta["namespace"],
                         "uid": str(uuid.uuid4()), "labels": dict(template["metadata"]["labels"]),
                         "annotations": {REVISION: str(revision)},
                         "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": meta["name"], "uid": meta["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": 0, "selector": selector, "template": template}, "status": {}}


def openapi_v3(group_version: str) -> dict[str, Any]:
    """Just enough OpenAPI v3 for kubectl to see that PATCH takes fieldValidation, so it
    leaves validation to the server instead of downloading full schemas."""
    group, _, version = group_version.rpartition("/")
    prefix = "/api/v1" if not group else f"/apis/{group_version}"
    paths = {}
    for plural, (gv, kind) in RESOURCES.items():
        if gv != group_version:
            continue
        gvk = {"group": group, "version": version, "kind": kind}
        op = {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
              "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
              "responses": {"200": {"description": "OK"}}}
        paths[f"{prefix}/namespaces/{{namespace}}/{plural}/{{name}}"] = {"patch": op}
    return {"openapi": "3.0.0", "info": {"title": "fake", "version": version}, "paths": paths,
            "components": {"schemas": {}}}


def discovery(path: str, address: str) -> dict[str, Any] | None:
    if path == "/openapi/v3":
        paths = {f"apis/{gv}": {"serverRelativeURL": f"/openapi/v3/apis/{gv}?hash=1"} for gv in GROUPS}
        return {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=1"}, **paths}}
    if path.startswith("/openapi/v3/"):
        return openapi_v3(path[len("/openapi/v3/"):].removeprefix("api/").removeprefix("apis/"))
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]

    def resource_list(group_version: str) -> dict[str, Any]:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": True,
                               "kind": kind, "verbs": verbs, "shortNames": SHORT_NAMES[plural]}
                              for plural, (gv, kind) in RESOURCES.items() if gv == group_version]}
    groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": "v1"}],
               "preferredVersion": {"groupVersion": gv, "version": "v1"}} for gv in GROUPS]
    return {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake", "platform": "linux/amd64"},
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups},
        "/api/v1": resource_list("v1"),
        **{f"/apis/{gv}": resource_list(gv) for gv in GROUPS},
    }.get(path)


class FakeKube:
    """Start with .start(); .url for the kubeconfig; .store to inspect or seed objects."""

    def __init__(self) -> None:
        self.store = Store()
        self.controller = DeploymentController(self.store)
        handler = type("Handler", (_Handler,), {"kube": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeKube:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        with self.store.cond:
            self.store.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.objects.get((plural, namespace, name))


from tests.steps.fake_kube_http import _Handler  # noqa: E402  (the handler needs the classes above)
