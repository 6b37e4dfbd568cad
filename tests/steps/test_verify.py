"""verify: the smoke test and the SLO watch after a rollout; a failure rolls back (fake Kubernetes API).

The watch against a live Prometheus is in tests/monitoring/test_live.py; here the decision
logic of _watch.py runs on values handed to it, and the step's wiring runs for real.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.steps.conftest import render_k8s, step_module, write_sli

APP = "fraud-detector"
NAME = "reg.example.com/ml/fraud-detector"
GOOD1, GOOD2 = f"{NAME}@sha256:{'1' * 64}", f"{NAME}@sha256:{'2' * 64}"
watch = step_module("_watch")
_sli = step_module("_sli")


@pytest.fixture
def sli(tmp_path: Path) -> dict:
    return _sli.load(str(write_sli(tmp_path)))


def readings(sli: dict, values: dict[tuple[str, str], float | None], firing: int = 0) -> object:
    """Run _watch.check with Prometheus answers keyed by (template, window)."""
    asked: list[str] = []

    def query(promql: str) -> float | None:
        asked.append(promql)
        for (template, window), value in values.items():
            if promql == _sli.expand(sli, template, 'app="a",environment="prod"', window):
                return value
        return 0.0

    reading = watch.check(sli, query, lambda _: firing, 'app="a",environment="prod"', "a", "prod")
    return reading, asked


def test_a_page_needs_both_windows_of_a_pair_over_the_limit(sli: dict) -> None:
    # availability 99.9: budget 0.001, the 14.4x pair pages above 0.0144 over 1 h and 5 m
    both, asked = readings(sli, {("error_ratio", "1h"): 0.02, ("error_ratio", "5m"): 0.02})
    assert len(both.breaches) == 1 and "availability budget burning 14.4x" in both.breaches[0]
    long_only, _ = readings(sli, {("error_ratio", "1h"): 0.02, ("error_ratio", "5m"): 0.001})
    assert long_only.breaches == ()
    # the ticket pairs (1 d, 3 d) are never asked: a ticket does not roll back
    assert not any("[1d]" in q or "[3d]" in q for q in asked)
    slow, _ = readings(sli, {("slow_ratio", "6h"): 0.07, ("slow_ratio", "30m"): 0.07})
    assert len(slow.breaches) == 1 and "latency budget burning 6.0x" in slow.breaches[0]


def test_a_firing_page_alert_is_a_breach_and_no_data_is_not(sli: dict) -> None:
    firing, _ = readings(sli, {}, firing=1)
    assert any("alert ErrorBudgetBurn (page) is firing" in b for b in firing.breaches)
    empty, _ = readings(sli, {(t, w): None for t in ("error_ratio", "slow_ratio")
                              for w in ("1h", "5m", "6h", "30m")})
    assert empty.breaches == () and empty.no_data


def test_durations() -> None:
    assert [watch.seconds(d) for d in ("30s", "10m", "1h", "1d")] == [30, 600, 3600, 86400]
    with pytest.raises(ValueError):
        watch.seconds("10 minutes")


def test_dry_run_shows_smoke_watch_and_nothing_else(run_step, tmp_path: Path) -> None:
    result = run_step("verify", "--dry-run", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="production",
                      CI_GEN_SMOKE='curl -fsS "$CI_GEN_SERVICE_URL/healthz"', CI_GEN_WATCH="10m",
                      CI_GEN_PROMETHEUS_URL="http://prom:9090")
    assert result.returncode == 0, result.stderr
    assert '+ bash -c curl\\ -fsS\\ \\"\\$CI_GEN_SERVICE_URL/healthz\\"' in result.stdout
    assert "_watch.py --sli .ci-gen/monitoring/sli.json --prometheus http://prom:9090 --app fraud-detector " \
           "--environment production --period 10m --interval 30s" in result.stdout
    assert "verified" in result.stdout


@pytest.mark.parametrize("env, message", [
    ({"CI_GEN_WATCH": "ten minutes"}, "CI_GEN_WATCH must be a duration"),
    ({"CI_GEN_WATCH": "5m"}, "CI_GEN_PROMETHEUS_URL is required"),
])
def test_bad_settings_exit_2(run_step, env: dict[str, str], message: str) -> None:
    result = run_step("verify", CI_GEN_APP=APP, **env)
    assert result.returncode == 2 and message in result.stderr


def test_zero_watch_and_no_smoke_verify_nothing(run_step) -> None:
    result = run_step("verify", CI_GEN_APP=APP, CI_GEN_WATCH="0s")
    assert result.returncode == 0 and "verified" in result.stdout


def test_an_unreachable_prometheus_fails_without_rolling_back(run_step, tmp_path: Path) -> None:
    write_sli(tmp_path)
    result = run_step("verify", CI_GEN_APP=APP, CI_GEN_WATCH="2s", CI_GEN_PROMETHEUS_URL="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "could not judge" in result.stderr and "nothing rolled back" in result.stderr
    assert "rollout rollback" not in result.stdout


@pytest.mark.heavy
def test_failed_smoke_rolls_back(run_step, kube_env, fake_kube, tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    base = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "staging", "CI_GEN_ROLLOUT_TIMEOUT": "5", **kube_env}
    for ref in (GOOD1, GOOD2):
        assert run_step("rollout", CI_GEN_IMAGE_REF=ref, **base).returncode == 0
    result = run_step("verify", CI_GEN_IMAGE_REF=GOOD2, CI_GEN_SMOKE="echo checking $CI_GEN_SERVICE_URL; exit 7",
                      CI_GEN_SERVICE_URL="http://fraud-detector.ml:8080", **base)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checking http://fraud-detector.ml:8080" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "ci-gen verify: error: smoke test failed; rolled back"
    image = fake_kube.get("deployments", "ml", APP)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == GOOD1
    assert json.dumps(_sli.load(str(write_sli(tmp_path))))  # the SLI file stays readable beside the rollback
