"""`monitoring.datadog: true`: datadog-monitors.json read back through the Datadog API client's
models with type checking, and its thresholds checked against the Prometheus rules'."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from ci_gen.monitoring import datadog
from ci_gen.manifest import Manifest
from ci_gen.monitoring.promrules import rule_groups
from tests.monitoring.conftest import APP, EXAMPLE, REPO, manifest_from, text

pytest.importorskip("datadog_api_client", reason="the datadog extra: pip install 'ci-gen[datadog]'")

from datadog_api_client.configuration import Configuration  # noqa: E402
from datadog_api_client.exceptions import ApiTypeError  # noqa: E402
from datadog_api_client.model_utils import validate_and_convert_types  # noqa: E402
from datadog_api_client.v1.model.monitor import Monitor  # noqa: E402
from datadog_api_client.v1.model.monitor_type import MonitorType  # noqa: E402

MONITORS = ".ci-gen/monitoring/datadog-monitors.json"
# The example with `datadog: true`: the bundled example itself leaves it off, so that a plain
# `pip install .` (the README's first command) renders it without the datadog extra.
DATADOG_EXAMPLE = EXAMPLE.read_text(encoding="utf-8").replace("\nmonitoring:\n", "\nmonitoring:\n  datadog: true\n", 1)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return manifest_from(DATADOG_EXAMPLE)


@pytest.fixture(scope="module")
def files(manifest: Manifest) -> dict[str, bytes]:
    from ci_gen.generated import render_manifest

    return render_manifest(manifest, DATADOG_EXAMPLE.encode("utf-8")).files


def as_monitor(body: dict) -> Monitor:
    # the client's own response path: deserialise into the model, checking every field's type
    return validate_and_convert_types(body, (Monitor,), ["monitor"], True, True, Configuration())


def test_every_monitor_round_trips_through_the_client_models(files) -> None:
    bodies = json.loads(text(files, MONITORS))
    assert bodies
    for body in bodies:
        model = as_monitor(json.loads(json.dumps(body)))
        assert isinstance(model, Monitor)
        assert model.type == MonitorType.QUERY_ALERT
        assert model.to_dict() == body


def test_the_type_check_is_real(files) -> None:
    body = json.loads(text(files, MONITORS))[0]
    body["options"]["thresholds"]["critical"] = "high"
    with pytest.raises(ApiTypeError):
        as_monitor(body)


def test_thresholds_equal_the_prometheus_rules(files, manifest) -> None:
    rules = yaml.safe_load(text(files, ".ci-gen/monitoring/rules.yml"))
    prom: dict[tuple[str, str], float] = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in ("ErrorBudgetBurn", "LatencyBudgetBurn"):
                limits = {float(x) for x in re.findall(r"> ([0-9.e-]+)", rule["expr"])}
                assert len(limits) == 1
                prom[(rule["labels"]["slo"], rule["labels"]["long_window"])] = limits.pop()
    assert len(prom) == 8
    seen = set()
    for body in json.loads(text(files, MONITORS)):
        tags = dict(t.split(":", 1) for t in body["tags"])
        critical = body["options"]["thresholds"]["critical"]
        assert float(body["query"].rsplit(" ", 1)[1]) == critical  # the query's own comparison
        if "slo" in tags:
            assert critical == prom[(tags["slo"], tags["long_window"])]
            assert body["query"].startswith(f"sum({datadog.time_window(tags['long_window'])}):")
            seen.add((tags["environment"], tags["slo"], tags["long_window"]))
    envs = {e.name for e in manifest.deploy.environments}
    assert seen == {(e, s, w) for e in envs for s, w in prom}


def test_workload_monitors_and_tags_from_the_manifest(files) -> None:
    bodies = json.loads(text(files, MONITORS))
    names = {b["name"].split(" ", 2)[2] for b in bodies if "slo:availability" not in b["tags"]
             and "slo:latency" not in b["tags"]}
    assert names == {"PodCrashLooping", "RolloutStuck", "GpuSaturated", "GpuMemoryNearFull"}
    for body in bodies:
        assert {f"app:{APP}", "team:fraud", "managed-by:ci-gen"} <= set(body["tags"])
        assert not any(t.startswith("severity_page") for t in body["tags"])
        assert "docs/monitoring.md#" in body["message"]
        assert f"app:{APP}" in body["query"] or f"kube_deployment:{APP}" in body["query"]


SMALL = """\
version: 1
name: small
image: {name: registry.example.com/small}
deploy:
  environments: [{name: prod, kubernetes: {namespace: small}}]
monitoring:
  datadog: DATADOG
  slo: {availability: 99.5, latency: {threshold_ms: 1000, percent: 95}}
  labels: {Team: "Fraud Ops, EU", severity_ticket: low}
"""


def test_off_by_default_and_deterministic_when_on() -> None:
    from ci_gen.generated import render_manifest

    off = render_manifest(manifest_from(SMALL.replace("  datadog: DATADOG\n", "")), b"").files
    assert MONITORS not in off
    on = manifest_from(SMALL.replace("DATADOG", "true"))
    first, second = render_manifest(on, b"").files[MONITORS], render_manifest(on, b"").files[MONITORS]
    assert first == second
    bodies = json.loads(first)
    assert len(bodies) == 8 + 2  # no GPU monitors without monitoring.gpu
    # label values normalised as Datadog stores tags; the ticket severity from the manifest
    assert all("team:fraud_ops__eu" in b["tags"] for b in bodies)
    assert {b["priority"] for b in bodies if "severity:low" in b["tags"]} == {3}
    latency = [b["query"] for b in bodies if "slo:latency" in b["tags"]]
    assert all("upper_bound:1.0" in q for q in latency)
    assert any(q.endswith("> 0.72") for q in latency)  # 14.4 x 5% budget
    # the API's time_window grammar has no last_3d: the 3-day window is 72 hours
    assert {q.split(":", 1)[0] for q in latency} == {"sum(last_1h)", "sum(last_6h)", "sum(last_1d)", "sum(last_72h)"}


def test_without_the_extra_render_says_what_to_install(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "ci-gen.yaml").write_text(SMALL.replace("DATADOG", "true"))
    # the client made unimportable for this process only, as on a machine without the extra
    code = ("import sys; sys.modules['datadog_api_client'] = None; "
            "from ci_gen.cli import entry; sys.argv = ['ci-gen', 'render']; entry()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pip install 'ci-gen[datadog]'" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the drift monitors (infra.drift) -------------------------------------------------------

DRIFT_CASE = REPO / "tests" / "golden" / "infra-drift-alert" / "ci-gen.yaml"
DRIFT_MANIFEST = DRIFT_CASE.read_text(encoding="utf-8").replace("  operator: true\n", "  operator: true\n  datadog: true\n", 1)


@pytest.fixture(scope="module")
def drift_files() -> dict[str, bytes]:
    from ci_gen.generated import render_manifest

    return render_manifest(manifest_from(DRIFT_MANIFEST), DRIFT_MANIFEST.encode("utf-8")).files


def _infra_alerts(files: dict[str, bytes]) -> dict[str, dict]:
    rules = yaml.safe_load(text(files, ".ci-gen/monitoring/rules.yml"))
    return {r["alert"]: r for g in rules["groups"] if g["name"].endswith(":infra-alerts") for r in g["rules"]}


def test_drift_monitors_match_the_prometheus_infra_alerts(drift_files) -> None:
    from ci_gen.monitoring.promrules import stale_after_seconds

    prom = _infra_alerts(drift_files)
    bodies = [b for b in json.loads(text(drift_files, MONITORS)) if " Infra" in b["name"]]
    # one pair per infra environment: "shared" is no deploy environment, and still gets its monitors
    assert sorted(b["name"] for b in bodies) == sorted(
        f"ranker {env} {alert}" for env in ("staging", "production", "shared")
        for alert in ("InfraDrift", "InfraDriftCheckStale"))
    for body in bodies:
        model = as_monitor(json.loads(json.dumps(body)))
        assert model.type == MonitorType.QUERY_ALERT and model.to_dict() == body
        env, alert = body["name"].split(" ")[1:]
        rule = prom[alert]
        # the rule's labels as tags (severity_ticket's value, team), the environment of the monitor
        assert sorted(body["tags"]) == sorted([f"{k}:{v}" for k, v in rule["labels"].items()]
                                              + [f"environment:{env}", "managed-by:ci-gen"])
        assert body["priority"] == 3  # ticket severity, as every ticket monitor
        assert body["message"].endswith(f"\nRunbook: {rule['annotations']['runbook_url']}")
        assert body["message"].startswith(f"ranker in {env}: {rule['annotations']['summary'].split(': ', 1)[1]}.")
        scope = f"{{app:ranker,environment:{env}}}"
        critical = body["options"]["thresholds"]["critical"]
        assert float(body["query"].rsplit(" ", 1)[1]) == critical
        if alert == "InfraDrift":
            assert rule["expr"].endswith(" == 1")  # a gauge of 0 or 1: >= 1 is the same condition
            assert body["query"] == f"max(last_5m):max:ci_gen.infra_drift{scope} >= 1" and critical == 1
            assert body["options"]["require_full_window"] is False
        else:
            stale = stale_after_seconds("0 5 * * 1-5")
            assert rule["expr"].endswith(f"> {stale}")
            # the same age limit: the window is the rule's threshold (145 h), in the API's grammar
            assert body["query"] == (f"max(last_{stale // 3600}h):"
                                     f"diff(max:ci_gen.infra_drift_check_timestamp_seconds{scope}) <= 0")
            assert critical == 0 and body["options"]["require_full_window"] is True


@pytest.mark.parametrize("cron, window", [
    ("0 5 * * *", "last_49h"),  # daily: two days and an hour
    ("*/15 * * * *", "last_90m"),  # 2 x 15 min + 1 h, not whole hours: minutes
    ("0 22 * * 0,6", None),  # 2 x 6 days + 1 h: beyond the API's longest window, a week
    ("0 5 L * *", None),  # a cron ci-gen does not read: no stale alert in Prometheus either
])
def test_the_stale_monitor_window_follows_the_cron(cron: str, window: str | None) -> None:
    manifest = manifest_from(SMALL.replace("DATADOG", "true") + f"infra: {{environments: [prod], state: backend, drift: '{cron}'}}\n")
    queries = {b.name.split(" ", 2)[2]: b.query for b in datadog.monitors(manifest)}
    assert queries["InfraDrift"].startswith("max(last_5m):max:ci_gen.infra_drift{app:small,environment:prod}")
    stale = queries.get("InfraDriftCheckStale")
    assert (stale.split(":", 1)[0] if stale else None) == (f"max({window})" if window else None)
    rules = [r["alert"] for g in rule_groups(manifest) for r in g["rules"] if r.get("alert", "").startswith("Infra")]
    # Datadog never has a stale monitor Prometheus lacks
    assert ("InfraDriftCheckStale" in rules) >= (stale is not None)


def test_no_drift_monitors_without_a_drift_schedule() -> None:
    manifest = manifest_from(SMALL.replace("DATADOG", "true") + "infra: {environments: [prod], state: backend}\n")
    assert not [m for m in datadog.monitors(manifest) if "Infra" in m.name]
