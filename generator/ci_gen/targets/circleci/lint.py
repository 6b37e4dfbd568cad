"""Offline lint of CircleCI configs: the `circle-ci` JSON schema vendored by check-jsonschema,
plus the references the schema cannot follow (every `requires` names a job of the workflow)."""
from __future__ import annotations

from typing import Any

from ..base import LintResult
from ..schemas import InvalidYaml, load_yaml, schema_problems, vendored_schema


def lint(files: dict[str, str]) -> list[LintResult]:
    return [lint_file(name, text) for name, text in sorted(files.items())]


def lint_file(name: str, text: str) -> LintResult:
    try:
        data = load_yaml(name, text)
    except InvalidYaml as exc:
        return LintResult(name, (str(exc),))
    problems = schema_problems(name, data, vendored_schema("circle-ci.json"))
    return LintResult(name, problems or _references(name, data))


def _references(name: str, data: Any) -> tuple[str, ...]:
    jobs = set(data.get("jobs") or {})
    problems = []
    for workflow, body in (data.get("workflows") or {}).items():
        if not isinstance(body, dict):
            continue
        seen: set[str] = set()
        for entry in body.get("jobs") or []:
            job, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
            settings = settings or {}
            if job not in jobs and settings.get("type") != "approval":
                problems.append(f"{name}: workflows.{workflow}: job {job!r} is not defined under jobs")
            for need in settings.get("requires") or []:
                if need not in seen:
                    problems.append(f"{name}: workflows.{workflow}.{job}: requires {need!r}, not listed before it")
            seen.add(str(settings.get("name", job)))
    return tuple(problems)
