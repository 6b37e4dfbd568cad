"""The drift check's alert: `infra drift` pushes its result to a real Pushgateway, and with
`monitoring:` the generated rules alert on it (promtool in virtual time, and a real Prometheus
scraping the Pushgateway).

terraform and tofu cannot be installed on our machines: the step runs against a stand-in
`terraform` on PATH, a shell script exiting as `plan -detailed-exitcode` does (0 no changes,
2 changes, 1 an error). Everything after the plan (the step's exit code, the push, the
Pushgateway, Prometheus, the rules) is the real thing.
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

from ci_gen.generated import render_manifest
from ci_gen.manifest import load_manifest
from ci_gen.monitoring.cron import longest_gap_minutes
from ci_gen.monitoring.promrules import rule_groups, stale_after_seconds
from tests.monitoring.conftest import manifest_from
from tests.monitoring.test_promtool import promtool, write_tests
from tests.steps.conftest import free_port, pushgateway, render_k8s, wait_http  # noqa: F401 (a fixture)
from tests.tools import require

pytestmark = pytest.mark.heavy
REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "tests" / "golden" / "infra-drift-alert" / "ci-gen.yaml"
RULES = ".ci-gen/monitoring/rules.yml"
APP = "ranker"
STALE_S = 2 * 72 * 3600 + 3600  # "0 5 * * 1-5": the weekend is the longest wait, plus an hour
FAKE_TERRAFORM = """#!/bin/sh
# stand-in for terraform: `plan -detailed-exitcode` exits with $FAKE_PLAN_EXIT, everything else 0
case "$*" in *-detailed-exitcode*) echo "fake plan"; exit "${FAKE_PLAN_EXIT:-0}" ;; esac
exit 0
"""


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_manifest(load_manifest(CASE), CASE.read_bytes()).files


@pytest.fixture
def fake_terraform(tmp_path: Path) -> dict[str, str]:
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(FAKE_TERRAFORM)
    (bin_dir / "terraform").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CI_GEN_APP": APP, "CI_GEN_INFRA_STATE": "backend"}



def drift_metrics(url: str, env: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    labels = f'app="{APP}",environment="{env}",instance="",job="ci-gen-infra-drift"'
    return {line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("ci_gen_infra_drift") and "{" + labels + "}" in line}


# ---- the rules ----------------------------------------------------------------------------

def test_rules_and_the_prometheusrule_pass_promtool_check(files, tmp_path: Path) -> None:
    import yaml

    (tmp_path / "rules.yml").write_text(files[RULES].decode())
    # the PrometheusRule object carries the same groups: its spec is a rules file of its own
    spec = yaml.safe_load(files[".ci-gen/k8s/production/prometheusrule.yaml"])["spec"]
    assert any(g["name"] == f"{APP}:infra-alerts" for g in spec["groups"])
    (tmp_path / "operator.yml").write_text(yaml.safe_dump(spec))
    result = promtool("check", "rules", "rules.yml", "operator.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_infra_alerts_carry_the_manifest_labels_and_runbook(files) -> None:
    import yaml

    groups = {g["name"]: g["rules"] for g in yaml.safe_load(files[RULES])["groups"]}
    drift, stale = groups[f"{APP}:infra-alerts"]
    assert drift["alert"] == "InfraDrift" and stale["alert"] == "InfraDriftCheckStale"
    for rule in (drift, stale):
        # severity_ticket of the manifest's labels, team as every other alert of the app
        assert rule["labels"] == {"team": "search", "app": APP, "severity": "ticket"}
        assert rule["annotations"]["runbook_url"] == f"https://runbooks.example.com/ranker#{rule['alert'].lower()}"
    assert drift["expr"] == f'ci_gen_infra_drift{{app="{APP}",environment=~"staging|production|shared"}} == 1'
    assert stale["expr"].endswith(f"> {STALE_S}")


def test_infra_drift_fires_on_drift_series_only(files, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(files[RULES].decode())
    pushed = 'instance="",job="ci-gen-infra-drift"'
    series = [
        # production drifted between minutes 10 and 20 (a check found it, a later one found it fixed)
        {"series": f'ci_gen_infra_drift{{app="{APP}",environment="production",{pushed}}}', "values": "0x9 1x10 0x10"},
        {"series": f'ci_gen_infra_drift{{app="{APP}",environment="staging",{pushed}}}', "values": "0x30"},
        # another app's drift, and an environment the manifest no longer lists: not this app's alert
        {"series": f'ci_gen_infra_drift{{app="other",environment="production",{pushed}}}', "values": "1x30"},
        {"series": f'ci_gen_infra_drift{{app="{APP}",environment="legacy",{pushed}}}', "values": "1x30"},
    ]
    firing = [{"labels": _alert_labels("InfraDrift", "production"), "value": 1}]
    write_tests(tmp_path, [{"interval": "1m", "input_series": series, "promql_expr_test": [
        {"expr": _alerts("InfraDrift"), "eval_time": "5m", "exp_samples": []},
        {"expr": _alerts("InfraDrift"), "eval_time": "15m", "exp_samples": firing},
        {"expr": _alerts("InfraDrift"), "eval_time": "25m", "exp_samples": []},
    ]}])
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_infra_drift_check_stale_fires_after_two_intervals_without_a_completed_check(files, tmp_path: Path) -> None:
    import yaml

    (tmp_path / "rules.yml").write_text(files[RULES].decode())
    pushed = 'instance="",job="ci-gen-infra-drift"'
    steps = STALE_S // 600 + 3  # 10-minute samples and evaluations: six days of virtual time stay quick
    series = [
        # production's last completed check was at time 0 (virtual time starts at the epoch)
        {"series": f'ci_gen_infra_drift_check_timestamp_seconds{{app="{APP}",environment="production",{pushed}}}',
         "values": f"0x{steps}"},
        # staging completes a check every 10 minutes: never stale
        {"series": f'ci_gen_infra_drift_check_timestamp_seconds{{app="{APP}",environment="staging",{pushed}}}',
         "values": f"0+600x{steps}"},
    ]
    stale = [{"labels": _alert_labels("InfraDriftCheckStale", "production"), "value": 1}]
    tests = [{"interval": "10m", "input_series": series, "promql_expr_test": [
        {"expr": _alerts("InfraDriftCheckStale"), "eval_time": f"{STALE_S // 60 - 10}m", "exp_samples": []},
        {"expr": _alerts("InfraDriftCheckStale"), "eval_time": f"{STALE_S // 60 + 10}m", "exp_samples": stale},
    ]}]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "10m",
                                                        "tests": tests}, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _alerts(name: str) -> str:
    return f'ALERTS{{alertname="{name}",alertstate="firing"}}'


def _alert_labels(alert: str, env: str) -> str:
    labels = {"__name__": "ALERTS", "alertname": alert, "alertstate": "firing", "app": APP, "environment": env,
              "job": "ci-gen-infra-drift", "severity": "ticket", "team": "search"}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


MONITORED = """version: 1
name: ranker
targets: [gitlab]
image: {name: registry.example.com/ml/ranker}
deploy: {environments: [{name: production, kubernetes: {namespace: ml}}]}
"""


@pytest.mark.parametrize("sections, alerts", [
    ("monitoring: {}\ninfra: {drift: '0 5 * * *'}\n", ["InfraDrift", "InfraDriftCheckStale"]),
    ("monitoring: {}\ninfra: {}\n", []),  # no drift schedule: nothing to alert on
    ("monitoring: {}\n", []),
    # a cron this reader leaves out (L: the last day of the month): no threshold, so no stale alert
    ("monitoring: {}\ninfra: {drift: '0 5 L * *'}\n", ["InfraDrift"]),
])
def test_which_manifests_get_the_infra_alerts(sections: str, alerts: list[str]) -> None:
    manifest = manifest_from(MONITORED + sections)
    found = [r["alert"] for g in rule_groups(manifest) if g["name"].endswith(":infra-alerts") for r in g["rules"]]
    assert found == alerts


def test_without_monitoring_there_are_no_rules_and_the_drift_job_still_runs() -> None:
    from ci_gen.plan import build_plan

    manifest = manifest_from(MONITORED + "infra: {drift: '0 5 * * *'}\n")
    files = render_manifest(manifest, b"").files
    assert not [p for p in files if p.startswith(".ci-gen/monitoring/") and p.endswith(".yml")]
    assert build_plan(manifest).job("drift-production").action == "drift"


@pytest.mark.parametrize("cron, minutes", [
    ("0 5 * * *", 24 * 60),
    ("0 5 * * 1-5", 72 * 60),  # Friday 05:00 to Monday 05:00
    ("30 7 * * MON-FRI", 72 * 60),
    ("*/15 * * * *", 15),
    ("0 */6 * * *", 6 * 60),
    ("0 22 * * 0,6", 6 * 24 * 60),  # Sunday to Saturday
    ("0 0 1 * *", 31 * 24 * 60),
    ("0 3 * JAN,JUL *", 154 * 24 * 60),  # 31 July to 1 January
    ("0 0 29 2 *", 4 * 365 * 24 * 60 + 24 * 60),  # leap days
    ("0 0 13 * 5", 427 * 24 * 60),  # Friday the 13th (both day fields: the longer, Jenkins reading)
    ("H 5 * * *", 24 * 60),  # Jenkins' hash picks one minute: still daily
    ("H/15 * * * *", None),  # the gap depends on the hashed offset
    ("0 0 L * *", None),
    ("0 0 * * 5-1", None),  # a range that wraps
    ("0 0 30 2 *", None),  # never runs
])
def test_the_longest_interval_of_a_cron(cron: str, minutes: int | None) -> None:
    assert longest_gap_minutes(cron) == minutes


def test_stale_threshold_is_two_intervals_and_an_hour() -> None:
    assert stale_after_seconds("0 5 * * *") == 2 * 86400 + 3600
    assert stale_after_seconds("0 5 * * 1-5") == STALE_S
    assert stale_after_seconds("0 0 L * *") is None


# ---- the step -----------------------------------------------------------------------------

def test_drift_pushes_1_and_fails_then_0_and_passes_and_an_error_keeps_the_last_result(
        run_step, fake_terraform, pushgateway) -> None:
    env = {**fake_terraform, "CI_GEN_INFRA_ENV": "production", "CI_GEN_PUSHGATEWAY_URL": pushgateway}
    drifted = run_step("infra", "drift", FAKE_PLAN_EXIT="2", **env)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "drift: the real infrastructure of production differs" in drifted.stderr
    first = drift_metrics(pushgateway, "production")
    assert first["ci_gen_infra_drift"] == 1 and first["ci_gen_infra_drift_check_success"] == 1
    assert abs(first["ci_gen_infra_drift_check_timestamp_seconds"] - time.time()) < 60

    clean = run_step("infra", "drift", FAKE_PLAN_EXIT="0", **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    second = drift_metrics(pushgateway, "production")
    assert second["ci_gen_infra_drift"] == 0 and second["ci_gen_infra_drift_check_success"] == 1
    assert second["ci_gen_infra_drift_check_timestamp_seconds"] >= first["ci_gen_infra_drift_check_timestamp_seconds"]

    # terraform's own error: neither drift nor no drift. Only check_success changes; the last
    # result and the time of the last completed check stay, so the check goes stale if it keeps failing
    failed = run_step("infra", "drift", FAKE_PLAN_EXIT="1", **env)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "ci-gen infra: error: terraform plan failed with exit code 1: the drift check did not complete")
    assert drift_metrics(pushgateway, "production") == {**second, "ci_gen_infra_drift_check_success": 0}


def test_a_failed_init_pushes_a_failed_check_with_the_same_exit_code(run_step, fake_terraform, pushgateway) -> None:
    # state gitlab without a job token: the step stops before terraform runs
    env = {**fake_terraform, "CI_GEN_INFRA_STATE": "gitlab", "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
           "CI_PROJECT_ID": "42", "CI_GEN_INFRA_ENV": "staging", "CI_GEN_PUSHGATEWAY_URL": pushgateway}
    result = run_step("infra", "drift", **env)
    assert result.returncode == 2 and "needs CI_JOB_TOKEN" in result.stderr
    assert drift_metrics(pushgateway, "staging") == {"ci_gen_infra_drift_check_success": 0}


def test_the_deploy_events_of_the_same_app_are_left_alone(run_step, fake_terraform, pushgateway) -> None:
    """Drift goes to its own group, with POST: a deployment's PUT group is another job."""
    deploy = urllib.request.Request(f"{pushgateway}/metrics/job/ci-gen-deploy/app/{APP}/environment/production",
                                    method="PUT", data=b"# TYPE ci_gen_deploy_success gauge\nci_gen_deploy_success 1\n",
                                    headers={"Content-Type": "text/plain; version=0.0.4"})
    urllib.request.urlopen(deploy, timeout=5).close()
    env = {**fake_terraform, "CI_GEN_INFRA_ENV": "production", "CI_GEN_PUSHGATEWAY_URL": pushgateway}
    assert run_step("infra", "drift", FAKE_PLAN_EXIT="0", **env).returncode == 0
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert f'ci_gen_deploy_success{{app="{APP}",environment="production",instance="",job="ci-gen-deploy"}} 1' in text


class Recorder:
    """A Pushgateway stand-in that records each request and answers with `status`."""

    def __init__(self, status: int) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                recorder.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder_500() -> Iterator[Recorder]:
    recorder = Recorder(500)
    yield recorder
    recorder.stop()


def test_credentials_in_the_url_go_as_basic_auth_and_are_never_printed(run_step, fake_terraform,
                                                                       recorder_500: Recorder) -> None:
    import base64

    url = f"http://drift:pa55-s3cret@{recorder_500.address}/"
    result = run_step("infra", "drift", FAKE_PLAN_EXIT="2", CI_GEN_INFRA_ENV="production",
                      CI_GEN_PUSHGATEWAY_URL=url, **fake_terraform)
    # the gateway failed: a warning, and the drift check's own result decides the exit code
    assert result.returncode == 1
    assert "ci-gen infra: warning: could not push the drift check result to http://***@" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    [request] = recorder_500.requests
    assert request["path"] == f"/metrics/job/ci-gen-infra-drift/app/{APP}/environment/production"
    assert request["auth"] == "Basic " + base64.b64encode(b"drift:pa55-s3cret").decode()
    assert "ci_gen_infra_drift 1\n" in request["body"]


def test_an_unreachable_pushgateway_never_changes_the_result(run_step, fake_terraform) -> None:
    env = {**fake_terraform, "CI_GEN_INFRA_ENV": "production", "CI_GEN_PUSHGATEWAY_URL": "http://127.0.0.1:9"}
    clean = run_step("infra", "drift", FAKE_PLAN_EXIT="0", **env)
    assert clean.returncode == 0 and "could not push the drift check result" in clean.stderr
    assert run_step("infra", "drift", FAKE_PLAN_EXIT="2", **env).returncode == 1


def test_dry_run_prints_the_push_and_sends_nothing(run_step, fake_terraform, recorder_500: Recorder) -> None:
    url = f"http://drift:pa55-s3cret@{recorder_500.address}"
    result = run_step("infra", "--dry-run", "drift", CI_GEN_INFRA_ENV="staging", CI_GEN_PUSHGATEWAY_URL=url,
                      **fake_terraform)
    assert result.returncode == 0, result.stderr
    assert recorder_500.requests == []
    lines = result.stdout.splitlines()
    start = lines.index(f"+ push to http://***@{recorder_500.address}/metrics/job/ci-gen-infra-drift/app/{APP}"
                        "/environment/staging (POST):")
    assert [line.split()[0] for line in lines[start + 1:]] == [
        "ci_gen_infra_drift", "ci_gen_infra_drift_check_timestamp_seconds", "ci_gen_infra_drift_check_success"]
    assert "s3cret" not in result.stdout + result.stderr


def test_the_rollout_s_dry_run_hides_the_same_credentials(run_step, tmp_path: Path) -> None:
    """_events.py is shared: the rollout's pushes take basic auth from the URL too."""
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name="reg.example.com/ml/ranker")
    result = run_step("rollout", "--dry-run", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="staging",
                      CI_GEN_IMAGE_REF=f"reg.example.com/ml/ranker@sha256:{'1' * 64}",
                      CI_GEN_PUSHGATEWAY_URL="https://drift:pa55-s3cret@pushgateway.example:9091")
    assert result.returncode == 0, result.stderr
    assert "+ push start event to https://***@pushgateway.example:9091" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_without_a_pushgateway_the_check_only_fails(run_step, fake_terraform) -> None:
    result = run_step("infra", "drift", FAKE_PLAN_EXIT="2", CI_GEN_INFRA_ENV="production", **fake_terraform)
    assert result.returncode == 1
    assert "push" not in result.stdout + result.stderr


# ---- end to end: the step, a real Pushgateway, a real Prometheus with the generated rules -------

def test_a_drift_push_fires_infra_drift_in_prometheus_and_a_clean_check_resolves_it(
        files, run_step, fake_terraform, pushgateway, tmp_path: Path) -> None:
    import yaml

    prometheus = require("prometheus", "apt-get install prometheus")
    (tmp_path / "rules.yml").write_text(files[RULES].decode())
    # the Pushgateway scrape job docs/infra.md asks for: honor_labels keeps the pushed app/environment
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [{"job_name": "pushgateway", "honor_labels": True,
                            "static_configs": [{"targets": [pushgateway.removeprefix("http://")]}]}],
    }))
    port = free_port()
    with open(tmp_path / "prometheus.log", "w") as log:
        proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=log)
    try:
        api = f"http://127.0.0.1:{port}"
        wait_http(f"{api}/-/ready", timeout=30)
        env = {**fake_terraform, "CI_GEN_INFRA_ENV": "production", "CI_GEN_PUSHGATEWAY_URL": pushgateway}
        assert run_step("infra", "drift", FAKE_PLAN_EXIT="2", **env).returncode == 1
        [alert] = wait_alerts(api, lambda alerts: alerts)
        # the Pushgateway's instance="" is no label at all in Prometheus
        assert alert["labels"] == {"alertname": "InfraDrift", "app": APP, "environment": "production",
                                   "job": "ci-gen-infra-drift", "severity": "ticket", "team": "search"}
        assert alert["state"] == "firing"
        assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/ranker#infradrift"
        assert alert["annotations"]["description"].startswith("ranker in production: the real infrastructure")
        # the dashboard's drift panel for production, as Grafana would ask: drift 1, checked just now
        drift, age = panel_values(api, "production")
        assert drift == 1 and 0 <= age < 60
        assert run_step("infra", "drift", FAKE_PLAN_EXIT="0", **env).returncode == 0
        assert wait_alerts(api, lambda alerts: not alerts) == []
        drift, age = panel_values(api, "production")
        assert drift == 0 and 0 <= age < 60
        # staging never pushed: its panel is empty, not a false "no drift"
        assert [query(api, expr) for expr in panel_queries("staging")] == [[], []]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def panel_queries(env: str) -> list[str]:
    from ci_gen.monitoring.dashboard import panels

    [spec] = [s for s in panels(load_manifest(CASE)) if s.title == f"Infra drift: {env}"]
    return [expr for expr, _ in spec.queries]


def query(api: str, promql: str) -> list[dict[str, Any]]:
    url = f"{api}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def panel_values(api: str, env: str) -> tuple[float, float]:
    """The drift panel's two queries, each one series (the query the panel shows is the one tested)."""
    values = []
    for expr in panel_queries(env):
        [series] = query(api, expr)
        assert series["metric"].get("app") == APP and series["metric"].get("environment") == env
        values.append(float(series["value"][1]))
    return values[0], values[1]


def wait_alerts(api: str, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{api}/api/v1/alerts", timeout=5) as response:
            alerts = [a for a in json.load(response)["data"]["alerts"] if a["labels"]["alertname"].startswith("Infra")]
        if done(alerts) or time.monotonic() > deadline:
            return alerts
        time.sleep(0.5)
