"""HTTP side of the fake Kubernetes API server: routing, CRUD, patches, watches."""
from __future__ import annotations

import copy
import json
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.steps import fake_kube
from tests.steps.fake_kube_patch import apply_patch

WATCH_MAX_S = 5.0


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube: Any  # set by FakeKube

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    # ---- plumbing ----
    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _route(self) -> tuple[str, str, str, str | None, dict[str, list[str]]] | None:
        """(plural, namespace, name, subresource, query) for namespaced resource paths."""
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif parts[:1] == ["apis"] and "/".join(parts[1:3]) in fake_kube.GROUPS:
            rest = parts[3:]
        else:
            return None
        if len(rest) < 3 or rest[0] != "namespaces" or rest[2] not in fake_kube.RESOURCES:
            return None
        name = rest[3] if len(rest) > 3 else ""
        sub = rest[4] if len(rest) > 4 else None
        return rest[2], rest[1], name, sub, parse_qs(url.query)

    def _handle(self, method: str) -> None:
        store = self.kube.store
        store.requests.append((method, self.path))
        path = urlparse(self.path).path
        if method == "GET":
            doc = fake_kube.discovery(path.rstrip("/") or "/", f"127.0.0.1:{self.server.server_address[1]}")
            if doc is not None:
                return self._send(200, doc)
        route = self._route()
        if route is None:
            return self._send(404, _status(404, "NotFound", f"the server could not find {path}"))
        plural, ns, name, sub, query = route
        if sub == "status":
            sub = None  # the status subresource reads like the object here
        if method == "GET" and not name and query.get("watch", [""])[0] in ("1", "true"):
            return self._watch(plural, ns, query)
        with store.cond:
            code, body = getattr(self, f"_{method.lower()}")(plural, ns, name, query)
        self._send(code, body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    # ---- verbs ----
    def _matches(self, obj: dict[str, Any], query: dict[str, list[str]]) -> bool:
        labels = obj["metadata"].get("labels") or {}
        if not fake_kube._selector_matches(query.get("labelSelector", [""])[0], labels):
            return False
        field = query.get("fieldSelector", [""])[0]
        return not field.startswith("metadata.name=") or obj["metadata"]["name"] == field.split("=", 1)[1]

    def _get(self, plural: str, ns: str, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        gv, kind = fake_kube.RESOURCES[plural]
        if not name:
            items = [o for o in self.kube.store.list(plural, ns) if self._matches(o, query)]
            return 200, {"kind": f"{kind}List", "apiVersion": gv, "items": copy.deepcopy(items),
                         "metadata": {"resourceVersion": str(self.kube.store.rv)}}
        obj = self.kube.get(plural, ns, name)
        if obj is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        return 200, obj

    def _post(self, plural: str, ns: str, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        obj = self._body()
        meta = obj.setdefault("metadata", {})
        if self.kube.get(plural, ns, meta["name"]) is not None:
            return 409, _status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
        meta.update({"namespace": ns, "uid": str(uuid.uuid4()), "generation": 1,
                     "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        return 201, self._save(plural, obj, created=True)

    def _save(self, plural: str, obj: dict[str, Any], created: bool) -> dict[str, Any]:
        if plural == "deployments":
            self.kube.controller.sync(obj)
        return copy.deepcopy(self.kube.store.put(plural, obj, created))

    def _update(self, plural: str, ns: str, name: str, new: dict[str, Any]) -> tuple[int, Any]:
        old = self.kube.get(plural, ns, name)
        new["metadata"].update({k: old["metadata"][k] for k in ("uid", "creationTimestamp", "namespace")})
        generation = old["metadata"].get("generation", 1)
        new["metadata"]["generation"] = generation + (new.get("spec") != old.get("spec"))
        new.pop("status", None) if plural != "replicasets" else None
        return 200, self._save(plural, new, created=False)

    def _put(self, plural: str, ns: str, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.kube.get(plural, ns, name) is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        return self._update(plural, ns, name, self._body())

    def _patch(self, plural: str, ns: str, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        old = self.kube.get(plural, ns, name)
        if old is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        try:
            new = apply_patch(self.headers.get("Content-Type", ""), old, self._body())
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return 422, _status(422, "Invalid", f"patch failed: {exc}")
        return self._update(plural, ns, name, new)

    def _delete(self, plural: str, ns: str, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        self._body()
        obj = self.kube.store.delete(plural, ns, name)
        if obj is None:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
        if plural == "deployments":  # the garbage collector removes owned ReplicaSets
            for rs in self.kube.controller.owned_sets(obj):
                self.kube.store.delete("replicasets", ns, rs["metadata"]["name"])
        return 200, obj

    def _watch(self, plural: str, ns: str, query: dict[str, list[str]]) -> None:
        store = self.kube.store
        since = int(query.get("resourceVersion", ["0"])[0] or 0)
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds", [WATCH_MAX_S])[0]), WATCH_MAX_S)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while time.monotonic() < deadline:
                with store.cond:
                    events = [e for e in store.events if e[0] > since and e[1] == plural
                              and e[3]["metadata"].get("namespace") == ns and self._matches(e[3], query)]
                    if not events:
                        store.cond.wait(timeout=0.2)
                        continue
                for rv, _, kind, obj in events:
                    since = rv
                    line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
