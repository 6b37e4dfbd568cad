"""What the report does with a misbehaving server or history it cannot use: it says what it
skipped and why, keeps the other projects, and exits as elsewhere (1 input, 3 server)."""
from __future__ import annotations

import json
from pathlib import Path

from tests.report.conftest import NOW
from tests.report.history import history, iso, seed_gitlab, seed_jenkins

RECORD = ".ci-gen/reports/deploy-{}.json"


def setup_servers(gitlab, jenkins, *, deploys: int = 0, job: bool = True) -> list:
    items = history(deploys, NOW - 3600, every_hours=4.0)
    gitlab.add_project("ml/fraud")
    if job:
        jenkins.create_folder("ml")
        jenkins.create_job("ml/fraud", script="pipeline {}")
    return items


def by_server(data: dict) -> dict[str, dict]:
    return {p["server"]: p for p in data["projects"]}


def test_5xx_mid_pagination_is_retried_and_the_history_complete(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    items = setup_servers(gitlab, jenkins, deploys=150)
    seed_gitlab(gitlab, "ml/fraud", items)
    gitlab.inject("GET", r"/deployments$", query=r"page=2", status=502, retry_after=0, times=2)
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    assert gitlab.count("GET", r"/deployments$") == 4  # page 1, page 2 twice refused, page 2
    assert by_server(data)["gitlab"]["deployments"] == 150


def test_a_server_failing_for_good_fails_its_project_only_and_the_next_run_recovers(
        servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    items = setup_servers(gitlab, jenkins, deploys=150)
    seed_gitlab(gitlab, "ml/fraud", items)
    seed_jenkins(jenkins, "ml/fraud", items[:5])
    gitlab.inject("GET", r"/deployments$", query=r"page=2", status=500, retry_after=0, times=50)
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 3, err
    projects = by_server(data)
    assert projects["gitlab"]["error"] == "GitLab answered 500: 500 Internal Server Error"
    assert projects["gitlab"]["deployments"] == 0  # nothing half-read was kept
    assert projects["jenkins"]["error"] is None and projects["jenkins"]["deployments"] == 5
    gitlab.faults.clear()
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    assert by_server(data)["gitlab"]["deployments"] == 150


def test_missing_or_malformed_records_fall_back_to_the_servers_facts(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    items = setup_servers(gitlab, jenkins, deploys=6)
    seed_gitlab(gitlab, "ml/fraud", items[:2], records=False)  # from before ci-gen: no artifacts
    broken = items[2]
    gitlab.add_finished_deployment("ml/fraud", broken.environment, "success", created_at=iso(broken.started),
                          finished_at=iso(broken.finished), duration=broken.duration,
                          files={RECORD.format(broken.environment): b'{"version": 1, "app": '})
    other = items[3]  # an archive without the record (the artifact expired or was never written)
    gitlab.add_finished_deployment("ml/fraud", other.environment, "success", created_at=iso(other.started),
                          finished_at=iso(other.finished), duration=other.duration, files={"other.txt": b"x"})
    seed_gitlab(gitlab, "ml/fraud", items[4:])
    seed_jenkins(jenkins, "ml/fraud", items[:3], records=False)
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    gl = by_server(data)["gitlab"]
    assert gl["deployments"] == 6
    assert sum(e["without_record"] for e in gl["environments"]) == 4
    assert all("model features" in e["left_out"] for e in gl["environments"])
    assert any(n.startswith("deployment ") and "malformed deploy record (not JSON" in n for n in gl["notes"])
    jk = by_server(data)["jenkins"]
    # builds without records: the whole build as one deploy, named "(pipeline)"
    assert [e["environment"] for e in jk["environments"]] == ["(pipeline)"]
    assert jk["environments"][0]["deployments"] == 3
    assert data["model"]["note"] == "not enough history: 2 deploys with all features, 5 needed for a fit"


def test_a_record_failing_the_schema_is_refused_with_the_reason(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    item = setup_servers(gitlab, jenkins, deploys=1)[0]
    bad = dict(item.record, result="exploded")
    jenkins.add_build("ml/fraud", "SUCCESS", duration=1000, timestamp=int(item.started * 1000),
                      artifacts={RECORD.format(item.environment): json.dumps(bad).encode()})
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    jk = by_server(data)["jenkins"]
    assert jk["deployments"] == 0
    assert jk["notes"] == [f"build #1: malformed deploy record {RECORD.format(item.environment)} "
                           "(result: 'exploded' is not one of ['success', 'failed', 'rolled_back']); skipped",
                           "no deploys in the window"]


def test_a_project_without_deploys_says_so(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    setup_servers(gitlab, jenkins)
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    for project in data["projects"]:
        assert project["deployments"] == 0 and project["band"] is None
        assert project["notes"] == ["no deploys in the window"]
    assert data["model"]["note"].startswith("not enough history: 0 deploys")


def test_a_missing_jenkins_job_is_a_project_problem(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    setup_servers(gitlab, jenkins, job=False)
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 1
    assert by_server(data)["jenkins"]["error"] == "Jenkins: no such job"


def test_jenkins_5xx_after_retries_is_a_server_failure(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    setup_servers(gitlab, jenkins)
    jenkins.inject("GET", r"job/fraud/api/json", status=503, retry_after=0, times=50)
    code, data, err = report("-C", str(checkout), "--since", "30d", "--timeout", "2")
    assert code == 3
    assert by_server(data)["jenkins"]["error"].startswith("Jenkins: ")


def test_bad_usage_is_exit_2(checkout: Path, report) -> None:
    code, _, err = report("-C", str(checkout), "--since", "yesterday", json_out=False)
    assert code == 2 and "expected a duration like 30d" in err
    code, _, err = report("-C", str(checkout), "--since", "1d", "--until", "2d", json_out=False)
    assert code == 2 and "--until must be later than --since" in err


def test_bad_jenkins_credentials_are_one_line_before_any_project(servers, checkout: Path, report, monkeypatch) -> None:
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", "wrong-token")
    code, out, err = report("-C", str(checkout), "--since", "30d", json_out=False)
    assert code == 1
    assert err.strip().endswith("rejected the credentials; check CI_GEN_JENKINS_USER and CI_GEN_JENKINS_TOKEN")


def test_without_the_report_extra_the_model_and_html_say_what_to_install(
        servers, checkout: Path, report, monkeypatch, tmp_path: Path) -> None:
    import sys

    gitlab, jenkins = servers
    seed_gitlab(gitlab, "ml/fraud", setup_servers(gitlab, jenkins, deploys=10))
    for name in ("statsmodels", "statsmodels.api", "altair", "vl_convert"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError
    code, data, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    assert data["model"]["note"] == "no fit: statsmodels is not installed (pip install 'ci-gen[report]')"
    code, _, err = report("-C", str(checkout), "--since", "30d", "--html", str(tmp_path / "r.html"), json_out=False)
    assert code == 2 and "--html needs altair and vl-convert-python: pip install 'ci-gen[report]'" in err
