"""Patch semantics for the fake API server: JSON patch, merge patch, strategic merge patch.

Strategic merge is modelled for what kubectl sends for Deployments and Services: lists of
objects with a `name` (containers, env, ports, volumes) merge by name; `$patch`,
`$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...` directives are honoured
or dropped.
"""
from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS = ("name", "containerPort", "port", "mountPath", "type")


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in MERGE_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _merge_list(base: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(patch)
    if key is None or not isinstance(base, list):
        return [_strip(p) for p in patch]
    result = copy.deepcopy(base)
    for item in patch:
        index = next((i for i, b in enumerate(result) if isinstance(b, dict) and b.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic(result[index], item)
    return result


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def strategic(base: Any, patch: Any) -> Any:
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return _strip(patch)
    if patch.get("$patch") == "replace":
        return _strip(patch)
    result = copy.deepcopy(base)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value)
        else:
            result[key] = strategic(result.get(key), value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 add / replace / remove (what `kubectl rollout undo` sends)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), op["value"]) if op["op"] == "add" \
                    else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise ValueError(f"unsupported JSON patch op {op['op']}")
    return doc


def apply_patch(content_type: str, base: dict[str, Any], body: Any) -> dict[str, Any]:
    if "json-patch" in content_type:
        return json_patch(base, body)
    if "merge-patch" in content_type and "strategic" not in content_type:
        return merge(base, body)
    if "strategic-merge-patch" in content_type:
        return strategic(base, body)
    raise ValueError(f"unsupported patch type {content_type}")
