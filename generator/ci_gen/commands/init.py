"""`ci-gen init`: write a commented starter manifest (asks in a terminal, flags otherwise)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserError
from ..output import emit
from ..paths import path_escape_reason
from ..templating import render_template
from ..workspace import Workspace


@dataclass(frozen=True)
class InitAnswers:
    name: str
    image: str
    model_path: str | None
    framework: str
    strategy: str
    targets: tuple[str, ...]


def run(ws: Workspace, answers: InitAnswers, fmt: str) -> int:
    if os.path.lexists(ws.manifest_path):  # a dangling symlink too: never written through
        raise UserError(f"{ws.display} already exists; not overwriting it")
    if answers.model_path and path_escape_reason(answers.model_path, ws.root):
        raise UserError(f"--model {answers.model_path}: {path_escape_reason(answers.model_path, ws.root)}")
    text = render_template("init/ci-gen.yaml.j2", a=answers)
    # The starter must itself be valid: fail here rather than hand the user a broken file.
    from ..manifest import load_manifest_text

    load_manifest_text(text, ws.display, ws.root)
    ws.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with open(ws.manifest_path, "x", encoding="utf-8") as handle:
        handle.write(text)
    emit(fmt, [f"wrote {ws.display}; next: edit it, then run `ci-gen render`"], {"ok": True, "written": ws.display})
    return 0
