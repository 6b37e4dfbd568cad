"""Datadog monitors equivalent to the Prometheus alerts (`monitoring.datadog: true`).

Built with the Datadog API client's models (`datadog-api-client`, the `datadog` extra) so every
monitor is a valid `Monitor` request body; the thresholds come from sli.py, the same budgets and
burn factors as rules.yml. Unverified against a live Datadog (docs/monitoring.md says which
metric names are assumed).
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..errors import UserError
from ..manifest import Manifest
from . import sli
from .promrules import _num, _severities, runbook, stale_after_seconds

FILE = "datadog-monitors.json"

# Datadog's OpenMetrics check (v2) with `namespace: ci_gen` and the pods' `app` and
# `environment` labels as tags: a counter `x_total` becomes `ci_gen.x.count`, a histogram
# `x_bucket` becomes `ci_gen.x.bucket` with an `upper_bound` tag, `x_count` becomes `ci_gen.x.count`.
NAMESPACE = "ci_gen"
REQUESTS = f"{NAMESPACE}.http_requests.count"
BUCKETS = f"{NAMESPACE}.http_request_duration_seconds.bucket"
COUNT = f"{NAMESPACE}.http_request_duration_seconds.count"
# The Kubernetes (kubelet), kube-state-metrics core and DCGM integrations' metric names.
RESTARTS = "kubernetes.containers.restarts"
CONDITION = "kubernetes_state.deployment.condition"
GPU_UTIL = "dcgm.gpu_utilization"
FB_USED = "dcgm.frame_buffer.used"
FB_FREE = "dcgm.frame_buffer.free"
# The drift check's gauges, read from the Pushgateway by a second OpenMetrics instance with
# `namespace: ci_gen` that renames each `ci_gen_<x>` to `<x>` (docs/monitoring.md shows it).
DRIFT = f"{NAMESPACE}.infra_drift"
DRIFT_CHECKED = f"{NAMESPACE}.infra_drift_check_timestamp_seconds"
# The API's longest `time_window` (last_10080m, last_168h, last_1w)
LONGEST_WINDOW_S = 7 * 24 * 3600


def _tag(name: str, value: str) -> str:
    # Datadog lower-cases tags and turns what it does not allow into underscores; doing it here
    # keeps the JSON equal to what Datadog stores (app, environment, namespace are [a-z0-9-])
    return re.sub(r"[^a-z0-9_:./-]", "_", f"{name}:{value}".lower())


def _scope(manifest: Manifest, env: str) -> str:
    return f"{_tag('app', manifest.name)},{_tag('environment', env)}"


def _client() -> Any:
    try:
        from datadog_api_client.v1.model.monitor import Monitor
        from datadog_api_client.v1.model.monitor_options import MonitorOptions
        from datadog_api_client.v1.model.monitor_thresholds import MonitorThresholds
        from datadog_api_client.v1.model.monitor_type import MonitorType
    except ImportError as exc:
        raise UserError("monitoring.datadog: true needs the Datadog API client: "
                        "pip install 'ci-gen[datadog]'") from exc
    return Monitor, MonitorOptions, MonitorThresholds, MonitorType


def time_window(window: str) -> str:
    """A Prometheus range as the API's documented `time_window`: last_#m, last_#h (up to 168),
    last_1d or last_1w; so 3d becomes last_72h."""
    if window.endswith("d") and window != "1d":
        return f"last_{int(window[:-1]) * 24}h"
    return f"last_{window}"


def burn_query(series: str, scope: str, threshold_ms: int, window: str, limit: str) -> str:
    """A metric-alert query: the bad-request ratio over `window` above `limit`."""
    span = f"sum({time_window(window)})"
    if series == "error_ratio":
        ratio = (f"sum:{REQUESTS}{{{scope},code:5*}}.as_count()"
                 f" / sum:{REQUESTS}{{{scope}}}.as_count()")
    else:
        bound = repr(float(threshold_ms / 1000))
        ratio = (f"1 - sum:{BUCKETS}{{{scope},upper_bound:{bound}}}.as_count()"
                 f" / sum:{COUNT}{{{scope}}}.as_count()")
    return f"{span}:{ratio} > {limit}"


def seconds_window(seconds: int) -> str | None:
    """Whole seconds as a `time_window`: hours when they are whole, else minutes; None beyond a week."""
    if seconds > LONGEST_WINDOW_S:
        return None
    return f"last_{seconds // 3600}h" if seconds % 3600 == 0 else f"last_{-(-seconds // 60)}m"


def drift_queries(manifest: Manifest, env: str) -> dict[str, str]:
    """The drift monitors' queries for one infra environment, by alert name. Datadog's metric
    queries have no clock (`time()`), so "no check completed for T" is read as "the time of the
    last completed check did not increase during the last T": the largest step of the series
    over that window is at most 0."""
    infra = manifest.infra
    assert infra is not None and infra.drift is not None
    scope = _scope(manifest, env)
    queries = {"InfraDrift": f"max(last_5m):max:{DRIFT}{{{scope}}} >= 1"}
    stale = stale_after_seconds(infra.drift)
    window = None if stale is None else seconds_window(stale)
    if window is not None:
        queries["InfraDriftCheckStale"] = f"max({window}):diff(max:{DRIFT_CHECKED}{{{scope}}}) <= 0"
    return queries


def monitors(manifest: Manifest) -> list[Any]:
    assert manifest.deploy is not None and manifest.monitoring is not None
    # type `query alert`: the API reference's type for metric monitors
    Monitor, MonitorOptions, MonitorThresholds, MonitorType = _client()
    labels, page, ticket = _severities(manifest)
    base_tags = sorted({_tag(k, v) for k, v in labels.items()} | {_tag("app", manifest.name), "managed-by:ci-gen"})
    obj = sli.objectives(manifest)
    out = []

    def monitor(name: str, alert: str, query: str, limit: str, severity: str, env: str,
                summary: str, extra: list[str], full_window: bool = False) -> None:
        tags = sorted({*base_tags, _tag("environment", env), f"severity:{severity}", *extra})
        message = (f"{manifest.name} in {env}: {summary}.\n"
                   f"Runbook: {runbook(manifest, alert)}")
        out.append(Monitor(
            name=f"{manifest.name} {env} {name}", type=MonitorType("query alert"), query=query, message=message,
            tags=tags, priority=1 if severity == page else 3,
            options=MonitorOptions(thresholds=MonitorThresholds(critical=float(limit)),
                                   notify_no_data=False, include_tags=True, require_full_window=full_window),
        ))

    for env in manifest.deploy.environments:
        scope = _scope(manifest, env.name)
        for slo, series, budget, alert in (("availability", "error_ratio", obj.error_budget, "ErrorBudgetBurn"),
                                           ("latency", "slow_ratio", obj.latency_budget, "LatencyBudgetBurn")):
            for kind, factor, long_w, short_w in sli.BURN_WINDOWS:
                limit = _num(factor * budget)
                summary = f"{slo} SLO error budget burning {factor:g}x too fast over {long_w}"
                monitor(f"{alert} {factor:g}x {long_w}", alert,
                        burn_query(series, scope, obj.latency_threshold_ms, long_w, limit), limit,
                        page if kind == "page" else ticket, env.name, summary,
                        [f"slo:{slo}", f"burn:{kind}", f"long_window:{long_w}", f"short_window:{short_w}"])
        k8s = f"{_tag('kube_namespace', env.namespace)},{_tag('kube_deployment', manifest.name)}"
        monitor("PodCrashLooping", "PodCrashLooping",
                f"change(sum(last_15m),last_15m):sum:{RESTARTS}{{{k8s}}} by {{pod_name}} > 3", "3", page, env.name,
                "a pod restarted more than 3 times in 15 minutes", [])
        monitor("RolloutStuck", "RolloutStuck",
                f"max(last_1m):sum:{CONDITION}{{{k8s},condition:progressing,status:false}} >= 1", "1", page, env.name,
                "a Deployment exceeded its progress deadline", [])
        if manifest.monitoring.gpu:
            pods = f"{_tag('kube_namespace', env.namespace)},{_tag('kube_deployment', manifest.name)}"
            monitor("GpuSaturated", "GpuSaturated", f"min(last_15m):avg:{GPU_UTIL}{{{pods}}} by {{pod_name}} > 95",
                    "95", ticket, env.name, "GPU utilisation of a pod above 95% for 15 minutes", [])
            monitor("GpuMemoryNearFull", "GpuMemoryNearFull",
                    f"min(last_5m):sum:{FB_USED}{{{pods}}} by {{pod_name}}"
                    f" / (sum:{FB_USED}{{{pods}}} by {{pod_name}} + sum:{FB_FREE}{{{pods}}} by {{pod_name}}) > 0.95",
                    "0.95", page, env.name, "GPU memory of a pod more than 95% used", [])
    if manifest.infra is not None and manifest.infra.drift is not None:
        for env_name in manifest.infra.environments:
            queries = drift_queries(manifest, env_name)
            monitor("InfraDrift", "InfraDrift", queries["InfraDrift"], "1", ticket, env_name,
                    "the real infrastructure differs from the code (the drift check's plan is not empty)", [])
            if "InfraDriftCheckStale" in queries:
                # a full window first: a check series seen for less than T has not gone stale
                monitor("InfraDriftCheckStale", "InfraDriftCheckStale", queries["InfraDriftCheckStale"], "0",
                        ticket, env_name, f"no drift check completed for more than two intervals of "
                        f"{manifest.infra.drift!r}", [], full_window=True)
    return out


def monitors_json(manifest: Manifest) -> str:
    """The monitors as a JSON array of Datadog API request bodies (POST /api/v1/monitor each)."""
    return json.dumps([m.to_dict() for m in monitors(manifest)], indent=2, sort_keys=True) + "\n"
