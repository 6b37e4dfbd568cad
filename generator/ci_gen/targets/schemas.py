"""Validating a rendered file against a CI system's JSON schema vendored by check-jsonschema."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


class InvalidYaml(Exception):
    """A committed file that is not YAML; the message is the lint line."""


def load_yaml(name: str, text: str) -> Any:
    """The file's data, read with nesting bounded (a committed file nested 100,000 deep is a lint
    error, not a RecursionError)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from ..yamllimits import limited_composer

    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = limited_composer()
    try:
        return yaml.load(text)
    except YAMLError as exc:
        raise InvalidYaml(f"{name}: invalid YAML: {str(exc).splitlines()[0]}") from None


@lru_cache(maxsize=None)
def vendored_schema(name: str) -> dict[str, Any]:
    from importlib.resources import files

    text = (files("check_jsonschema.builtin_schemas.vendor") / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_problems(name: str, data: Any, schema: dict[str, Any]) -> tuple[str, ...]:
    from jsonschema.validators import validator_for

    validator = validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{name}: {where}: {_shorten(error.message)}")
    return tuple(problems)


def _shorten(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."
