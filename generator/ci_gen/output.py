"""Printing results for people (text) or machines (`--output json`)."""
from __future__ import annotations

import json
import sys
from typing import Any

from .errors import Problem


def emit(fmt: str, text_lines: list[str], payload: dict[str, Any], err: bool = False) -> None:
    stream = sys.stderr if err and fmt == "text" else sys.stdout
    if fmt == "json":
        stream.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    else:
        for line in text_lines:
            stream.write(line + "\n")


def problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {"file": p.file, "line": p.line, "column": p.column, "path": p.path, "message": p.message}
        for p in problems
    ]
