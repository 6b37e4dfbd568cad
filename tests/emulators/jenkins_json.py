"""Jenkins' `api/json`: exported objects, `tree=` filtering and `depth=` (hudson/model/Api.java).

Every object carries `_class`. With `tree`, only the named properties come back, recursively; a
property named without brackets whose value is an object yields `{"_class": ...}` alone, which
is how python-jenkins' get_all_jobs notices it must ask again one folder deeper. Without `tree`,
objects nested deeper than `depth` show only their summary properties.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TreeSpec = dict[str, "tuple[TreeSpec | None, tuple[int, int | None] | None]"]


@dataclass
class Node:
    cls: str
    props: dict[str, Any]  # values may be zero-argument callables, resolved only when exported
    summary: tuple[str, ...] = ()
    tree_only: frozenset[str] = field(default_factory=frozenset)


_TOKEN = re.compile(r"\s*([^,\[\]{}\s]+|[,\[\]{}])")


def parse_tree(text: str) -> TreeSpec:
    """Parse `jobs[name,url,jobs[name]]{0,10},color` into nested dicts."""
    tokens = _TOKEN.findall(text)
    spec, position = _parse_list(tokens, 0)
    return spec


def _parse_list(tokens: list[str], position: int) -> tuple[TreeSpec, int]:
    spec: TreeSpec = {}
    while position < len(tokens) and tokens[position] != "]":
        name = tokens[position]
        position += 1
        sub: TreeSpec | None = None
        if position < len(tokens) and tokens[position] == "[":
            sub, position = _parse_list(tokens, position + 1)
            position += 1  # the closing bracket
        bounds = None
        if position < len(tokens) and tokens[position] == "{":
            bounds, position = _parse_range(tokens, position + 1)
        if name != ",":
            spec[name] = (sub, bounds)
        if position < len(tokens) and tokens[position] == ",":
            position += 1
    return spec, position


def _parse_range(tokens: list[str], position: int) -> tuple[tuple[int, int | None], int]:
    parts: list[str] = []
    while tokens[position] != "}":
        parts.append(tokens[position])
        position += 1
    text = "".join(parts)
    low, _, high = text.partition(",")
    if "," not in text:  # {n} means exactly element n
        return (int(low), int(low) + 1), position + 1
    return (int(low or 0), int(high) if high else None), position + 1


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


def export(value: Any, tree: TreeSpec | None, depth: int, level: int = 0) -> Any:
    if isinstance(value, Node):
        return _export_node(value, tree, depth, level)
    if isinstance(value, list):
        return [export(v, tree, depth, level) for v in value]
    return value


def _export_node(node: Node, tree: TreeSpec | None, depth: int, level: int) -> dict[str, Any]:
    out: dict[str, Any] = {"_class": node.cls}
    if tree is not None:
        for name, (sub, bounds) in tree.items():
            if name not in node.props:
                continue  # unknown or absent properties are omitted, never an error
            value = _resolve(node.props[name])
            if bounds is not None and isinstance(value, list):
                value = value[bounds[0]:bounds[1]]
            out[name] = export(value, sub if sub is not None else {}, depth, level + 1)
        return out
    if level <= depth:
        names = [name for name in node.props if name not in node.tree_only]
    else:
        names = list(node.summary)
    for name in names:
        out[name] = export(_resolve(node.props[name]), None, depth, level + 1)
    return out


def render(node: Node, tree_text: str | None, depth_text: str | None) -> Any:
    tree = parse_tree(tree_text) if tree_text else None
    depth = int(depth_text) if depth_text and depth_text.isdigit() else 0
    return export(node, tree, depth)

