"""Syntax check of the `infra:` directory's `.tf` files with python-hcl2, before any CI runs.

python-hcl2 builds a Lark parser on import (about half a second), so only `validate` of a
manifest that has `infra:` imports it: the pre-commit path of every other manifest stays fast.
Files are read through paths.py's guard: a `.tf` symlink that leaves the repository is refused.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import Problem, UserError
from .paths import path_escape_reason, read_file

MAX_TF_BYTES = 1024 * 1024  # a bigger hand-written .tf file is not one we parse on every commit


def hcl_problems(repo_root: Path, infra_dir: str) -> list[Problem]:
    """One Problem per `.tf` file under `infra_dir` (not below it: Terraform reads one directory
    per module) that does not parse, located at the error's line and column."""
    if path_escape_reason(infra_dir, repo_root):
        return []  # the manifest rule already names it with its position
    directory = repo_root / infra_dir
    if not directory.is_dir():
        return []
    names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    if not names:
        return []
    import hcl2  # heavy: see the module docstring

    problems = []
    for name in names:
        rel = f"{infra_dir.rstrip('/')}/{name}" if infra_dir not in ("", ".") else name
        problem = _parse(hcl2, repo_root, rel)
        if problem is not None:
            problems.append(problem)
    return problems


def _parse(hcl2: object, repo_root: Path, rel: str) -> Problem | None:
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        raw = read_file(repo_root, rel, MAX_TF_BYTES)
    except UserError:
        raw = None
    if raw is None:
        return Problem(rel, 1, 1, "", "not a regular file inside the repository, or larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(rel, 1, 1, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    try:
        hcl2.loads(text if text.endswith("\n") else text + "\n")  # type: ignore[attr-defined]
    except UnexpectedInput as exc:
        return Problem(rel, int(exc.line or 1), int(exc.column or 1), "", f"HCL syntax error: {_reason(exc)}")
    except (LarkError, ValueError, RecursionError) as exc:
        return Problem(rel, 1, 1, "", f"HCL syntax error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return None


def _reason(exc: Exception) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        return "unexpected end of file (an unclosed block or string?)"
    if token is not None and str(token)[:1] in ("\n", "\r"):
        return "unexpected end of line (a value or a closing bracket missing?)"
    if token is not None:
        return f"unexpected {str(token)[:40]!r}"
    char = getattr(exc, "char", None)
    return f"unexpected character {char!r}" if char else "unexpected input"
