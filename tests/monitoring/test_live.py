"""The generated monitoring against a real Prometheus and Alertmanager on 127.0.0.1.

Prometheus loads the generated prometheus.yml (pod discovery swapped for a static target, the
scrape and evaluation intervals cut to 1 s so the test takes seconds, and an `alerting:` block
naming the test's Alertmanager) and the generated rules.yml, and scrapes a small exporter built
with prometheus_client that serves healthy or failing traffic. The test proves: the recording
rules produce the expected values; every dashboard panel and the deployment annotation return
data (the exporter also serves the kube-state-metrics and DCGM series those panels read); the verify step passes while healthy and, when the exporter turns bad during its watch,
rolls the release back on the fake Kubernetes API; a page-level burn alert reaches a real
Alertmanager, whose webhook receiver the test runs.
"""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from ci_gen.monitoring import dashboard
from tests.monitoring.conftest import APP, text
from tests.monitoring.test_promtool import static_config
from tests.steps.conftest import STEPS, free_port, render_k8s, step_env, wait_http
from tests.tools import require, require_module

pytestmark = pytest.mark.heavy
NAME = "reg.example.com/ml/fraud-detector"
GOOD1, GOOD2 = f"{NAME}@sha256:{'1' * 64}", f"{NAME}@sha256:{'2' * 64}"


class Exporter:
    """An app's HTTP metrics via prometheus_client; `failing` turns half the requests into slow 5xx."""

    def __init__(self) -> None:
        client = require_module("prometheus_client", "pip install prometheus-client (the test extra)")
        self.registry = client.CollectorRegistry()
        self.requests = client.Counter("http_requests", "requests", ["code"], registry=self.registry)
        self.latency = client.Histogram("http_request_duration_seconds", "latency", registry=self.registry)
        # what kube-state-metrics and the DCGM exporter would serve, for the dashboard's other panels
        gauges = {name: client.Gauge(name, name, labels, registry=self.registry) for name, labels in (
            ("kube_deployment_status_replicas_available", ["deployment"]),
            ("kube_deployment_status_observed_generation", ["deployment"]),
            ("kube_horizontalpodautoscaler_status_desired_replicas", ["horizontalpodautoscaler"]),
            ("kube_horizontalpodautoscaler_spec_max_replicas", ["horizontalpodautoscaler"]),
            ("DCGM_FI_DEV_GPU_UTIL", ["gpu"]), ("DCGM_FI_DEV_FB_USED", ["gpu"]), ("DCGM_FI_DEV_FB_FREE", ["gpu"]))}
        for name, value in (("kube_deployment_status_replicas_available", 2), ("kube_deployment_status_observed_generation", 1)):
            gauges[name].labels(deployment=APP).set(value)
        for name, value in (("kube_horizontalpodautoscaler_status_desired_replicas", 2),
                            ("kube_horizontalpodautoscaler_spec_max_replicas", 10)):
            gauges[name].labels(horizontalpodautoscaler=APP).set(value)
        for name, value in (("DCGM_FI_DEV_GPU_UTIL", 42), ("DCGM_FI_DEV_FB_USED", 4000), ("DCGM_FI_DEV_FB_FREE", 12000)):
            gauges[name].labels(gpu="0").set(value)
        self.generation = gauges["kube_deployment_status_observed_generation"].labels(deployment=APP)
        self.failing = False
        self.stopped = threading.Event()
        self.server, self.thread = client.start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.address = f"127.0.0.1:{self.server.server_port}"
        self.traffic = threading.Thread(target=self._serve_traffic, daemon=True)
        self.traffic.start()

    def _serve_traffic(self) -> None:
        rng = random.Random(7)
        while not self.stopped.wait(0.01):
            for _ in range(20):
                bad = self.failing and rng.random() < 0.5
                self.requests.labels(code="500" if bad else "200").inc()
                self.latency.observe(0.6 if bad else rng.uniform(0.01, 0.08))

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


class Webhook:
    """Alertmanager's webhook receiver: records every notification."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.alerts.extend(json.loads(body)["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, prometheus: str, exporter: Exporter, webhook: Webhook, sli_file: Path) -> None:
        self.prometheus, self.exporter, self.webhook, self.sli_file = prometheus, exporter, webhook, sli_file

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def wait_value(self, promql: str, timeout: float = 40) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result and result[0]["value"][1] not in ("NaN", "+Inf", "-Inf"):
                return float(result[0]["value"][1])
            time.sleep(0.5)
        raise AssertionError(f"no value for {promql} within {timeout}s")


def _start(procs: list[subprocess.Popen[bytes]], args: list[str], log: Path) -> None:
    with open(log, "w") as handle:
        procs.append(subprocess.Popen(args, stdout=handle, stderr=handle))


@pytest.fixture(scope="module")
def stack(files, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import yaml

    prometheus = require("prometheus", "apt-get install prometheus")
    alertmanager = require("prometheus-alertmanager", "apt-get install prometheus-alertmanager")
    root = tmp_path_factory.mktemp("live")
    exporter, webhook = Exporter(), Webhook()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        am_port = free_port()
        (root / "alertmanager.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "hook", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
                      "group_by": ["alertname", "environment", "long_window"]},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": webhook.url, "send_resolved": False}]}],
        }))
        _start(procs, [alertmanager, f"--config.file={root / 'alertmanager.yml'}", f"--storage.path={root / 'am'}",
                       f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], root / "am.log")
        config = yaml.safe_load(static_config(text(files, ".ci-gen/monitoring/prometheus.yml"),
                                              {"production": exporter.address}))
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}
        (root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "rules.yml").write_text(text(files, ".ci-gen/monitoring/rules.yml"))
        port = free_port()
        _start(procs, [prometheus, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}",
                       f"--web.listen-address=127.0.0.1:{port}"], root / "prometheus.log")
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", timeout=30)
        wait_http(f"http://127.0.0.1:{am_port}/-/ready", timeout=30)
        sli_file = root / "sli.json"
        sli_file.write_bytes(files[".ci-gen/monitoring/sli.json"])
        yield Stack(url, exporter, webhook, sli_file)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)
        exporter.stop()
        webhook.stop()


def test_recording_rules_produce_the_slis(stack: Stack) -> None:
    env = '{app="fraud-detector",environment="production"}'
    assert stack.wait_value(f"ci_gen:request_rate:rate5m{env}") > 0
    assert stack.wait_value(f"ci_gen:error_ratio:rate5m{env}") == 0.0
    assert stack.wait_value(f"ci_gen:slow_ratio:rate1h{env}") == 0.0
    p90 = stack.wait_value(f"ci_gen:latency_p90_ms:rate5m{env}")
    assert 10 < p90 <= 100  # uniform 10..80 ms, histogram buckets 75 and 100 ms
    assert stack.wait_value(f"ci_gen:latency_p50_ms:rate5m{env}") < p90
    # staging has no live target: its SLIs are absent, not zero
    assert stack.query('ci_gen:request_rate:rate5m{environment="staging"}') == []


def test_every_panel_and_annotation_of_the_dashboard_returns_data(stack: Stack, manifest) -> None:
    """The exporter also serves the kube-state-metrics and DCGM series the other panels read."""
    stack.wait_value('ci_gen:request_rate:rate5m{environment="production"}')
    specs = dashboard.panels(manifest)
    assert {s.source for s in specs} == {"app", "kube-state-metrics", "dcgm"}
    stack.exporter.generation.inc()  # a rollout started
    stack.wait_value(substitute(dashboard.annotation_expr(manifest)))
    for spec in specs:
        for expr, _ in spec.queries:
            promql = substitute(expr)
            assert stack.query(promql), f"panel {spec.title!r} returned no data for {promql}"
    # the GPU recording rules select the app's pods in the environment's namespace
    assert stack.wait_value('ci_gen:gpu_utilization:avg{environment="production"}') == 42
    assert stack.wait_value('ci_gen:gpu_memory_used:ratio{environment="production"}') == 0.25


def substitute(expr: str) -> str:
    """Grafana's variables as a user would pick them."""
    return expr.replace("$environment", "production").replace("$pod", ".*").replace("$__rate_interval", "1m")


def test_verify_passes_healthy_then_rolls_back_when_the_app_turns_bad(stack: Stack, run_step, kube_env, fake_kube,
                                                                      tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "production", app=APP, image_name=NAME)
    base = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "production", "CI_GEN_ROLLOUT_TIMEOUT": "5",
            "CI_GEN_MANIFESTS": ".ci-gen/k8s/production", **kube_env}
    for ref in (GOOD1, GOOD2):
        deployed = run_step("rollout", CI_GEN_IMAGE_REF=ref, **base)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    watch = {**base, "CI_GEN_IMAGE_REF": GOOD2, "CI_GEN_PROMETHEUS_URL": stack.prometheus,
             "CI_GEN_SLI_FILE": str(stack.sli_file), "CI_GEN_WATCH_INTERVAL": "1s"}
    stack.wait_value('ci_gen:request_rate:rate5m{environment="production"}')
    healthy = run_step("verify", CI_GEN_WATCH="3s", CI_GEN_SMOKE='test -n "$CI_GEN_SERVICE_URL"',
                       CI_GEN_SERVICE_URL="http://fraud-detector.ml:8080", **watch)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "no page-level burn" in healthy.stdout and "within budget" in healthy.stdout

    proc = subprocess.Popen([str(STEPS / "verify")], cwd=tmp_path, env=step_env(CI_GEN_WATCH="60s", **watch),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    stack.exporter.failing = True
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, out + err
    assert "page-level SLO burn" in err
    assert err.strip().splitlines()[-1] == ("ci-gen verify: error: page-level SLO burn during the watch; rolled back")
    deployment = fake_kube.get("deployments", "ml", APP)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD1


def test_a_page_alert_reaches_alertmanager(stack: Stack) -> None:
    stack.exporter.failing = True
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pages = [a for a in stack.webhook.alerts if a["labels"].get("alertname") == "ErrorBudgetBurn"
                 and a["labels"].get("burn") == "page"]
        if pages:
            break
        time.sleep(0.5)
    assert pages, f"no page reached Alertmanager; got {[a['labels'] for a in stack.webhook.alerts]}"
    labels = pages[0]["labels"]
    assert (labels["app"], labels["environment"], labels["severity"], labels["team"]) == (
        APP, "production", "critical", "fraud")
    assert pages[0]["annotations"]["runbook_url"] == "docs/monitoring.md#errorbudgetburn"
    assert pages[0]["annotations"]["description"].startswith("fraud-detector in production: availability SLO")
