"""Request handlers of the Jenkins emulator, one per endpoint of contract A.2."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.emulators import jenkinsfile
from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.jenkins_json import Node, render
from tests.emulators.jenkins_model import FOLDER, ConfigError, Item, QueueItem, name_error, \
    parse_config, serialise, folder_config
from tests.emulators.jenkins_nodes import build_node, item_node, plugins_node, queue_node, \
    root_node, user_node

if TYPE_CHECKING:
    from tests.emulators.jenkins import JenkinsEmulator

XML_TYPES = ("text/xml", "application/xml")


def html(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    body = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
    return Response(status, body.encode(), {"Content-Type": "text/html;charset=utf-8",
                                            **(headers or {})})


def failure(message: str, status: int = 400) -> Response:
    """Jenkins' `Failure` page: the status and the message in `X-Error` (error.jelly)."""
    response = html(status, f"Error: {message}")
    response.headers["X-Error"] = message
    return response


def not_found() -> Response:
    return html(404, "Not Found")


def api_json(payload: object) -> Response:
    body = json.dumps(payload).encode()
    return Response(200, body, {"Content-Type": "application/json;charset=utf-8"})


def _item(emu: JenkinsEmulator, request: Request) -> Item | None:
    return emu.resolve(request.params.get("f", ""))


def page(emu: JenkinsEmulator, request: Request) -> Response:
    """HTML pages: `/`, an item's page, `configure`; what followed redirects land on."""
    return html(200, "Dashboard [Jenkins]") if _item(emu, request) else not_found()


def item_api(emu: JenkinsEmulator, request: Request) -> Response:
    item = _item(emu, request)
    if item is None:
        return not_found()
    if item is emu.root:
        node = root_node(request.base_url, item, emu.queue, emu.csrf)
    else:
        node = item_node(request.base_url, item, emu.queue)
    return api_json(render(node, request.arg("tree"), request.arg("depth")))


def get_config(emu: JenkinsEmulator, request: Request) -> Response:
    item = _item(emu, request)
    if item is None:
        return not_found()
    return Response(200, serialise(item.config), {"Content-Type": "application/xml"})


def post_config(emu: JenkinsEmulator, request: Request) -> Response:
    item = _item(emu, request)
    if item is None:
        return not_found()
    try:
        config = parse_config(request.body, emu.active_plugins())
    except ConfigError as exc:
        return html(500, f"Oops! {exc}")
    if config.tag != item.config.tag:
        return html(500, f"Expecting class {item.cls} but got {config.tag}")
    item.config = config
    return Response(200)


def do_delete(emu: JenkinsEmulator, request: Request) -> Response:
    item = _item(emu, request)
    if item is None or item.parent is None:
        return not_found()
    parent = item.parent
    del parent.children[item.name.lower()]
    emu.queue[:] = [q for q in emu.queue if q.job is not item]
    return Response(302, headers={"Location": f"{request.base_url}/{parent.url_path}"})


def create_item(emu: JenkinsEmulator, request: Request) -> Response:
    parent = _item(emu, request)
    if parent is None or not parent.is_folder:
        return not_found()
    content_type = request.content_type()
    form = request.form() if content_type == "application/x-www-form-urlencoded" else {}
    name = request.arg("name") or form.get("name")  # the query string wins (ItemGroupMixIn)
    mode = request.arg("mode") or form.get("mode")
    if not content_type and mode != "copy":  # python-jenkins' copy_job posts no body at all
        return failure("No Content-Type header set")
    if not name:
        return failure("Query parameter 'name' is required")
    problem = name_error(name)
    if problem is None and parent.child(name) is not None:
        problem = f"A job already exists with the name ‘{name}’"
    if problem:
        return failure(problem)
    if mode is None and content_type in XML_TYPES:
        return _create_from_xml(parent, name, request.body, emu.active_plugins())
    return _create_from_form(emu, request, parent, name, mode, form)


def _create_from_xml(parent: Item, name: str, body: bytes, plugins: set[str]) -> Response:
    try:
        config = parse_config(body, plugins)
    except ConfigError as exc:
        return html(500, f"Oops! {exc}")
    parent.add(Item(name, config))
    return Response(200)


def _create_from_form(emu: JenkinsEmulator, request: Request, parent: Item, name: str,
                      mode: str | None, form: dict[str, str]) -> Response:
    if mode == FOLDER:
        item = parent.add(Item(name, folder_config()))
    elif mode == "copy":
        wanted = request.arg("from") or form.get("from") or ""
        source = item_by_path(emu, parent, wanted)
        if source is None or source is emu.root:
            return failure(f"No such job: {wanted}")
        if source.is_folder:  # a folder copy would need its children copied too: not needed here
            return failure(f"Copying folders is not supported by the emulator: {wanted}")
        # "Copy from" takes the whole config.xml, description and ci-gen's marker included
        item = parent.add(Item(name, parse_config(serialise(source.config))))
    else:
        return failure(f"No item type ‘{mode}’ is known")
    location = f"{request.base_url}/{item.url_path}configure"
    return Response(302, headers={"Location": location})


def item_by_path(emu: JenkinsEmulator, context: Item, path: str) -> Item | None:
    """`Jenkins.getItem(pathName, context)`: `/a/b` from the root; `b`, `../x/b`, `./b` from the
    folder the request is made in; and when that finds nothing, `a/b` as a full name."""
    if not path:
        return None
    if path.startswith("/"):
        return _by_full_name(emu, path)
    item: Item | None = context
    for part in [p for p in path.split("/") if p]:
        if part == ".":
            continue
        if part == "..":
            item = item.parent if item is not None and item.parent is not None else None
        elif item is not None and item.is_folder:
            item = item.child(part)
        else:
            item = None
        if item is None:
            break
    return item if item is not None and item is not context else _by_full_name(emu, path)


def _by_full_name(emu: JenkinsEmulator, path: str) -> Item | None:
    item: Item | None = emu.root
    for part in [p for p in path.split("/") if p]:
        item = item.child(part) if item is not None and item.is_folder else None
    return item if item is not emu.root else None


def _queue_location(request: Request, entry: QueueItem) -> Response:
    return Response(201, headers={"Location": f"{request.base_url}/queue/item/{entry.id}/"})


def build(emu: JenkinsEmulator, request: Request) -> Response:
    job = _item(emu, request)
    if job is None or job.is_group:
        return not_found()
    with_params = request.path.endswith("/buildWithParameters")
    if job.disabled:
        return html(409, f"{job.full_name} is not buildable")
    if with_params and not job.parameterized:
        return html(400, f"{job.full_name} is not parameterized")
    params = {k: v[0] for k, v in request.query.items() if k not in ("token", "delay", "cause")}
    waiting = next((q for q in emu.queue if q.job is job and q.build is None
                    and not q.cancelled and q.params == params), None)
    if waiting is not None:  # Jenkins folds a duplicate request into the waiting item
        return _queue_location(request, waiting)
    entry = QueueItem(emu.next_queue_id, job, params)
    emu.next_queue_id += 1
    emu.queue.append(entry)
    return _queue_location(request, entry)


def build_api(emu: JenkinsEmulator, request: Request) -> Response:
    job = _item(emu, request)
    found = job.build(int(request.params["number"])) if job and not job.is_folder else None
    if job is None or found is None:
        return not_found()
    node = build_node(request.base_url, job, found)
    return api_json(render(node, request.arg("tree"), request.arg("depth")))


def build_artifact(emu: JenkinsEmulator, request: Request) -> Response:
    """`job/N/<#>/artifact/<relativePath>`: the archived file (Run.doArtifact); 404 otherwise."""
    job = _item(emu, request)
    found = job.build(int(request.params["number"])) if job and not job.is_folder else None
    path = request.params.get("path", "")
    if found is None or path not in found.artifacts:
        return not_found()
    return Response(200, found.artifacts[path], {"Content-Type": "application/octet-stream"})


def set_enabled(emu: JenkinsEmulator, request: Request) -> Response:
    job = _item(emu, request)
    if job is None or job.is_folder:
        return not_found()
    disabled = job.config.find("disabled")
    if disabled is not None:
        disabled.text = "true" if request.path.endswith("/disable") else "false"
    return Response(302, headers={"Location": f"{request.base_url}/{job.url_path}"})


def queue_item(emu: JenkinsEmulator, request: Request) -> Response:
    number = int(request.params["id"])
    entry = next((q for q in emu.queue if q.id == number), None)
    if entry is None:
        return not_found()
    return api_json(render(queue_node(request.base_url, entry), request.arg("tree"),
                           request.arg("depth")))


def queue_list(emu: JenkinsEmulator, request: Request) -> Response:
    waiting = [queue_node(request.base_url, q) for q in emu.queue
               if q.build is None and not q.cancelled]
    payload = {"_class": "hudson.model.Queue", "discoverableItems": [],
               "items": render_list(waiting, request)}
    return api_json(payload)


def render_list(nodes: list[Node], request: Request) -> list[Any]:
    return [render(node, request.arg("tree"), request.arg("depth")) for node in nodes]


def crumb(emu: JenkinsEmulator, request: Request) -> Response:
    if not emu.csrf:
        return not_found()
    session, cookie = emu.session_of(request)
    payload = {"_class": "hudson.security.csrf.DefaultCrumbIssuer",
               "crumb": emu.crumb_for(request.state.get("user"), session),
               "crumbRequestField": "Jenkins-Crumb"}
    response = api_json(payload)
    if cookie:
        response.headers["Set-Cookie"] = cookie
    return response


def who_am_i(emu: JenkinsEmulator, request: Request) -> Response:
    """`whoAmI` is an unprotected root action: it answers anonymous callers too."""
    name = request.state.get("user") or "anonymous"
    return api_json({"_class": "hudson.security.WhoAmI", "anonymous": name == "anonymous",
                     "authenticated": name != "anonymous",
                     "authorities": ["authenticated"] if name != "anonymous" else [],
                     "name": name, "toString": f"{name} (authenticated)"})


def whoami(emu: JenkinsEmulator, request: Request) -> Response:
    user = emu.users[request.state["user"]]
    node = user_node(request.base_url, user.id, user.full_name)
    return api_json(render(node, request.arg("tree"), request.arg("depth")))


def plugins(emu: JenkinsEmulator, request: Request) -> Response:
    return api_json(render(plugins_node(emu.plugins), request.arg("tree"),
                           request.arg("depth")))


def validate_text(emu: JenkinsEmulator, request: Request) -> Response:
    text = request.form().get("jenkinsfile")
    if text is None:
        return Response(200, b"did not find jenkinsfile parameter\n",
                        {"Content-Type": "text/plain;charset=utf-8"})
    body = jenkinsfile.report_text(jenkinsfile.validate(text)).encode()
    return Response(200, body, {"Content-Type": "text/plain;charset=utf-8"})


def validate_json(emu: JenkinsEmulator, request: Request) -> Response:
    text = request.form().get("jenkinsfile")
    if not text:
        return json_response(200, {"status": "ok", "data": {
            "result": "failure", "errors": [{"error": "No content found for 'jenkinsfile' "
                                                      "parameter"}]}})
    return json_response(200, jenkinsfile.report_json(jenkinsfile.validate(text)))


F = r"/(?P<f>(?:job/[^/]+/)*)"  # root or a folder/job path
J = r"/(?P<f>(?:job/[^/]+/)+)"  # an item path, never the root
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", F, page),
    ("GET", F + "configure", page),
    ("GET", F + "api/json", item_api),
    ("GET", J + r"config\.xml", get_config),
    ("POST", J + r"config\.xml", post_config),
    ("POST", J + "doDelete", do_delete),
    ("POST", F + "createItem", create_item),
    ("POST", J + "build", build),
    ("POST", J + "buildWithParameters", build),
    ("POST", J + "(?:enable|disable)", set_enabled),
    ("GET", J + r"(?P<number>\d+)/api/json", build_api),
    ("GET", J + r"(?P<number>\d+)/artifact/(?P<path>.+)", build_artifact),
    ("GET", "/crumbIssuer/api/json", crumb),
    ("GET", "/me/api/json", whoami),
    ("GET", "/whoAmI/api/json", who_am_i),
    ("GET", "/pluginManager/api/json", plugins),
    ("GET", "/queue/api/json", queue_list),
    ("GET", r"/queue/item/(?P<id>\d+)/api/json", queue_item),
    ("POST", "/pipeline-model-converter/validate", validate_text),
    ("POST", "/pipeline-model-converter/validateJenkinsfile", validate_json),
]
