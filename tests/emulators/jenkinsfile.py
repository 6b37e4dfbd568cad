"""A structural stand-in for Jenkins' declarative validator (pipeline-model-converter).

It checks what the real one checks first, with its message texts: balanced braces and closed
strings, a top-level `pipeline { }`, the required `agent` and `stages` sections, at least one
stage, each stage holding `steps`, `stages`, `parallel` or `matrix`, and each kind of trigger
named once in `triggers { }` ("Duplicate trigger name"), and each `post { }` block naming a known
build condition ("Invalid condition"). It does not know step
names or their arguments, nor Groovy expressions: a Jenkinsfile it accepts may still be
rejected by a real server for an unknown step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

SUCCESS_TEXT = "Jenkinsfile successfully validated."
FAILURE_HEADER = "Errors encountered validating Jenkinsfile:"
STAGE_BODIES = ("steps", "stages", "parallel", "matrix")


@dataclass
class Block:
    name: str
    label: str | None
    start: int  # offset of the name
    body_start: int
    body_end: int
    children: list["Block"]


_HEAD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*(['\"])(.*?)\2\s*\))?\s*\{$")


def _blank_strings_and_comments(text: str) -> tuple[str, str | None]:
    """Replace string and comment contents by spaces (offsets kept); report an unclosed one."""
    out = list(text)
    i = 0
    while i < len(text):
        for opener, closer in (("'''", "'''"), ('"""', '"""'), ("/*", "*/"), ("//", "\n"),
                               ("'", "'"), ('"', '"')):
            if text.startswith(opener, i):
                end = _find_close(text, i + len(opener), closer)
                if end < 0 and closer != "\n":
                    return "".join(out), f"unexpected end of file: unclosed {opener}"
                end = len(text) if end < 0 else end
                for k in range(i + len(opener), end):
                    if out[k] != "\n":
                        out[k] = " "
                i = end + len(closer)
                break
        else:
            i += 1
    return "".join(out), None


def _find_close(text: str, start: int, closer: str) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\" and closer not in ("*/", "\n"):
            i += 2
            continue
        if text.startswith(closer, i):
            return i
        i += 1
    return -1


def _blocks(code: str, start: int, end: int, source: str) -> list[Block]:
    """Named `{ }` blocks directly inside code[start:end]; nested ones become children.
    Labels are read from `source`, since strings are blanked in `code`."""
    found: list[Block] = []
    i = start
    while i < end:
        if code[i] != "{":
            i += 1
            continue
        close = _matching(code, i)
        head = _HEAD.search(code[max(start, i - 200):i + 1])
        if head:
            offset = max(start, i - 200)
            label = source[offset + head.start(3):offset + head.end(3)] if head.group(3) \
                is not None else None
            found.append(Block(head.group(1), label, offset + head.start(), i + 1, close,
                               _blocks(code, i + 1, close, source)))
        i = close + 1
    return found


def _matching(code: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(code)):
        depth += {"{": 1, "}": -1}.get(code[k], 0)
        if depth == 0:
            return k
    return len(code)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def validate(text: str) -> list[str]:
    """Error messages in the validator's `WorkflowScript: L: ... @ line L, column C.` form."""
    code, unclosed = _blank_strings_and_comments(text)
    if unclosed:
        return [f"WorkflowScript: {text.count(chr(10)) + 1}: {unclosed}"]
    if code.count("{") != code.count("}"):
        return ["WorkflowScript: 1: unexpected token: } (unbalanced braces)"]
    pipeline = next((b for b in _blocks(code, 0, len(code), text) if b.name == "pipeline"), None)
    if pipeline is None:
        return ["WorkflowScript: 1: Missing required section \"pipeline\" @ line 1, column 1."]
    errors: list[str] = []

    def error(offset: int, message: str) -> None:
        line, column = _position(text, offset)
        errors.append(f"WorkflowScript: {line}: {message} @ line {line}, column {column}.")

    body = code[pipeline.body_start:pipeline.body_end]
    if not re.search(r"(^|[\s;])agent\b", _top_level(body)):
        error(pipeline.start, "Missing required section \"agent\"")
    stages = next((b for b in pipeline.children if b.name == "stages"), None)
    if stages is None:
        error(pipeline.start, "Missing required section \"stages\"")
    else:
        _check_stages(stages, error)
    for triggers in (b for b in pipeline.children if b.name == "triggers"):
        _check_triggers(code, triggers, error)
    _check_post(pipeline, error)
    return errors


POST_CONDITIONS = ("always", "changed", "fixed", "regression", "aborted", "success", "unsuccessful",
                   "unstable", "failure", "notBuilt", "cleanup")


def _check_post(block: Block, error: Callable[[int, str], None]) -> None:
    """Every block in a post section names a build condition (pipeline and stage level)."""
    for child in block.children:
        if child.name == "post":
            for condition in child.children:
                if condition.name not in POST_CONDITIONS:
                    error(condition.start, f'Invalid condition "{condition.name}" - valid conditions are '
                                           f'[{", ".join(POST_CONDITIONS)}]')
        else:
            _check_post(child, error)


def _check_triggers(code: str, triggers: Block, error: Callable[[int, str], None]) -> None:
    """Each trigger kind at most once, as ModelValidatorImpl requires."""
    seen: set[str] = set()
    depth = 0
    for match in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*\()|[()]", code[triggers.body_start:triggers.body_end]):
        token = match.group()
        if token in "()":
            depth += 1 if token == "(" else -1
        elif depth == 0:
            if token in seen:
                error(triggers.body_start + match.start(), f'Duplicate trigger name: "{token}"')
            seen.add(token)


def _top_level(body: str) -> str:
    """The text of `body` with every nested `{...}` removed."""
    out, depth = [], 0
    for char in body:
        depth += char == "{"
        if depth == 0:
            out.append(char)
        depth -= char == "}"
    return "".join(out)


def _check_stages(stages: Block, error: Callable[[int, str], None]) -> None:
    listed = [b for b in stages.children if b.name == "stage"]
    if not listed:
        error(stages.start, "No stages specified")
    for stage in listed:
        kinds = {child.name for child in stage.children}
        if not kinds & set(STAGE_BODIES):
            error(stage.start, f"Expected one of \"steps\", \"stages\", or \"parallel\" for "
                               f"stage \"{stage.label}\"")
        for nested in stage.children:
            if nested.name in ("stages", "parallel"):
                _check_stages(nested, error)


def report_text(errors: list[str]) -> str:
    """The body `POST pipeline-model-converter/validate` answers."""
    if not errors:
        return SUCCESS_TEXT + "\n"
    return FAILURE_HEADER + "\n" + "\n".join(errors) + "\n"


def report_json(errors: list[str]) -> dict[str, object]:
    """The body `POST pipeline-model-converter/validateJenkinsfile` answers."""
    if not errors:
        return {"status": "ok", "data": {"result": "success"}}
    return {"status": "ok",
            "data": {"result": "failure", "errors": [{"error": e} for e in errors]}}

