"""The report's outputs from one seeded history: CSV files, OpenMetrics text (read back by the
Prometheus client's OpenMetrics parser and by promtool), the terminal table, JSON on stdout,
and the self-contained HTML page."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.report.conftest import NOW
from tests.report.history import TRUTH, history, iso, seed_gitlab, seed_jenkins


@pytest.fixture
def seeded(servers, checkout: Path) -> Path:
    gitlab, jenkins = servers
    items = history(60, NOW - 3600)
    gitlab.add_project("ml/fraud")
    jenkins.create_folder("ml")
    jenkins.create_job("ml/fraud", script="pipeline {}")
    seed_gitlab(gitlab, "ml/fraud", items)
    seed_jenkins(jenkins, "ml/fraud", items[:30])
    return checkout


def test_csv_and_json_files_agree_with_stdout(seeded: Path, tmp_path: Path, report) -> None:
    out = tmp_path / "out"
    code, data, err = report("-C", str(seeded), "--since", "30d", "--until", iso(NOW),
                             "--csv", str(out), "--json", str(out / "report.json"))
    assert code == 0, err
    written = json.loads((out / "report.json").read_text())
    assert {**written, "seconds": 0} == {**data, "seconds": 0}

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader((out / name).read_text().splitlines()))

    envs = rows("environments.csv")
    assert len(envs) == sum(len(p["environments"]) for p in data["projects"])
    first = data["projects"][0]["environments"][0]
    row = next(r for r in envs if r["server"] == data["projects"][0]["server"]
               and r["environment"] == first["environment"])
    assert float(row["success_rate"]) == pytest.approx(first["success_rate"])
    deploys = rows("deploys.csv")
    assert len(deploys) == data["fleet"]["deployments"]
    model = {r["term"]: r for r in rows("model.csv")}
    assert set(model) == set(TRUTH)
    assert float(model["image_size"]["low"]) <= TRUTH["image_size"] <= float(model["image_size"]["high"])


def test_openmetrics_parses_and_carries_the_metrics(seeded: Path, tmp_path: Path, report) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    target = tmp_path / "deploys.prom"
    code, data, err = report("-C", str(seeded), "--since", "30d", "--openmetrics", str(target))
    assert code == 0, err
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    ratio = families["ci_gen_deploy_success_ratio"]
    values = {(s.labels["server"], s.labels["environment"]): s.value for s in ratio.samples}
    for project in data["projects"]:
        for env in project["environments"]:
            assert values[(project["server"], env["environment"])] == pytest.approx(env["success_rate"], rel=1e-5)
    lead = {(s.labels["server"], s.labels["environment"]): s.value
            for s in families["ci_gen_deploy_lead_time_seconds"].samples}
    env = data["projects"][0]["environments"][0]
    assert lead[(data["projects"][0]["server"], env["environment"])] == pytest.approx(env["lead_time_hours"] * 3600, rel=1e-5)
    assert {s.labels["term"] for s in families["ci_gen_deploy_model_coefficient"].samples} == set(TRUTH)
    if shutil.which("promtool"):  # the Prometheus text format a textfile collector reads
        done = subprocess.run(["promtool", "check", "metrics"], input=target.read_text(), text=True,
                              capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_table_shows_every_environment_and_the_model(seeded: Path, report) -> None:
    code, text, err = report("-C", str(seeded), "--since", "30d", json_out=False)
    assert code == 0, err
    assert re.search(r"ml/fraud\s+│\s+gitlab\s+│\s+production", text)
    assert re.search(r"ml/fraud\s+│\s+jenkins\s+│\s+staging", text)
    assert "model (pooled, n=" in text and "deploy_time = code_size " in text
    assert "HTTP requests: gitlab" in text


def test_per_env_model_and_prediction_for_the_checkout(seeded: Path, report) -> None:
    code, data, err = report("-C", str(seeded), "--since", "30d", "--model", "per-env", "--predict")
    assert code == 0, err
    assert set(data["model"]["per_env"]) == {"staging", "production"}
    prediction = {e["environment"]: e for e in data["prediction"]["environments"]}
    tracked = sum(p.stat().st_size for p in (seeded / "app.py", seeded / "ci-gen.yaml"))
    assert data["prediction"]["code_size"] == pytest.approx(tracked / 1e6)
    for env in prediction.values():
        assert env["low"] < env["seconds"] < env["high"]


def test_html_is_self_contained_with_a_chart_per_view(seeded: Path, tmp_path: Path, report) -> None:
    page = tmp_path / "report.html"
    code, _, err = report("-C", str(seeded), "--since", "30d", "--html", str(page))
    assert code == 0, err
    text = page.read_text()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "<script" not in text.lower()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", text)  # nothing to fetch
    assert text.count("<svg") == 5
    for title in ("Deployment time over time", "Success rate", "Deployment frequency",
                  "Predicted vs actual deployment time", "What drives deployment time"):
        assert f"<h2>{title}" in text


def test_hostile_names_from_a_server_stay_text_in_every_output(servers, checkout: Path, tmp_path: Path,
                                                               report) -> None:
    gitlab, _jenkins = servers
    gitlab.add_project("ml/fraud")
    evil = '<script>alert(1)</script>"\n=cmd|x'
    for item in history(6, NOW - 3600, environments=(evil, "production")):
        gitlab.add_finished_deployment("ml/fraud", item.environment, "success", created_at=iso(item.started),
                              finished_at=iso(item.finished), duration=item.duration)
    out = tmp_path / "out"
    code, data, err = report("-C", str(checkout), "--since", "30d", "--html", str(out / "r.html"),
                             "--csv", str(out), "--openmetrics", str(out / "r.prom"))
    assert code in (0, 1), err
    page = (out / "r.html").read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    rows = list(csv.DictReader(io.StringIO((out / "environments.csv").read_text(), newline="")))
    assert evil in {r["environment"] for r in rows}  # quoted by the csv module, newline and all
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families((out / "r.prom").read_text())}
    assert evil in {s.labels["environment"] for s in families["ci_gen_deploy_deployments"].samples}
