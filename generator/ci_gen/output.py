"""The one printer: every result and problem a command shows goes out through here, as text for
people or JSON for machines (`--output json`).

The commands and engines build what to show (lines, a payload, rich tables) and hand it over;
they never write to stdout or stderr themselves. rich is imported only when a table is shown, so
the pre-commit path (validate, render --check) stays light.
"""
from __future__ import annotations

import json
import sys
from typing import IO, Any, Iterable

from .errors import Problem


def _stream(err: bool) -> IO[str]:
    return sys.stderr if err else sys.stdout


def emit(fmt: str, text_lines: list[str], payload: dict[str, Any], err: bool = False) -> None:
    """A command's result: `text_lines` for people (on stderr when `err`), or `payload` as JSON
    on stdout, where a machine reads it whatever the outcome."""
    if fmt == "json":
        emit_json(payload)
    else:
        emit_lines(text_lines, err=err)


def emit_json(data: Any, sort_keys: bool = True, allow_nan: bool = True) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=sort_keys, allow_nan=allow_nan) + "\n")


def emit_lines(lines: Iterable[str], err: bool = False) -> None:
    stream = _stream(err)
    for line in lines:
        stream.write(line + "\n")


def emit_text(text: str, err: bool = False) -> None:
    """Text already laid out (a diff, a schema, a drafted manifest), written as it is."""
    _stream(err).write(text)


def emit_problems(lines: Iterable[str]) -> None:
    """The error boundary's one-line messages, on stderr."""
    stream = sys.stderr
    for line in lines:
        stream.write(line + "\n")
    stream.flush()


def emit_live(line: str, err: bool = False) -> None:
    """Progress shown while a command works (a job's log line): flushed at once."""
    stream = _stream(err)
    stream.write(line + "\n")
    stream.flush()


def emit_rich(blocks: Iterable[Any], width: int | None = None, soft_wrap: bool = False,
              terminal_width: bool = False, markup: bool | None = None) -> None:
    """rich tables and plain strings, one after another, on stdout. Strings are never read as
    rich markup: they can quote what a server answered; `markup=False` extends that to the plain
    string cells of a table. `terminal_width`: the terminal's width when stdout is one, else
    `width` (so CI logs do not cut the table)."""
    from rich.console import Console

    if terminal_width and sys.stdout.isatty():
        width = None
    console = Console(file=sys.stdout, width=width, highlight=False, soft_wrap=soft_wrap)
    for block in blocks:
        if isinstance(block, str):
            console.print(block, markup=False)
        else:
            console.print(block, markup=markup)


def problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {"file": p.file, "line": p.line, "column": p.column, "path": p.path, "message": p.message}
        for p in problems
    ]
