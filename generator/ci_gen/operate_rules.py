"""Semantic rules of the Operate fields (`monitoring:`, `deploy.autoscale/resources/smoke`).

Kept apart from rules.py so the monitoring feature reads as one unit; checked on schema-valid
data like every other rule, and light enough for the pre-commit path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import Problem
from .schema import dotted
from .yamlio import Document


def _at(doc: Document, path: tuple[Any, ...], message: str) -> Problem:
    line, col = doc.position(path)
    return Problem(doc.file, line, col, dotted(path), message)


def check_operate(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    deploy = data.get("deploy")
    problems = []
    if "monitoring" in data and not deploy:
        problems.append(_at(doc, ("monitoring",), "monitoring needs a deploy section: it watches the deployed environments"))
    if not isinstance(deploy, dict):
        return problems
    monitoring = data.get("monitoring")
    if isinstance(monitoring, dict) and monitoring.get("operator") and deploy.get("manifests"):
        problems.append(_at(doc, ("monitoring", "operator"),
                            "operator objects go into .ci-gen/k8s/<env>/, which deploy.manifests replaces; "
                            "add a ServiceMonitor and a PrometheusRule (from .ci-gen/monitoring/rules.yml) to your manifests"))
    if isinstance(monitoring, dict):
        metrics = monitoring.get("metrics", "http")
        if metrics == "custom" and "queries" not in monitoring:
            problems.append(_at(doc, ("monitoring", "metrics"),
                                "metrics: custom needs monitoring.queries (request_rate, error_ratio, latency_p50_ms, "
                                "latency_p90_ms, latency_p99_ms, slow_ratio as PromQL with <selector> and <window>)"))
        if metrics != "custom" and "queries" in monitoring:
            problems.append(_at(doc, ("monitoring", "queries"),
                                f"queries are read only with metrics: custom (metrics is {metrics})"))
        if metrics == "custom" and "requests_per_second" in (deploy.get("autoscale") or {}):
            problems.append(_at(doc, ("deploy", "autoscale", "requests_per_second"),
                                "requests_per_second needs monitoring.metrics http or triton: prometheus-adapter "
                                "needs a per-pod request counter, which custom queries do not name"))
        if metrics != "http" and monitoring.get("datadog"):
            problems.append(_at(doc, ("monitoring", "datadog"),
                                f"datadog monitors are generated for metrics: http only (metrics is {metrics})"))
    autoscale = deploy.get("autoscale")
    if isinstance(autoscale, dict):
        low, high = autoscale.get("min", 1), autoscale.get("max", 1)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(_at(doc, ("deploy", "autoscale", "min"), f"min {low} is above max {high}"))
        if deploy.get("strategy") == "blue-green":
            problems.append(_at(doc, ("deploy", "autoscale"),
                                "autoscale works with the rolling and canary strategies; blue-green Deployments change names on every release"))
        if not (deploy.get("resources") or {}).get("cpu"):
            problems.append(_at(doc, ("deploy", "autoscale"),
                                "autoscale needs deploy.resources.cpu: cpu_percent is a percent of the CPU request"))
        if "gpu_percent" in autoscale and not (data.get("monitoring") or {}).get("gpu"):
            problems.append(_at(doc, ("deploy", "autoscale", "gpu_percent"),
                                "gpu_percent needs monitoring.gpu: true (the DCGM metrics it scales on)"))
        if deploy.get("manifests"):
            problems.append(_at(doc, ("deploy", "autoscale"),
                                "autoscale generates objects into .ci-gen/k8s/, which deploy.manifests replaces; add an HPA to your own manifests instead"))
    return problems
