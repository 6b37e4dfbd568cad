"""Semantic rules of `infra:` that the JSON Schema cannot express (schema-valid data only)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import Problem
from .schema import dotted
from .targets import DEFAULT_TARGETS
from .yamlio import Document


def check_infra(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    infra = data.get("infra")
    if not isinstance(infra, dict):
        return []
    problems = []
    seen: set[str] = set()
    for index, env in enumerate(infra.get("environments") or []):
        if env in seen:
            problems.append(_at(doc, ("infra", "environments", index), f"infra environment '{env}' is listed twice"))
        seen.add(env)
    targets = data.get("targets") or DEFAULT_TARGETS
    credentials = (data.get("jenkins") or {}).get("credentials") or {}
    if infra.get("state", "gitlab") == "gitlab" and "jenkins" in targets:
        # Jenkins has no job token: it reaches GitLab's state API with a credential of its own
        if "infra-state" not in credentials:
            problems.append(_at(doc, ("infra",), "infra.state 'gitlab' on Jenkins needs jenkins.credentials.infra-state "
                                                 "(a GitLab user and access token with api scope), or use state: backend"))
        if not (data.get("gitlab") or {}).get("project"):
            problems.append(_at(doc, ("infra",), "infra.state 'gitlab' on Jenkins needs gitlab.project "
                                                 "(the project that holds the state), or use state: backend"))
    return problems


def _at(doc: Document, path: tuple[Any, ...], message: str) -> Problem:
    line, col = doc.position(path)
    return Problem(doc.file, line, col, dotted(path), message)
