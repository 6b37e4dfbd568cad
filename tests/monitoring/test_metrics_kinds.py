"""`monitoring.metrics: triton | custom`: the one SLI definition switches metric source and the
rules, dashboard and sli.json follow; promtool checks and unit-tests the triton rules, checks the
custom ones; the manifest rules refuse inconsistent combinations with file:line:col."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ci_gen.errors import ManifestError
from ci_gen.monitoring import sli
from ci_gen.generated import render_manifest
from tests.monitoring.conftest import manifest_from
from tests.monitoring.test_promtool import promtool, write_tests

RULES = ".ci-gen/monitoring/rules.yml"

BASE = """\
version: 1
name: tri
image: {name: registry.example.com/tri}
deploy:
  environments: [{name: prod, kubernetes: {namespace: tri}}]
monitoring:
  metrics: METRICS
  slo: {availability: 99.9, latency: {threshold_ms: 100, percent: 99}}
"""

CUSTOM = BASE.replace("METRICS", "custom") + """\
  queries:
    request_rate: sum(rate(app_calls_total{<selector>}[<window>]))
    error_ratio: sum(rate(app_calls_failed_total{<selector>}[<window>])) / sum(rate(app_calls_total{<selector>}[<window>]))
    latency_p50_ms: histogram_quantile(0.5, sum by (le) (rate(app_call_ms_bucket{<selector>}[<window>])))
    latency_p90_ms: histogram_quantile(0.9, sum by (le) (rate(app_call_ms_bucket{<selector>}[<window>])))
    latency_p99_ms: histogram_quantile(0.99, sum by (le) (rate(app_call_ms_bucket{<selector>}[<window>])))
    slow_ratio: 1 - sum(rate(app_call_ms_bucket{<selector>,le="100"}[<window>])) / sum(rate(app_call_ms_count{<selector>}[<window>]))
"""


def render(text: str) -> dict[str, str]:
    return {p: b.decode("utf-8") for p, b in render_manifest(manifest_from(text), b"").files.items()}


def recorded(rules_text: str) -> dict[str, str]:
    groups = yaml.safe_load(rules_text.split("\n", 3)[3])["groups"]
    return {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}


@pytest.mark.parametrize("kind", ["triton", "custom"])
def test_rules_pass_promtool_and_follow_the_sli_file(kind: str, tmp_path: Path) -> None:
    files = render(CUSTOM if kind == "custom" else BASE.replace("METRICS", kind))
    (tmp_path / "rules.yml").write_text(files[RULES])
    result = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(files[sli.SLI_FILE])
    assert doc["metrics"] == kind
    selector = 'app="tri",environment="prod"'
    records = recorded(files[RULES])
    for name in ("request_rate", "latency_p90_ms"):
        assert records[f"ci_gen:{name}:rate5m"] == sli.expand(doc["templates"][name], selector, "5m")
    assert records["ci_gen:slow_ratio:rate1h"] == sli.expand(doc["templates"]["slow_ratio"], selector, "1h")
    panels = json.loads(files[".ci-gen/monitoring/dashboard.json"])["panels"]
    assert "Latency heatmap" not in {p["title"] for p in panels}  # no histogram to draw
    exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    assert ("nv_inference_request_success" if kind == "triton" else "app_calls_total") in exprs
    assert "http_requests_total" not in files[RULES] + exprs


def test_triton_scrapes_the_metrics_port_and_autoscales_on_its_counter() -> None:
    files = render(BASE.replace("METRICS", "triton").replace(
        "  environments:", "  resources: {cpu: '1'}\n  autoscale: {max: 3, requests_per_second: 5}\n  environments:"))
    config = yaml.safe_load(files[".ci-gen/monitoring/prometheus.yml"].split("\n", 3)[3])
    relabel = config["scrape_configs"][0]["relabel_configs"][-1]
    assert relabel["target_label"] == "__address__" and relabel["replacement"] == "$1:8002"
    adapter = yaml.safe_load(files[".ci-gen/monitoring/prometheus-adapter.yaml"].split("\n", 3)[3])
    assert adapter["rules"][0]["seriesQuery"].startswith("nv_inference_request_success{")


def triton_series(per_minute: int, failed_per_minute: int, avg_ms: int, minutes: int) -> list[dict]:
    labels = 'app="tri",environment="prod",model="m",version="1"'
    ok = per_minute - failed_per_minute
    return [
        {"series": f"nv_inference_request_success{{{labels}}}", "values": f"0+{ok}x{minutes}"},
        {"series": f"nv_inference_request_failure{{{labels}}}", "values": f"0+{failed_per_minute}x{minutes}"},
        {"series": f"nv_inference_request_duration_us{{{labels}}}", "values": f"0+{ok * avg_ms * 1000}x{minutes}"},
    ]


def test_triton_alerts_fire_on_failures_and_slow_averages_only(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(render(BASE.replace("METRICS", "triton"))[RULES])

    def case(failed: int, avg_ms: int, alert: str, fires: bool) -> dict:
        expected = [{"labels": f'{{__name__="ALERTS",alertname="{alert}",alertstate="firing",app="tri",burn="page",'
                               f'environment="prod",long_window="1h",severity="critical",short_window="5m",'
                               f'slo="{"availability" if alert == "ErrorBudgetBurn" else "latency"}"}}', "value": 1}]
        expr = f'ALERTS{{alertname="{alert}",alertstate="firing",long_window="1h"}}'
        return {"interval": "1m", "input_series": triton_series(1000, failed, avg_ms, 120),
                "promql_expr_test": [{"expr": expr, "eval_time": "100m", "exp_samples": expected if fires else []}]}

    write_tests(tmp_path, [
        case(20, 50, "ErrorBudgetBurn", True),     # 2% failures > 14.4 x 0.1%
        case(10, 50, "ErrorBudgetBurn", False),    # 1% < 1.44%
        case(0, 150, "LatencyBudgetBurn", True),   # average 150 ms above the 100 ms threshold
        case(0, 80, "LatencyBudgetBurn", False),
        case(20, 50, "LatencyBudgetBurn", False),  # failures do not count as slow
    ])
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("text", "message"), [
    (BASE.replace("METRICS", "custom"), r"ci-gen.yaml:7:\d+: monitoring.metrics: metrics: custom needs monitoring.queries"),
    (CUSTOM.replace("custom", "http", 1), r"monitoring.queries: queries are read only with metrics: custom"),
    (BASE.replace("METRICS", "triton") + "  datadog: true\n",
     r"monitoring.datadog: datadog monitors are generated for metrics: http only"),
    (CUSTOM.replace("app_calls_total{<selector>}[<window>]))\n", "app_calls_total[5m]))\n", 1),
     r"monitoring.queries.request_rate"),
    ("\n".join(line for line in CUSTOM.splitlines() if "slow_ratio" not in line) + "\n", r"slow_ratio"),
    (CUSTOM.replace("    slow_ratio:", "    p95:  x{<selector>}\n    slow_ratio:"), r"p95"),
    (CUSTOM.replace("  environments:", "  resources: {cpu: '1'}\n  autoscale: {max: 3, requests_per_second: 5}\n"
                                      "  environments:"),
     r"deploy.autoscale.requests_per_second: requests_per_second needs monitoring.metrics http or triton"),
])
def test_inconsistent_metrics_settings_are_refused(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        manifest_from(text)
