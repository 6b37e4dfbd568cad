"""Validating manifest data against `schemas/manifest.schema.json` and filling its defaults.

jsonschema reports every violation in one pass; this module turns each into a Problem that
points at the offending line and column and, for misspellings, suggests the intended word.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any, Iterable, Iterator

from .data import schema_path
from .errors import Problem
from .schemacheck import conforms
from .yamlints import SpelledInt
from .yamlio import Document


@lru_cache(maxsize=None)
def load_schema(name: str = "manifest") -> dict[str, Any]:
    with open(schema_path(name), encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def schema_problems(doc: Document, schema_name: str = "manifest") -> list[Problem]:
    """Every schema violation in `doc`, located and worded for a person."""
    schema = load_schema(schema_name)
    problems = [_at(doc, path, _rewritten_int(number)) for path, number in _spelled_ints(doc.data, schema, schema, ())]
    if conforms(doc.data, schema):
        return problems  # proven valid without importing jsonschema: the pre-commit path stays fast
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    for error in validator.iter_errors(doc.data):
        problems.extend(_to_problems(doc, error, schema_name))
    return problems


def _spelled_ints(value: Any, node: Any, root: dict[str, Any],
                  path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], SpelledInt]]:
    """Integers YAML rewrote (`0755`, `0x1F`, `1_000`) where the schema also takes a string, so
    they would pass as "755", "31", "1000". A field that takes only strings is jsonschema's case."""
    if not isinstance(node, dict):
        return
    node = _resolve(node, root)
    if isinstance(value, SpelledInt):
        types = node.get("type")
        if isinstance(types, list) and "string" in types:
            yield path, value
    elif isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            yield from _spelled_ints(item, properties.get(key, node.get("additionalProperties")), root, path + (key,))
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            yield from _spelled_ints(item, node["items"], root, path + (i,))


def _rewritten_int(value: SpelledInt) -> str:
    return (f"{value.spelling} is read by YAML as the number {int(value)}; "
            f"quote it (\"{value.spelling}\") so YAML keeps it as written")


def dotted(path: Iterable[str | int]) -> str:
    """`deploy.environments[1].name` from ('deploy', 'environments', 1, 'name')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _to_problems(doc: Document, error: Any, schema_name: str = "manifest") -> list[Problem]:
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return [_at(doc, path + (key,),
                    f"unknown key '{key}'{_suggest(str(key), allowed) or _home(str(key), path, schema_name)}")
                for key in extra]
    if validator == "required":
        return [_at(doc, path, error.message.replace("is a required property", "is required").replace("'", "key '", 1))]
    if validator == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        suggestion = _suggest(str(error.instance), [str(o) for o in error.validator_value])
        return [_at(doc, path, f"{error.instance!r} is not one of {options}{suggestion}")]
    if validator == "oneOf" and all(list(b) == ["required"] and len(b["required"]) == 1 for b in error.validator_value):
        keys = " or ".join(f"'{b['required'][0]}'" for b in error.validator_value)
        return [_at(doc, path, f"needs exactly one of {keys}")]
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        hint = "; quote it (\"3.10\") so YAML keeps it as written" if isinstance(error.instance, float) else ""
        if isinstance(error.instance, SpelledInt) and "string" in str(expected):
            return [_at(doc, path, f"expected {expected}, got integer: {_rewritten_int(error.instance)}")]
        if not hint:
            from .hints import boolean_hint

            hint = boolean_hint(error.instance, error.validator_value)
        return [_at(doc, path, f"expected {expected}, got {_json_type(error.instance)}{hint}")]
    if validator == "pattern":
        description = error.schema.get("description", "")
        hint = f" ({description.rstrip('.')})" if description and len(description) < 120 else ""
        return [_at(doc, path, f"{_short(error.instance)} is not allowed here{hint}; must match {error.validator_value}")]
    return [_at(doc, path, error.message)]


def _home(key: str, path: tuple[Any, ...], schema_name: str) -> str:
    from .hints import key_home

    return key_home(key, path, load_schema(schema_name))


def _at(doc: Document, path: tuple[Any, ...], message: str) -> Problem:
    line, col = doc.position(path)
    return Problem(doc.file, line, col, dotted(path), message)


def _suggest(word: str, options: list[str]) -> str:
    import difflib  # only a manifest with errors needs it; keeps `validate` on a valid file fast

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def with_defaults(data: dict[str, Any], schema_name: str = "manifest") -> dict[str, Any]:
    """A deep copy of valid `data` with every schema default filled in, recursively."""
    schema = load_schema(schema_name)
    filled = copy.deepcopy(data)
    _fill(filled, schema, schema)
    return filled


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        node = merged
    return node


def _fill(value: Any, node: dict[str, Any], root: dict[str, Any]) -> None:
    node = _resolve(node, root)
    if isinstance(value, dict):
        for key, sub in node.get("properties", {}).items():
            sub = _resolve(sub, root)
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _fill(value[key], sub, root)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            _fill(item, node["items"], root)


def approval_defaults() -> dict[str, Any]:
    """The object form of an environment's `approval`, every field at its default."""
    node = load_schema()["$defs"]["environment"]["properties"]["approval"]
    return {key: copy.deepcopy(sub["default"]) for key, sub in node["properties"].items()}
