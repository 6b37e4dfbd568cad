"""`ci-gen schema --docs`: the manifest's field reference, from the schema an installed ci-gen carries.

A pip user has no docs/ folder; the schema's descriptions, types and defaults are the reference
that always matches the version installed.
"""
from __future__ import annotations

import json
from typing import Any, Iterator


def field_reference(schema: dict[str, Any]) -> Iterator[str]:
    """One line per field: `path  type  [default]  description`, in schema order."""
    yield from _walk(schema, schema, "")


def _walk(node: dict[str, Any], root: dict[str, Any], prefix: str) -> Iterator[str]:
    node = _resolve(node, root)
    required = set(node.get("required", ()))
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        sub = _resolve(sub, root)
        yield _line(path, sub, key in required)
        if sub.get("type") == "object" or "properties" in sub:
            yield from _walk(sub, root, path)
        items = sub.get("items")
        if isinstance(items, dict):
            yield from _walk(items, root, path + "[]")


def _line(path: str, node: dict[str, Any], required: bool) -> str:
    kind = node.get("type") or ("one of " + "|".join(str(v) for v in node["enum"]) if "enum" in node else "")
    if isinstance(kind, list):
        kind = "|".join(kind)
    parts = [path, f"({kind})" if kind else ""]
    if required:
        parts.append("required")
    if "default" in node and node["default"] not in ({}, []):
        parts.append(f"default {json.dumps(node['default'])}")
    description = node.get("description", "")
    return "  ".join(p for p in parts if p) + (f"\n    {description}" if description else "")


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node and seen < 20:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    if "oneOf" in node and "properties" not in node:  # e.g. approval: true or {submitters: ...}
        for branch in node["oneOf"]:
            branch = _resolve(branch, root)
            if "properties" in branch:
                return {**branch, **{k: v for k, v in node.items() if k != "oneOf"}}
    return node
