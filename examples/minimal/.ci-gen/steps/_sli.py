"""Reading `.ci-gen/monitoring/sli.json`, the SLI definition ci-gen renders from the manifest.

Standard library only. The canary analysis and the post-deploy watch take their PromQL from
this file, never from a copy of their own, so they judge exactly what the alerts and the
dashboard show. A template holds the placeholders named in the file's "placeholders".
"""
from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from typing import Any


class SliError(Exception):
    """The SLI file is missing, unreadable or lacks a template."""


def load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SliError(f"cannot read the SLI definition {path}: {exc} (run `ci-gen render`)") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("templates"), dict):
        raise SliError(f"{path} is not a ci-gen SLI definition (no templates)")
    return doc


def expand(doc: dict[str, Any], name: str, selector: str, window: str) -> str:
    template = doc["templates"].get(name)
    if not isinstance(template, str):
        raise SliError(f"the SLI definition has no template {name!r}")
    marks = doc.get("placeholders", {"selector": "<selector>", "window": "<window>"})
    return template.replace(marks["selector"], selector).replace(marks["window"], window)


def matcher(name: str, value: str) -> str:
    # json.dumps escapes exactly what a PromQL double-quoted string needs
    return f"{name}={json.dumps(value)}"


def query(base_url: str, promql: str, timeout: float = 10.0) -> float | None:
    """One instant query; None when the result is empty or NaN (no traffic yet)."""
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - URL from the manifest
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus query failed: {body.get('error', body)}")
    result = body["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) else value


def series_count(base_url: str, promql: str, timeout: float = 10.0) -> int:
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus query failed: {body.get('error', body)}")
    return len(body["data"]["result"])
