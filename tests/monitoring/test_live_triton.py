"""`metrics: triton` against a real Prometheus on 127.0.0.1 scraping a Triton-shaped exporter.

The exporter serves Triton's exposition as Triton writes it (counters without a `_total`
suffix, per model and version labels), which prometheus_client cannot produce, so it is a plain
HTTP handler. Prometheus loads the generated prometheus.yml (discovery swapped for a static
target, 1 s intervals) and rules.yml: the recording rules give a request rate and the error ratio
and average latency the exporter serves, summed over two models, and every app panel of the dashboard returns data.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ci_gen.monitoring import dashboard
from ci_gen.generated import render_manifest
from tests.monitoring.conftest import manifest_from
from tests.monitoring.test_metrics_kinds import BASE
from tests.steps.conftest import free_port, wait_http
from tests.tools import require

pytestmark = pytest.mark.heavy
MANIFEST = BASE.replace("METRICS", "triton")
PER_SECOND, FAILED_PER_SECOND, AVG_MS = 200, 10, 40


class TritonExporter:
    """Counters that grow at a fixed rate: two models, so the SLIs must sum across them."""

    def __init__(self) -> None:
        start = time.monotonic()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                t = time.monotonic() - start
                lines = []
                for name, kind in (("nv_inference_request_success", "counter"),
                                   ("nv_inference_request_failure", "counter"),
                                   ("nv_inference_request_duration_us", "counter")):
                    lines += [f"# HELP {name} {name}", f"# TYPE {name} {kind}"]
                    for model in ("a", "b"):  # half the traffic each
                        ok = (PER_SECOND - FAILED_PER_SECOND) / 2 * t
                        value = {"nv_inference_request_success": ok,
                                 "nv_inference_request_failure": FAILED_PER_SECOND / 2 * t,
                                 "nv_inference_request_duration_us": ok * AVG_MS * 1000}[name]
                        lines.append(f'{name}{{model="{model}",version="1"}} {value:.3f}')
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def query(url: str, promql: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}), timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_value(url: str, promql: str, timeout: float = 40) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = query(url, promql)
        if result and result[0]["value"][1] not in ("NaN", "+Inf", "-Inf"):
            return float(result[0]["value"][1])
        time.sleep(0.5)
    raise AssertionError(f"no value for {promql} within {timeout}s")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require("prometheus", "apt-get install prometheus")
    root: Path = tmp_path_factory.mktemp("triton")
    files = render_manifest(manifest_from(MANIFEST), b"").files
    config = yaml.safe_load(files[".ci-gen/monitoring/prometheus.yml"])
    exporter = TritonExporter()
    (job,) = config["scrape_configs"]
    job.pop("kubernetes_sd_configs")
    job.pop("relabel_configs")  # what relabelling attaches, on the static target below
    job["static_configs"] = [{"targets": [exporter.address],
                              "labels": {"app": "tri", "environment": "prod", "namespace": "tri", "pod": "tri-0"}}]
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    (root / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "rules.yml").write_bytes(files[".ci-gen/monitoring/rules.yml"])
    port = free_port()
    with open(root / "prometheus.log", "w") as log:
        proc = subprocess.Popen([binary, f"--config.file={root / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={root / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        exporter.stop()


def test_recording_rules_give_triton_rate_errors_and_average_latency(prometheus: str) -> None:
    env = '{app="tri",environment="prod"}'
    # a few seconds of samples in a 5m range: rate() divides by the whole range, so the rate is
    # only positive here; the ratios are exact (both sides scale alike)
    assert wait_value(prometheus, f"ci_gen:request_rate:rate5m{env}") > 0
    time.sleep(2)
    assert wait_value(prometheus, f"ci_gen:error_ratio:rate5m{env}") == pytest.approx(
        FAILED_PER_SECOND / PER_SECOND, rel=0.05)
    assert wait_value(prometheus, f"ci_gen:latency_p90_ms:rate5m{env}") == pytest.approx(AVG_MS, rel=0.05)
    assert wait_value(prometheus, f"ci_gen:slow_ratio:rate5m{env}") == 0  # 40 ms average, 100 ms threshold


def test_every_app_panel_returns_data(prometheus: str) -> None:
    wait_value(prometheus, 'ci_gen:request_rate:rate5m{environment="prod"}')
    for spec in dashboard.panels(manifest_from(MANIFEST)):
        if spec.source != "app":
            continue  # kube-state-metrics panels: test_live.py
        for expr, _ in spec.queries:
            promql = expr.replace("$environment", "prod").replace("$pod", ".*").replace("$__rate_interval", "1m")
            assert query(prometheus, promql), f"panel {spec.title!r} returned no data for {promql}"
