"""GitLab's YAML dialect, owned here: `!reference [job, key]` tags read into a marker object.

Our templates never emit `!reference`, but lint reads committed files that people may have
extended, and GitLab accepts the tag, so reading must too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reference:
    """A `!reference [job, key, ...]` node."""

    path: tuple[str, ...]


def load(text: str) -> Any:
    """Parse GitLab CI YAML into plain data, `!reference` tags as Reference objects."""
    from ruamel.yaml import YAML

    from ...yamllimits import limited_composer

    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = limited_composer()  # a committed file nested 100,000 deep: a lint error, not a RecursionError
    yaml.constructor.add_constructor("!reference", _construct_reference)
    return yaml.load(text)


def for_schema(data: Any) -> Any:
    """The data as GitLab's JSON schema expects it (references become plain string lists)."""
    if isinstance(data, Reference):
        return list(data.path)
    if isinstance(data, dict):
        return {str(k): for_schema(v) for k, v in data.items()}  # JSON Schema knows only string keys
    if isinstance(data, list):
        return [for_schema(v) for v in data]
    return data


def _construct_reference(constructor: Any, node: Any) -> Reference:
    return Reference(tuple(str(v) for v in constructor.construct_sequence(node)))
