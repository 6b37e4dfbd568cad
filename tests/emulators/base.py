"""Shared HTTP machinery of the emulators: routing on the raw path, a request log, test controls
and fault injection.

Routing uses the raw request target (`BaseHTTPRequestHandler.path` is not percent-decoded), so
`%2F` inside one segment stays one segment, as GitLab requires (contract behaviour 15).
"""
from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

CONTROL_PREFIX = "/_emulator/"


@dataclass
class Request:
    """One parsed HTTP request as the handlers see it."""

    method: str
    path: str  # raw path, still percent-encoded, without the query string
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    base_url: str  # scheme://host:port as the client addressed us
    raw_query: str = ""
    params: dict[str, str] = field(default_factory=dict)  # decoded route groups
    state: dict[str, Any] = field(default_factory=dict)  # per-request data set by auth hooks

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First query value of `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


class HttpError(Exception):
    """Raised by a handler to answer with `response` at once."""

    def __init__(self, response: "Response") -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload).encode("utf-8")
    merged = {"Content-Type": "application/json"}
    merged.update(headers or {})
    return Response(status, body, merged)


Handler = Callable[[Any, Request], Response]
E = TypeVar("E", bound="Emulator")


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def routes(table: Iterable[tuple[str, str, Handler]]) -> list[Route]:
    """Compile `(method, regex, handler)` rows; the regex must match the whole raw path."""
    return [Route(method, re.compile(f"^{regex}$"), handler) for method, regex, handler in table]


@dataclass
class Fault:
    """Injected misbehaviour for the next `times` requests matching method and path regex."""

    method: str
    path: str
    times: int = 1
    status: int | None = None
    retry_after: int | None = None
    drop: bool = False
    delay: float = 0.0
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: str | None = None  # regex searched in the decoded query string (one page of a listing)

    def matches(self, method: str, path: str, query: str = "") -> bool:
        method_ok = self.method in ("*", method)
        query_ok = self.query is None or re.search(self.query, unquote(query)) is not None
        return method_ok and query_ok and re.search(self.path, unquote(path)) is not None

    def response(self) -> Response:
        assert self.status is not None
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        phrase = HTTPStatus(self.status).phrase if self.status in HTTPStatus._value2member_map_ \
            else "Injected"
        payload = self.body if self.body is not None else {"message": f"{self.status} {phrase}"}
        response = json_response(self.status, payload, headers)
        response.reason = self.reason
        return response


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int  # 0 when the connection was dropped


class Emulator(ABC):
    """A server on 127.0.0.1 with routes, a request log, faults and control endpoints.

    Subclasses provide `route_table()`, `reset_state()`, `seed()` and `snapshot()`.
    """

    name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.RLock()
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self._routes = routes(self.route_table())
        self.generation = 0  # bumped by reset(): late answers to an earlier test go unlogged
        self._server = _Server((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self: E) -> E:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name=f"{self.name}-emulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self: E) -> E:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- controls --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all state, faults and logged requests."""
        with self.lock:
            self.generation += 1
            self.requests.clear()
            self.faults.clear()
            self.reset_state()

    def inject(self, method: str, path: str, *, times: int = 1, status: int | None = None,
               retry_after: int | None = None, drop: bool = False, delay: float = 0.0,
               reason: str | None = None, headers: dict[str, str] | None = None,
               body: Any = None, query: str | None = None) -> Fault:
        """Make the next `times` requests matching `method` ('*' for any) and the regex `path`
        (searched in the decoded path; `query`, when given, in the decoded query string) answer
        `status`, drop the connection, or wait `delay` seconds first (then answer normally
        unless `status` is set)."""
        fault = Fault(method, path, times, status, retry_after, drop, delay, reason,
                      dict(headers or {}), body, query)
        with self.lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many logged requests match `method` and the regex `path` (decoded path)."""
        with self.lock:
            return sum(1 for r in self.requests
                       if (method is None or r.method == method)
                       and (path is None or re.search(path, unquote(r.path))))

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- subclass hooks --------------------------------------------------------------------
    @abstractmethod
    def route_table(self) -> list[tuple[str, str, Handler]]:
        """(method, raw-path regex, handler) rows; the first match wins."""

    @abstractmethod
    def reset_state(self) -> None:
        """Fresh state: default user, settings back to their defaults."""

    @abstractmethod
    def seed(self, data: dict[str, Any]) -> None:
        """Seed from plain JSON-able data (also what `POST /_emulator/seed` takes)."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data (also `GET /_emulator/state`)."""

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"error": "404 Not Found"})

    def before(self, request: Request) -> Response | None:
        """Authentication and similar checks; a response here short-circuits the route."""
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """Add headers that every response of this server carries."""

    # -- dispatch --------------------------------------------------------------------------
    def take_fault(self, method: str, path: str, query: str = "") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path, query):
                    fault.times -= 1
                    return fault
        return None

    def dispatch(self, request: Request) -> Response:
        matched_path = False
        for route in self._routes:
            match = route.pattern.match(request.path)
            if not match:
                continue
            matched_path = True
            if route.method != request.method:
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            with self.lock:
                try:
                    early = self.before(request)
                    return early if early is not None else route.handler(self, request)
                except HttpError as error:
                    return error.response
                except Exception:  # an emulator bug: answer as a server would, keep the trace
                    traceback.print_exc()
                    return json_response(500, {"message": "500 Internal Server Error"})
        if matched_path and request.method != "HEAD":
            return json_response(405, {"error": "405 Not Allowed"})
        return self.not_found(request)

    def log(self, request: Request, status: int) -> None:
        with self.lock:
            if request.state.get("generation", self.generation) != self.generation:
                return
            self.requests.append(
                LoggedRequest(request.method, request.path, request.raw_query, status))

    def control(self, request: Request) -> Response:
        """HTTP form of the controls, for the standalone runner."""
        action = request.path[len(CONTROL_PREFIX):]
        if action == "reset" and request.method == "POST":
            self.reset()
        elif action == "seed" and request.method == "POST":
            with self.lock:
                self.seed(request.json())
        elif action == "faults" and request.method == "POST":
            spec = request.json()
            self.inject(spec.pop("method", "*"), spec.pop("path", ".*"), **spec)
        elif action == "requests" and request.method == "GET":
            with self.lock:
                log = [vars(r) for r in self.requests]
            return json_response(200, log)
        elif action == "requests" and request.method == "DELETE":
            self.clear_log()
        elif action == "state" and request.method == "GET":
            with self.lock:
                return json_response(200, self.snapshot())
        else:
            return json_response(404, {"error": f"unknown control {request.method} {action}"})
        return json_response(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up first (a timeout test): nothing worth a traceback
        super().handle_error(request, client_address)


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the clients' sessions expect

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes; without this, Nagle's algorithm and
            # delayed ACKs stall every keep-alive request for ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            """Silence the per-request stderr line; the emulator keeps its own log."""

        def _serve(self) -> None:
            request = self._read_request()
            request.state["generation"] = emulator.generation
            if request.path.startswith(CONTROL_PREFIX):
                self._send(request, emulator.control(request))
                return
            fault = emulator.take_fault(request.method, request.path, request.raw_query)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            stale = request.state["generation"] != emulator.generation
            if stale or (fault is not None and fault.drop):  # stale: reset while delayed
                emulator.log(request, 0)
                self._drop()
                return
            if fault is not None and fault.status is not None:
                response = fault.response()
            else:
                response = emulator.dispatch(request)
            emulator.decorate(request, response)
            emulator.log(request, response.status)
            self._send(request, response)

        def _read_request(self) -> Request:
            target = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host") or emulator.url.removeprefix("http://")
            return Request(self.command, target.path or "/",
                           parse_qs(target.query, keep_blank_values=True),
                           self.headers, body, f"http://{host}", target.query)

        def _send(self, request: Request, response: Response) -> None:
            self.send_response(response.status, response.reason)
            headers = {"Content-Length": str(len(response.body)), **response.headers}
            for name, value in headers.items():
                # UTF-8 on the wire (Jenkins' X-Error holds ‘quotes’); clients read latin-1
                line = f"{name}: {value}\r\n".encode("utf-8")
                self._headers_buffer.append(line)  # type: ignore[attr-defined]
            self.end_headers()
            if request.method != "HEAD":
                self.wfile.write(response.body)

        def _drop(self) -> None:
            # A reset mid-request: close the socket without writing a status line.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    return _Handler
