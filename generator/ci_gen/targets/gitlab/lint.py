"""Offline lint of `.gitlab-ci.yml`: GitLab's official CI JSON schema, as vendored by check-jsonschema."""
from __future__ import annotations

from ..schemas import vendored_schema, schema_problems
from ..base import LintResult


def lint(files: dict[str, str]) -> list[LintResult]:
    return [lint_file(name, text) for name, text in sorted(files.items())]


def lint_file(name: str, text: str) -> LintResult:
    from ruamel.yaml.error import YAMLError

    from . import dialect

    try:
        data = dialect.for_schema(dialect.load(text))
    except YAMLError as exc:
        return LintResult(name, (f"{name}: invalid YAML: {str(exc).splitlines()[0]}",))
    return LintResult(name, schema_problems(name, data, vendored_schema("gitlab-ci.json")))
