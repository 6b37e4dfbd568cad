"""GitLab CI endpoints: CI Lint (behaviour 22), pipelines and jobs (behaviour 23).

Lint validity comes from GitLab's CI schema as vendored by check-jsonschema, plus the two
semantic checks every lint run makes (a visible job exists; each job's stage exists). `include:
local` files are read from the project's repository and merged into `merged_yaml`; other include
kinds (remote, project, template, component) are listed in `includes` but not fetched.
"""
from __future__ import annotations

import functools
import importlib.resources
import io
import json
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.exceptions import best_match
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tests.emulators.base import Handler, Request, Response, json_response
from tests.emulators.gitlab_common import API, ID, body, boolean, error, paginate, \
    project, require
from tests.emulators.gitlab_model import DEVELOPER, Project

if TYPE_CHECKING:
    from tests.emulators.gitlab import GitLabEmulator

RESERVED = {"image", "services", "stages", "types", "before_script", "after_script",
            "variables", "cache", "include", "default", "workflow", "spec"}
DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "gitlab-ci.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.constructor.add_constructor(
        "!reference", lambda loader, node: loader.construct_sequence(node))
    return yaml


def _load(text: str) -> Any:
    return _yaml().load(text)


def _includes(target: Project | None, config: dict[str, Any], ref: str | None) -> tuple[
        list[dict[str, Any]], list[str]]:
    """Merge `include: local` files into `config`; return the include list and errors."""
    raw = config.pop("include", None)
    entries = raw if isinstance(raw, list) else [raw] if raw else []
    commit = target.repo.resolve(ref or target.default_branch) if target else None
    listed: list[dict[str, Any]] = []
    errors: list[str] = []
    for entry in entries:
        spec = {"local": entry} if isinstance(entry, str) else dict(entry)
        kind = next((k for k in ("local", "remote", "project", "template", "component")
                     if k in spec), "local")
        location = str(spec.get(kind) if kind != "project" else spec.get("file"))
        listed.append({"type": kind, "location": location, "blob": None, "raw": None,
                       "extra": {},
                       "context_project": target.full_path if target else None,
                       "context_sha": commit.id if commit else None})
        if kind != "local":
            continue
        content = commit.files.get(location.lstrip("/")) if commit else None
        if content is None:
            errors.append(f"Local file `{location}` does not exist!")
            continue
        included = _load(content.decode("utf-8")) or {}
        for key, value in included.items():
            config.setdefault(key, value)  # the including file wins
    return listed, errors


def _schema_errors(config: Any) -> list[str]:
    messages = []
    for problem in sorted(_validator().iter_errors(config), key=lambda e: list(e.path)):
        chosen = best_match(problem.context) if problem.context else problem
        where = ":".join(str(p) for p in problem.path) or "root"
        messages.append(f"jsonschema: {where}: {chosen.message}")
    return list(dict.fromkeys(messages))


def _jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: value for name, value in config.items()
            if name not in RESERVED and isinstance(value, dict)}


def _semantic_errors(config: dict[str, Any]) -> list[str]:
    jobs = _jobs(config)
    if not any(not name.startswith(".") for name in jobs):
        return ["jobs config should contain at least one visible job"]
    stages = [".pre", *config.get("stages", DEFAULT_STAGES[1:-1]), ".post"]
    return [f"{name} job: chosen stage {job.get('stage', 'test')} does not exist; available "
            f"stages are {', '.join(stages)}" for name, job in jobs.items()
            if not name.startswith(".") and job.get("stage", "test") not in stages]


def lint(target: Project | None, content: str, ref: str | None, include_jobs: bool) -> dict[str, Any]:
    """The lint result entity (`lib/api/entities/ci/lint/result.rb`)."""
    result: dict[str, Any] = {"valid": False, "errors": [], "warnings": [],
                              "merged_yaml": None, "includes": []}
    try:
        config = _load(content)
    except YAMLError as exc:
        result["errors"] = [f"(<unknown>): {str(exc).splitlines()[0]}"]
        return result
    if not isinstance(config, dict):
        result["errors"] = ["Invalid configuration format"]
        return result
    result["includes"], errors = _includes(target, config, ref)
    errors = errors or _schema_errors(config) or _semantic_errors(config)
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(config, stream)
    result.update(valid=not errors, errors=errors, merged_yaml=stream.getvalue())
    if include_jobs:
        result["jobs"] = [_job_view(name, job) for name, job in _jobs(config).items()
                          if not name.startswith(".")]
    return result


def _job_view(name: str, job: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "stage": job.get("stage", "test"),
            "before_script": job.get("before_script", []), "script": job.get("script", []),
            "after_script": job.get("after_script", []), "tag_list": job.get("tags", []),
            "environment": job.get("environment"), "when": job.get("when", "on_success"),
            "allow_failure": bool(job.get("allow_failure", False)), "needs": job.get("needs")}


def lint_post(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    require(data, "content")
    target = project(emu, request, DEVELOPER)
    result = lint(target, data["content"], data.get("ref"), boolean(data.get("include_jobs")))
    return json_response(200, result)  # 200, not 201: lint.rb sets it explicitly


def lint_get(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request, DEVELOPER)
    ref = request.arg("content_ref") or target.default_branch
    commit = target.repo.resolve(ref)
    if commit is None:
        raise error(404, "404 Repository Not Found")
    content = commit.files.get(".gitlab-ci.yml", b"").decode("utf-8")
    return json_response(200, lint(target, content, ref,
                                   boolean(request.arg("include_jobs"))))


def legacy_lint(emu: GitLabEmulator, request: Request) -> Response:
    """`POST /ci/lint`: gone since GitLab 16.0; `emu.legacy_lint` models an older server."""
    if not emu.legacy_lint:
        raise error(410, "410 Gone")
    data = body(request)
    require(data, "content")
    result = lint(None, data["content"], None, boolean(data.get("include_jobs")))
    answer = {"status": "valid" if result["valid"] else "invalid",
              "errors": result["errors"], "warnings": result["warnings"]}
    if boolean(data.get("include_merged_yaml")):
        answer["merged_yaml"] = result["merged_yaml"]
    return json_response(200, answer)


# -- pipelines and jobs -----------------------------------------------------------------------
PIPELINE_LIST_FIELDS = ("id", "iid", "project_id", "sha", "ref", "status", "source",
                        "created_at", "updated_at", "web_url", "name")
SCOPES = {"running": ("running",), "pending": ("pending",),
          "finished": ("success", "failed", "canceled", "skipped")}


def list_pipelines(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    chosen = [p for p in target.pipelines
              if all(request.arg(k) in (None, p[k]) for k in ("ref", "status", "source",
                                                              "sha", "name"))
              and p["status"] in SCOPES.get(request.arg("scope") or "", (p["status"],))]
    order = request.arg("order_by") or "id"
    chosen.sort(key=lambda p: (p.get(order) or "", p["id"]),
                reverse=(request.arg("sort") or "desc") == "desc")
    return paginate(request, [{k: p[k] for k in PIPELINE_LIST_FIELDS} for p in chosen])


def _pipeline(target: Project, ident: str) -> dict[str, Any]:
    found = next((p for p in target.pipelines if str(p["id"]) == ident), None)
    if found is None:
        raise error(404, "404 Not found")
    return found


def get_pipeline(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    if request.params["pipeline"] == "latest":
        ref = request.arg("ref") or target.default_branch
        found = max((p for p in target.pipelines if p["ref"] == ref), default=None,
                    key=lambda p: p["id"])
        if found is None:
            raise error(404, "404 Not found")
        return json_response(200, found)
    return json_response(200, _pipeline(target, request.params["pipeline"]))


def create_pipeline(emu: GitLabEmulator, request: Request) -> Response:
    data = body(request)
    require(data, "ref")
    target = project(emu, request, DEVELOPER)
    if target.repo.resolve(data["ref"]) is None:
        raise error(400, {"base": ["Reference not found"]})
    return json_response(201, emu.add_pipeline(target.full_path, data["ref"], "created",
                                               source="api"))


def _scoped_jobs(request: Request, jobs: list[dict[str, Any]]) -> Response:
    scopes = request.query.get("scope[]") or request.query.get("scope") or []
    chosen = [j for j in jobs if not scopes or j["status"] in scopes]
    return paginate(request, sorted(chosen, key=lambda j: -j["id"]))


def pipeline_jobs(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    pipeline = _pipeline(target, request.params["pipeline"])
    return _scoped_jobs(request, [j for j in target.jobs
                                  if j["pipeline"]["id"] == pipeline["id"]])


def project_jobs(emu: GitLabEmulator, request: Request) -> Response:
    return _scoped_jobs(request, project(emu, request).jobs)


def get_job(emu: GitLabEmulator, request: Request) -> Response:
    target = project(emu, request)
    found = next((j for j in target.jobs if str(j["id"]) == request.params["job"]), None)
    if found is None:
        raise error(404, "404 Not found")
    if request.path.endswith("/trace"):
        return Response(200, found.get("trace", "").encode(), {"Content-Type": "text/plain"})
    return json_response(200, {k: v for k, v in found.items() if k != "trace"})


P = f"{API}/projects/{ID}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", f"{P}/ci/lint", lint_post), ("GET", f"{P}/ci/lint", lint_get),
    ("POST", f"{API}/ci/lint", legacy_lint),
    ("GET", f"{P}/pipelines", list_pipelines), ("POST", f"{P}/pipeline", create_pipeline),
    ("GET", rf"{P}/pipelines/(?P<pipeline>\d+|latest)", get_pipeline),
    ("GET", rf"{P}/pipelines/(?P<pipeline>\d+)/jobs", pipeline_jobs),
    ("GET", f"{P}/jobs", project_jobs),
    ("GET", rf"{P}/jobs/(?P<job>\d+)", get_job),
    ("GET", rf"{P}/jobs/(?P<job>\d+)/trace", get_job),
]
