"""`ci-gen init`: write a commented starter manifest (asks in a terminal, flags otherwise).

Every answer is checked against the schema and rules the moment it is given, by rendering the
starter with it and validating that: a prompt asks again, a flag is named in the error. The
starter is therefore valid by construction, never a file that fails on the first `render`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..errors import ManifestError, UsageError, UserError
from ..output import emit
from ..paths import write_named_file
from ..templating import render_template
from ..workspace import Workspace

# Which flag (and prompt) a manifest path comes from; the namespaces are named after the app.
_FLAG_OF_PATH = (("name", "--name"), ("deploy.environments", "--name"), ("image.name", "--image"),
                 ("model.path", "--model"), ("model", "--model"))


@dataclass(frozen=True)
class InitAnswers:
    name: str
    image: str
    model_path: str | None
    framework: str
    strategy: str
    targets: tuple[str, ...]


def guess_framework(model_path: str | None) -> str:
    """The framework a model file's extension suggests; pytorch when it says nothing."""
    suffix = os.path.splitext(model_path or "")[1].lower()
    return {".pkl": "sklearn", ".pickle": "sklearn", ".joblib": "sklearn", ".onnx": "onnx",
            ".pb": "tensorflow", ".keras": "tensorflow"}.get(suffix, "pytorch")


def name_from(folder: str) -> str:
    """A valid default name from the folder's ("My_Model App" -> "my-model-app")."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-")[:63].rstrip("-") or "app"


def starter_text(answers: InitAnswers) -> str:
    """The starter manifest for these answers (not yet validated)."""
    return render_template("init/ci-gen.yaml.j2", a=answers)


def flag_problems(ws: Workspace, answers: InitAnswers, flag: str | None = None) -> list[str]:
    """`--flag: message` for each problem the answers cause (only `flag`'s when given)."""
    from ..manifest import load_manifest_text

    found: dict[str, str] = {}
    try:
        load_manifest_text(starter_text(answers), ws.display, ws.root)
    except ManifestError as exc:
        for problem in exc.problems:
            owner = next((f for prefix, f in _FLAG_OF_PATH if problem.path == prefix
                          or problem.path.startswith((prefix + ".", prefix + "["))), None)
            if owner is None:
                raise  # a problem no answer caused: the starter template itself is broken
            # the first problem per flag: the name also fills two namespaces, say it once
            found.setdefault(owner, f"{owner}: {problem.message}")
    return [text for owner, text in found.items() if flag in (None, owner)]


def answer_check(ws: Workspace, answers: InitAnswers, field: str, flag: str) -> Callable[[str], str]:
    """A click `value_proc`: the answer for `field`, or click.BadParameter so the prompt asks again."""
    import click

    def check(value: str) -> str:
        value = value.strip()
        given: dict[str, Any] = {field: (value or None) if field == "model_path" else value}
        trial = replace(answers, **given)
        problems = flag_problems(ws, trial, flag)
        if problems:
            raise click.BadParameter("; ".join(p.split(": ", 1)[1] for p in problems))
        return value
    return check


def run(ws: Workspace, answers: InitAnswers, fmt: str) -> int:
    if os.path.lexists(ws.manifest_path):  # a dangling symlink too: never written through
        raise UserError(f"{ws.display} already exists; not overwriting it")
    problems = flag_problems(ws, answers)
    if problems:
        raise UsageError("\n".join(problems))
    text = starter_text(answers)
    write_named_file(ws.manifest_path, text.encode("utf-8"), exclusive=True)
    emit(fmt, [f"wrote {ws.display}; next: edit it, then run `ci-gen render`"], {"ok": True, "written": ws.display})
    return 0
