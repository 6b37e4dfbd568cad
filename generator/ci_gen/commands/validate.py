"""`ci-gen validate`: check the manifest against the schema and the semantic rules."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ManifestError
from ..output import emit, problem_dicts
from ..paths import MANIFEST_PATH_FIELDS, path_escape_reason
from ..verified import load, record_key, store
from ..workspace import Workspace, workspace
from ..yamlio import read_text


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C
    manifest: str | None = None  # -f
    fmt: str = "text"


def run(request: Request) -> int:
    ws = workspace(request.directory, request.manifest, find=True)
    fmt = request.fmt
    try:
        text = read_text(ws.manifest_path, ws.display)
        key = record_key(text.encode("utf-8"), ws.display)
        name = _validated_before(ws, key)
        if name is None:
            from ..validation import validate_text

            data = validate_text(text, ws.root, ws.display).data
            name = data["name"]
            store(key, ws.root, name, _manifest_paths(data), None)
        _check_infra_code(ws, text)
    except ManifestError as exc:
        emit(fmt, [str(p) for p in exc.problems], {"valid": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    emit(fmt, [f"{ws.display}: valid ({name})"], {"valid": True, "problems": [], "name": name})
    return 0


def _validated_before(ws: Workspace, key: str) -> str | None:
    """The app name when this ci-gen already validated these exact bytes (a record in the user's
    cache, which the repository cannot supply; the committed lock proves nothing); None when it
    cannot tell. The manifest's paths are re-checked: a symlink may have changed where they lead."""
    record = load(key, ws.root)
    if record is None:
        return None
    if any(path_escape_reason(str(p), ws.root) for p in record["manifest-paths"]):
        return None  # the full run names the problem with its position
    return str(record["app"])


def _manifest_paths(data: dict[str, Any]) -> list[str]:
    found = []
    for field in MANIFEST_PATH_FIELDS:
        value: Any = data
        for part in field:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            found.append(value)
    return found


def _check_infra_code(ws: Workspace, text: str) -> None:
    """The `.tf` files change without the manifest changing, so they are parsed on every run, even
    when the manifest's own record settles it. The word `infra` anywhere is the cheap test that
    keeps the YAML parser (and hcl2) off the fast path of every other manifest."""
    if "infra" not in text:
        return
    from ..infra_hcl import hcl_problems
    from ..yamlio import parse

    data = parse(text, ws.display).data
    infra = data.get("infra") if isinstance(data, dict) else None
    if isinstance(infra, dict):
        directory = infra.get("dir", "infra")
        problems = hcl_problems(ws.root, directory) if isinstance(directory, str) else []
        if problems:
            raise ManifestError(problems)
