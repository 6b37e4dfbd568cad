"""promtool on the generated rules and scrape configuration, and unit tests of every alert.

The alert tests run in promtool's virtual time: each burn-rate window pair fires on a series
that burns its budget 5% faster than its factor and not on one 5% slower, the short window
silences an alert whose burst is over, and the workload and GPU alerts fire on bad series only.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ci_gen.monitoring import sli
from tests.monitoring.conftest import APP, text
from tests.tools import require

pytestmark = pytest.mark.heavy
RULES = ".ci-gen/monitoring/rules.yml"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = require("promtool", "apt-get install prometheus")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_rules_pass_promtool_check(files, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(text(files, RULES))
    result = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def static_config(config_text: str, targets: dict[str, str]) -> str:
    """The generated prometheus.yml with each app job's pod discovery swapped for a static target
    carrying the labels relabelling would attach; everything else as generated."""
    import yaml

    config = yaml.safe_load(config_text)
    for job in config["scrape_configs"]:
        env = job["job_name"].removeprefix(f"{APP}-")
        job.pop("kubernetes_sd_configs")
        job.pop("relabel_configs", None)
        job.pop("metric_relabel_configs", None)
        address = targets.get(env, "127.0.0.1:9")
        job["static_configs"] = [{"targets": [address], "labels": {"app": APP, "environment": env,
                                                                   "namespace": "ml", "pod": f"{APP}-0"}}]
    return yaml.safe_dump(config, sort_keys=False)


def test_scrape_config_passes_promtool_check(files, tmp_path: Path) -> None:
    import yaml

    generated = yaml.safe_load(text(files, ".ci-gen/monitoring/prometheus.yml"))
    assert generated["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    assert generated["rule_files"] == ["rules.yml"]
    jobs = {j["job_name"]: j for j in generated["scrape_configs"]}
    assert set(jobs) == {f"{APP}-staging", f"{APP}-production", f"{APP}-dcgm"}
    assert jobs[f"{APP}-production"]["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["ml"]}}]
    # Debian's promtool is built without Kubernetes discovery: check the static-target copy
    (tmp_path / "rules.yml").write_text(text(files, RULES))
    (tmp_path / "prometheus.yml").write_text(static_config(text(files, ".ci-gen/monitoring/prometheus.yml"), {}))
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def requests_series(env: str, per_minute: int, errors_per_minute: int, minutes: int, then: str = "") -> list[dict]:
    ok = per_minute - errors_per_minute
    labels = f'app="{APP}",environment="{env}"'
    return [
        {"series": f'http_requests_total{{{labels},code="200"}}', "values": f"0+{ok}x{minutes}{then and ' ' + then}"},
        {"series": f'http_requests_total{{{labels},code="500"}}', "values": f"0+{errors_per_minute}x{minutes}"},
    ]


def latency_series(env: str, per_minute: int, slow_per_minute: int, minutes: int) -> list[dict]:
    labels = f'app="{APP}",environment="{env}"'
    return [
        {"series": f'http_request_duration_seconds_bucket{{{labels},le="0.25"}}',
         "values": f"0+{per_minute - slow_per_minute}x{minutes}"},
        {"series": f'http_request_duration_seconds_bucket{{{labels},le="+Inf"}}', "values": f"0+{per_minute}x{minutes}"},
        {"series": f'http_request_duration_seconds_count{{{labels}}}', "values": f"0+{per_minute}x{minutes}"},
    ]


def firing(alert: str, slo_label: str, pairs: list[tuple[str, float, str, str]], env: str) -> list[dict]:
    return [{"labels": f'{{__name__="ALERTS",alertname="{alert}",alertstate="firing",app="{APP}",'
                       f'burn="{kind}",environment="{env}",long_window="{long_w}",'
                       f'severity="{"critical" if kind == "page" else "warning"}",short_window="{short_w}",'
                       f'slo="{slo_label}",team="fraud"}}', "value": 1}
            for kind, _, long_w, short_w in pairs]


def burn_cases(budget: float) -> list[tuple[float, list[tuple[str, float, str, str]]]]:
    """(bad share, the window pairs it must fire): 5% above and 5% below each pair's limit."""
    cases: list[tuple[float, list[tuple[str, float, str, str]]]] = [(0.0, [])]
    for _, factor, _, _ in sli.BURN_WINDOWS:
        for share in (factor * budget * 1.05, factor * budget * 0.95):
            cases.append((share, [p for p in sli.BURN_WINDOWS if p[1] * budget < share]))
    return cases


def alerts_expr(alert: str) -> str:
    return f'ALERTS{{alertname="{alert}",alertstate="firing"}}'


def test_every_burn_rate_pair_fires_only_above_its_factor(files, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(text(files, RULES))
    per_minute = 100000
    tests = []
    for alert, slo_label, budget, series in (("ErrorBudgetBurn", "availability", 0.001, requests_series),
                                             ("LatencyBudgetBurn", "latency", 0.01, latency_series)):
        for share, pairs in burn_cases(budget):
            bad = round(share * per_minute)
            tests.append({
                "interval": "1m",
                "input_series": series("production", per_minute, bad, 120),
                "promql_expr_test": [{"expr": alerts_expr(alert), "eval_time": "100m",
                                      "exp_samples": firing(alert, slo_label, pairs, "production")}],
            })
    # the short window: a burst that ended 10 minutes ago still shows over 1 h, not over 5 m
    burst = requests_series("production", per_minute, 0, 0)
    burst[0]["values"] = f"0+{per_minute - 5000}x60 {60 * (per_minute - 5000)}+{per_minute}x20"
    burst[1]["values"] = f"0+5000x60 300000+0x20"
    long_only = [p for p in sli.BURN_WINDOWS if p[2] in ("6h", "1d", "3d")]
    tests.append({"interval": "1m", "input_series": burst,
                  "promql_expr_test": [{"expr": alerts_expr("ErrorBudgetBurn"), "eval_time": "75m",
                                        "exp_samples": firing("ErrorBudgetBurn", "availability", long_only, "production")}]})
    write_tests(tmp_path, tests)
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def write_tests(tmp_path: Path, tests: list[dict]) -> None:
    import yaml

    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                        "tests": tests}, sort_keys=False))


def test_workload_and_gpu_alerts(files, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(text(files, RULES))
    pod = f'namespace="ml",pod="{APP}-7d9f-abcde"'
    tests = [{
        "interval": "1m",
        "input_series": [
            {"series": f'kube_pod_container_status_restarts_total{{{pod},container="{APP}"}}', "values": "0+1x30"},
            {"series": f'kube_pod_container_status_restarts_total{{namespace="ml",pod="other-0",container="x"}}',
             "values": "0+1x30"},
            {"series": f'kube_deployment_status_condition{{namespace="ml",deployment="{APP}-canary",'
                       'condition="Progressing",status="false"}', "values": "0x5 1x10"},
            {"series": f'DCGM_FI_DEV_GPU_UTIL{{{pod},gpu="0"}}', "values": "99x30"},
            {"series": f'DCGM_FI_DEV_FB_USED{{{pod},gpu="0"}}', "values": "15900x30"},
            {"series": f'DCGM_FI_DEV_FB_FREE{{{pod},gpu="0"}}', "values": "100x30"},
        ],
        "promql_expr_test": [
            _firing("PodCrashLooping", "25m", [
                {"environment": e, "severity": "critical", "namespace": "ml", "pod": f"{APP}-7d9f-abcde",
                 "container": APP} for e in ("production", "staging")]),
            _firing("RolloutStuck", "4m", []),
            _firing("GpuSaturated", "10m", []),  # for: 15m
            _firing("GpuSaturated", "25m", [
                {"environment": e, "severity": "warning", "pod": f"{APP}-7d9f-abcde"} for e in ("production", "staging")]),
            _firing("GpuMemoryNearFull", "10m", [
                {"environment": e, "severity": "critical", "pod": f"{APP}-7d9f-abcde"} for e in ("production", "staging")]),
            {"expr": 'count(ALERTS{alertname="RolloutStuck",alertstate="firing",deployment="fraud-detector-canary"})',
             "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 2}]},
        ],
    }]
    write_tests(tmp_path, tests)
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _firing(alert: str, at: str, alerts: list[dict[str, str]]) -> dict:
    samples = []
    for labels in alerts:
        full = {"__name__": "ALERTS", "alertname": alert, "alertstate": "firing", **labels, "app": APP, "team": "fraud"}
        samples.append({"labels": "{" + ",".join(f'{k}="{v}"' for k, v in sorted(full.items())) + "}", "value": 1})
    return {"expr": alerts_expr(alert), "eval_time": at, "exp_samples": samples}


def test_lint_runs_promtool_on_the_committed_rules(tmp_path: Path) -> None:
    import json
    import shutil
    import sys

    from tests.monitoring.conftest import EXAMPLE

    require("promtool", "apt-get install prometheus")
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE.parent, repo)

    def lint() -> tuple[int, dict[str, list[str]]]:
        proc = subprocess.run([sys.executable, "-m", "ci_gen", "lint", "-o", "json"], cwd=repo,
                              capture_output=True, text=True, check=False, timeout=300)
        results = json.loads(proc.stdout)["results"]
        return proc.returncode, {r["file"]: r["problems"] for r in results if "monitoring" in r["file"]}

    code, results = lint()
    assert (code, results) == (0, {RULES: [], ".ci-gen/monitoring/prometheus.yml": []})
    with open(repo / RULES, "a") as handle:
        handle.write('      - alert: "Broken"\n        expr: "rate(up[5m]"\n')
    code, results = lint()
    assert code == 1
    assert any("promtool" in p and "parse error" in p for p in results[RULES]), results


CASES = sorted(p for p in list((Path(__file__).resolve().parents[2] / "examples").glob("*/ci-gen.yaml"))
               + list((Path(__file__).resolve().parents[2] / "tests" / "golden").glob("*/ci-gen.yaml")))


@pytest.mark.parametrize("case", CASES, ids=[p.parent.name for p in CASES])
def test_every_case_with_monitoring_passes_promtool(case: Path) -> None:
    from ci_gen.manifest import load_manifest
    from ci_gen.monitoring.lint import lint_monitoring
    from ci_gen.generated import render_manifest

    require("promtool", "apt-get install prometheus")
    manifest = load_manifest(case)
    if manifest.monitoring is None:
        pytest.skip("no monitoring section")
    rules = render_manifest(manifest, case.read_bytes()).files[RULES].decode()
    results = lint_monitoring(manifest, rules)
    assert [(r.file, r.problems, r.skipped) for r in results] == [
        (RULES, (), None), (".ci-gen/monitoring/prometheus.yml", (), None)]
