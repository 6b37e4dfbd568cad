"""The one definition of "healthy": the service-level indicators as PromQL templates.

Everything that judges the service reads these: the recording and alerting rules, the
dashboard, the canary analysis and the post-deploy watch (the last two through the rendered
`.ci-gen/monitoring/sli.json`, since the steps run without ci-gen installed). A template holds
two placeholders, SELECTOR (label matchers) and WINDOW (a range), filled by `expand`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..manifest import Manifest
from ..plan import SLI_FILE as SLI_FILE  # one path for render and the steps

SELECTOR = "<selector>"
WINDOW = "<window>"
SLO_PERIOD = "30d"

# The metric names of the Prometheus client libraries' HTTP instrumentation.
REQUESTS = "http_requests_total"
BUCKETS = "http_request_duration_seconds_bucket"
COUNT = "http_request_duration_seconds_count"

TEMPLATES: dict[str, str] = {
    "request_rate": f"sum(rate({REQUESTS}{{{SELECTOR}}}[{WINDOW}]))",
    # `or vector(0)`: client libraries create the 5xx series at the first error, so a healthy
    # service has none; its error ratio is 0, not "no data" (which fails a canary)
    "error_ratio": (f'(sum(rate({REQUESTS}{{{SELECTOR},code=~"5.."}}[{WINDOW}])) or vector(0))'
                    f" / sum(rate({REQUESTS}{{{SELECTOR}}}[{WINDOW}]))"),
    "latency_p50_ms": f"histogram_quantile(0.5, sum by (le) (rate({BUCKETS}{{{SELECTOR}}}[{WINDOW}]))) * 1000",
    "latency_p90_ms": f"histogram_quantile(0.9, sum by (le) (rate({BUCKETS}{{{SELECTOR}}}[{WINDOW}]))) * 1000",
    "latency_p99_ms": f"histogram_quantile(0.99, sum by (le) (rate({BUCKETS}{{{SELECTOR}}}[{WINDOW}]))) * 1000",
}


# Triton Inference Server's per-model counters (its metrics docs, "Inference Request Metrics"):
# by default Triton exposes latency only as cumulative microsecond counters, so the latency SLIs
# are the window's average; the quantile summaries need `--metrics-config summary_latencies=true`
# and cannot be aggregated across pods, so they are not used.
TRITON_SUCCESS = "nv_inference_request_success"
TRITON_FAILURE = "nv_inference_request_failure"
TRITON_DURATION = "nv_inference_request_duration_us"
TRITON_QUEUE = "nv_inference_queue_duration_us"

_T_OK = f"sum(rate({TRITON_SUCCESS}{{{SELECTOR}}}[{WINDOW}]))"
_T_BAD = f"(sum(rate({TRITON_FAILURE}{{{SELECTOR}}}[{WINDOW}])) or vector(0))"
# nv_inference_request_duration_us grows with successful requests only, so it divides by them
_T_AVG_MS = f"sum(rate({TRITON_DURATION}{{{SELECTOR}}}[{WINDOW}])) / {_T_OK} / 1000"

TRITON_TEMPLATES: dict[str, str] = {
    "request_rate": f"{_T_OK} + {_T_BAD}",
    "error_ratio": f"{_T_BAD} / ({_T_OK} + {_T_BAD})",
    "latency_p50_ms": _T_AVG_MS,
    "latency_p90_ms": _T_AVG_MS,
    "latency_p99_ms": _T_AVG_MS,
}

# The SLIs a `metrics: custom` manifest must give (monitoring.queries), each a template.
CUSTOM_KEYS: tuple[str, ...] = ("request_rate", "error_ratio", "latency_p50_ms", "latency_p90_ms",
                                "latency_p99_ms", "slow_ratio")


def triton_slow_template(threshold_ms: int) -> str:
    """Counters give no distribution: 1 while the window's average latency is above the threshold,
    else 0. The latency burn alerts then fire when the average stays above it over both windows."""
    return f"({_T_AVG_MS}) > bool {threshold_ms}"


def slow_ratio_template(threshold_ms: int) -> str:
    """Share of requests slower than the latency SLO's threshold (a histogram bucket bound)."""
    le = _le(threshold_ms)
    op = "=~" if "|" in le else "="
    return (f'1 - sum(rate({BUCKETS}{{{SELECTOR},le{op}"{le}"}}[{WINDOW}]))'
            f" / sum(rate({COUNT}{{{SELECTOR}}}[{WINDOW}]))")


def _le(threshold_ms: int) -> str:
    # The client libraries print bucket bounds as Go/Python floats: 0.25, 1.0, 2.5, 10.0.
    seconds = threshold_ms / 1000
    text = repr(float(seconds))
    # Go clients print whole seconds as "1", Python ones as "1.0": match both
    return f"{int(seconds)}|{text}" if seconds == int(seconds) else text


def expand(template: str, selector: str, window: str) -> str:
    return template.replace(SELECTOR, selector).replace(WINDOW, window)


def label_matcher(name: str, value: str) -> str:
    # json.dumps escapes exactly what a PromQL double-quoted string needs (\\ and \")
    return f"{name}={json.dumps(value)}"


@dataclass(frozen=True)
class Objectives:
    """The SLOs as budgets: the share of bad requests each may spend."""

    error_budget: float  # 1 - availability
    latency_budget: float  # 1 - latency percent
    latency_threshold_ms: int


def objectives(manifest: Manifest) -> Objectives:
    mon = manifest.monitoring
    if mon is None:  # canary-only manifests still get the SLI file, with the documented defaults
        return Objectives(_budget(99.9), _budget(99.0), 250)
    return Objectives(_budget(mon.availability), _budget(mon.latency_percent), mon.latency_threshold_ms)


def _budget(percent: float) -> float:
    return round(1 - percent / 100, 10)


def metrics_kind(manifest: Manifest) -> str:
    return manifest.monitoring.metrics if manifest.monitoring else "http"


def templates(manifest: Manifest) -> dict[str, str]:
    threshold = objectives(manifest).latency_threshold_ms
    kind = metrics_kind(manifest)
    if kind == "triton":
        return {**TRITON_TEMPLATES, "slow_ratio": triton_slow_template(threshold)}
    if kind == "custom":
        assert manifest.monitoring is not None
        return dict(manifest.monitoring.queries)
    return {**TEMPLATES, "slow_ratio": slow_ratio_template(threshold)}


def heatmap_template(manifest: Manifest) -> str | None:
    """The latency distribution by bucket, where the metrics have one (http only)."""
    if metrics_kind(manifest) != "http":
        return None
    return f"sum by (le) (rate({BUCKETS}{{{SELECTOR}}}[{WINDOW}]))"


# Multi-window, multi-burn-rate alerting (Google SRE workbook, ch. 5): (severity class, burn
# factor, long window, short window). The factor is how many times faster than "exactly spend
# the budget in 30 days" the budget burns.
BURN_WINDOWS: tuple[tuple[str, float, str, str], ...] = (
    ("page", 14.4, "1h", "5m"),
    ("page", 6.0, "6h", "30m"),
    ("ticket", 3.0, "1d", "2h"),
    ("ticket", 1.0, "3d", "6h"),
)
WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def sli_document(manifest: Manifest) -> dict[str, object]:
    """The content of sli.json: templates, budgets and the page-level burn windows."""
    obj = objectives(manifest)
    return {
        "app": manifest.name,
        "metrics": metrics_kind(manifest),
        "placeholders": {"selector": SELECTOR, "window": WINDOW},
        "templates": templates(manifest),
        "objectives": {"error_budget": obj.error_budget, "latency_budget": obj.latency_budget,
                       "latency_threshold_ms": obj.latency_threshold_ms, "period": SLO_PERIOD},
        "burn_windows": [{"severity": s, "factor": f, "long": lw, "short": sw} for s, f, lw, sw in BURN_WINDOWS],
    }


def sli_json(manifest: Manifest) -> str:
    return json.dumps(sli_document(manifest), indent=2, sort_keys=True) + "\n"
