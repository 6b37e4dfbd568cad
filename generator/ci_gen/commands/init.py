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
from ..targets import DEFAULT_TARGETS
from ..templating import render_template
from ..workspace import Workspace, workspace

# Which flag (and prompt) a manifest path comes from; the namespaces are named after the app.
_FLAG_OF_PATH = (("name", "--name"), ("deploy.environments", "--name"), ("image.name", "--image"),
                 ("model.path", "--model"), ("model", "--model"))


FRAMEWORKS = ("pytorch", "onnx", "tensorflow", "sklearn")


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C
    manifest: str | None = None  # -f: where the starter is written
    fmt: str = "text"
    name: str | None = None
    image: str | None = None
    model_path: str | None = None
    framework: str | None = None  # None: guessed from the model file's extension (asked in a terminal)
    strategy: str = "rolling"
    targets: tuple[str, ...] = ()  # (): DEFAULT_TARGETS
    interactive: bool = False  # ask for what the flags leave out (stdin is a terminal)


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


def run(request: Request) -> int:
    from pathlib import Path

    ws = workspace(request.directory, request.manifest)
    answers = InitAnswers(request.name or "", request.image or "", request.model_path,
                          request.framework or guess_framework(request.model_path), request.strategy,
                          request.targets or DEFAULT_TARGETS)
    if request.interactive:
        answers = ask(ws, answers, name_from(Path(ws.root).resolve().name), request.framework is None)
    if not answers.name or not answers.image:
        raise UsageError("--name and --image are required when not running in a terminal")
    return write_starter(ws, answers, request.fmt)


def ask(ws: Workspace, answers: InitAnswers, directory_name: str, ask_framework: bool) -> InitAnswers:
    """Prompt for each answer the flags left out; a refused answer is explained and asked again."""
    import click

    if not answers.name:
        name = click.prompt("Application name", default=directory_name,
                            value_proc=answer_check(ws, answers, "name", "--name"))
        answers = replace(answers, name=name)
    if not answers.image:
        image = click.prompt("Image repository (no tag)", default=f"registry.example.com/ml/{answers.name}",
                             value_proc=answer_check(ws, answers, "image", "--image"))
        answers = replace(answers, image=image)
    if answers.model_path is None:
        model = click.prompt("Model file (empty for none)", default="", show_default=False,
                             value_proc=answer_check(ws, answers, "model_path", "--model"))
        answers = replace(answers, model_path=model or None)
    if ask_framework and answers.model_path:
        framework = click.prompt("Framework", type=click.Choice(list(FRAMEWORKS)),
                                 default=guess_framework(answers.model_path))
        answers = replace(answers, framework=framework)
    return answers


def write_starter(ws: Workspace, answers: InitAnswers, fmt: str) -> int:
    if os.path.lexists(ws.manifest_path):  # a dangling symlink too: never written through
        raise UserError(f"{ws.display} already exists; not overwriting it")
    problems = flag_problems(ws, answers)
    if problems:
        raise UsageError("\n".join(problems))
    text = starter_text(answers)
    write_named_file(ws.manifest_path, text.encode("utf-8"), exclusive=True)
    emit(fmt, [f"wrote {ws.display}; next: edit it, then run `ci-gen render`"], {"ok": True, "written": ws.display})
    return 0
