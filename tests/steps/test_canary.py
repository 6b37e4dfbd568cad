"""Canary analysis: the verdict logic, the PromQL (promtool), and a real Prometheus."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.steps.conftest import step_module, write_sli
from tests.tools import require

canary = step_module("_canary")
_sli = step_module("_sli")


@pytest.fixture(scope="module")
def sli(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The SLI definition `ci-gen render` writes, as the step reads it."""
    return _sli.load(str(write_sli(tmp_path_factory.mktemp("sli"))))


@pytest.mark.parametrize("error_rate, p90, promote, reason", [
    (0.0, 90.0, True, ""),
    (0.02, 90.0, False, "error rate 0.0200 > 0.01"),
    (0.0, 480.0, False, "p90 latency 480.0 ms > 250.0 ms"),
    (None, 90.0, False, "no request metrics"),
    (0.0, None, False, "no latency metrics"),
])
def test_judge(error_rate, p90, promote: bool, reason: str) -> None:
    verdict = canary.judge(error_rate, p90, 0.01, 250.0)
    assert verdict.promote is promote
    assert reason in "; ".join(verdict.reasons)


def test_selector_escapes_label_values() -> None:
    assert canary.selector('we"ird') == 'app="we\\"ird",track="canary"'


PROMTOOL_TEST = """\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'http_requests_total{app="fraud-detector",track="canary",code="200"}'
    values: '0+98x10'
  - series: 'http_requests_total{app="fraud-detector",track="canary",code="500"}'
    values: '0+2x10'
  - series: 'http_requests_total{app="fraud-detector",track="stable",code="500"}'
    values: '0+50x10'
  - series: 'http_request_duration_seconds_bucket{app="fraud-detector",track="canary",le="0.1"}'
    values: '0+50x10'
  - series: 'http_request_duration_seconds_bucket{app="fraud-detector",track="canary",le="0.5"}'
    values: '0+100x10'
  - series: 'http_request_duration_seconds_bucket{app="fraud-detector",track="canary",le="+Inf"}'
    values: '0+100x10'
  promql_expr_test:
  # promtool compares floats exactly: round to what the thresholds need
  - expr: round(ci_gen:canary_error_rate * 1000)
    eval_time: 10m
    exp_samples: [{labels: '{}', value: 20}]
  - expr: round(ci_gen:canary_p90_ms)
    eval_time: 10m
    exp_samples: [{labels: '{}', value: 420}]
"""


@pytest.mark.heavy
def test_promtool_checks_the_analysis_queries(tmp_path: Path, sli: dict) -> None:
    promtool = require("promtool", "apt-get install prometheus")
    (tmp_path / "rules.yml").write_text(canary.rules_yaml(sli, canary.selector("fraud-detector"), "5m"))
    (tmp_path / "test.yml").write_text(PROMTOOL_TEST)
    check = subprocess.run([promtool, "check", "rules", "rules.yml"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.heavy
def test_analysis_against_a_real_prometheus(prometheus, sli: dict) -> None:
    import time

    urls = {"healthy": prometheus(True), "failing": prometheus(False)}
    sel = canary.selector("fraud-detector")
    deadline = time.monotonic() + 30
    verdicts = {}
    while time.monotonic() < deadline:  # until each server holds enough scrapes for rate()
        verdicts = {k: canary.analyse(u, sli, sel, "5s", 0.01, 250.0) for k, u in urls.items()}
        if all(v.error_rate is not None and v.p90_ms is not None for v in verdicts.values()):
            break
        time.sleep(1)
    assert verdicts["healthy"].promote, verdicts["healthy"]
    assert verdicts["healthy"].error_rate == 0.0 and verdicts["healthy"].p90_ms < 250
    assert not verdicts["failing"].promote
    assert verdicts["failing"].error_rate == pytest.approx(0.02, rel=0.05)
    assert verdicts["failing"].p90_ms > 250


def test_the_analysis_reads_the_rendered_sli_definition(sli: dict) -> None:
    """One definition: the canary's PromQL is sli.py's template, not a copy of its own."""
    from ci_gen.monitoring import sli as generator_sli

    sel = canary.selector("fraud-detector")
    assert canary.error_rate_query(sli, sel, "5m") == generator_sli.expand(generator_sli.TEMPLATES["error_ratio"], sel, "5m")
    assert canary.p90_ms_query(sli, sel, "5m") == generator_sli.expand(generator_sli.TEMPLATES["latency_p90_ms"], sel, "5m")


def test_a_missing_sli_file_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(["python3", str(Path(canary.__file__)), "analyse", "--sli", str(tmp_path / "none.json"),
                             "--prometheus", "http://127.0.0.1:9", "--app", "a"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "run `ci-gen render`" in result.stderr
