"""`monitoring.datadog: true`: datadog-monitors.json read back through the Datadog API client's
models with type checking, and its thresholds checked against the Prometheus rules'."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from ci_gen.monitoring import datadog
from ci_gen.manifest import Manifest
from tests.monitoring.conftest import APP, EXAMPLE, manifest_from, text

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
