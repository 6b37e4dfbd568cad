"""Block-style YAML for the generated monitoring files, deterministic and escaped.

Every string is a double-quoted scalar (templating.yaml_str), so a manifest value such as a
label can never change the document's structure; keys keep the order they were built in.
"""
from __future__ import annotations

from typing import Any

from ..templating import yaml_str


def dump(value: Any) -> str:
    return "".join(_lines(value, 0)) if isinstance(value, (dict, list)) and value else _scalar(value) + "\n"


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _entry(f"{pad}{_key(key)}:", item, indent + 2)
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = _lines(item, indent + 2)
                out.append(f"{pad}- {first[indent + 2:]}")
                out += rest
            else:
                out += _entry(f"{pad}-", item, indent + 2)
    return out


def _entry(prefix: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, (dict, list)) and item:
        return [prefix + "\n"] + _lines(item, indent)
    return [f"{prefix} {_scalar(item)}\n"]


def _key(key: str) -> str:
    plain = key.replace("_", "").replace("-", "").replace(".", "").replace("/", "")
    return key if plain.isascii() and plain.isalnum() and not key[0].isdigit() else str(yaml_str(key))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return str(yaml_str(value))
