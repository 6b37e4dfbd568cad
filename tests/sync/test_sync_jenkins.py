"""`ci-gen sync` against the Jenkins emulator over real HTTP, with local checkouts as sources."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gen.errors import ServerError, UsageError
from ci_gen.sync.main import run_sync
from ci_gen.sync.options import SyncOptions
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import local_fleet, manifest, write

FLEET = {f"app{i}": manifest(f"app{i}") for i in range(5)}


def sync(fleet: Path, **options: object) -> int:
    return run_sync(SyncOptions(fleet=fleet, jobs=4, timeout=10, **options))  # type: ignore[arg-type]


def test_first_sync_creates_then_rerun_is_unchanged_in_three_requests(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet, report=tmp_path / "r.json") == 0
    assert {f"ml/app{i}" for i in range(5)} <= set(jenkins_env.job_names())
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["created"] == 5
    jenkins_env.clear_log()
    assert sync(fleet, report=tmp_path / "r2.json") == 0
    second = json.loads((tmp_path / "r2.json").read_text())
    assert second["summary"]["unchanged"] == 5
    # crumb + plugins + one tree query, whatever the fleet size
    assert len(jenkins_env.requests) <= 3, jenkins_env.requests
    assert second["requests"] == {"jenkins": len(jenkins_env.requests)}  # the report tells the cost
    assert jenkins_env.count("POST") == 0


def test_manifest_change_updates_only_that_job(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet) == 0
    write(tmp_path / "repos/app2/ci-gen.yaml", manifest("app2", schedules=(("nightly", "0 2 * * *"),)))
    jenkins_env.clear_log()
    assert sync(fleet, report=tmp_path / "r.json") == 0
    assert jenkins_env.count("POST") == 1 and jenkins_env.count("POST", r"job/app2/config.xml")
    assert "<spec>0 2 * * *</spec>" in jenkins_env.config_xml("ml/app2")
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["updated"] == 1 and summary["unchanged"] == 4


def test_dry_run_and_check_write_nothing(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet, dry_run=True, diff=True) == 0
    assert sync(fleet, check=True) == 1  # drift alarm: something would change
    assert jenkins_env.count("POST") == 0 and jenkins_env.job_names() == []
    out = capsys.readouterr().out
    assert "+++ b/path:repos/app0: jenkins job ml/app0" in out and "nothing written (dry-run)" in out
    assert sync(fleet) == 0
    assert sync(fleet, check=True) == 0


def test_prune_deletes_only_managed_jobs_that_left_the_fleet(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    jenkins_env.create_job("ml/hand-made", script="pipeline {}")
    other_fleet = local_fleet(tmp_path / "other", {"x": manifest("x", folder="other-team")}, "id: other-team\n")
    assert sync(other_fleet) == 0  # managed by ci-gen, but for another fleet (its id) and folder
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet) == 0
    smaller = local_fleet(tmp_path, {k: v for k, v in FLEET.items() if k != "app4"})
    assert sync(smaller) == 0 and "ml/app4" in jenkins_env.job_names()  # no --prune: kept
    assert sync(smaller, prune=True, report=tmp_path / "r.json") == 0
    names = jenkins_env.job_names()
    assert "ml/app4" not in names and "ml/hand-made" in names and "ml/app3" in names
    assert "other-team/x" in names
    deleted = [p for p in json.loads((tmp_path / "r.json").read_text())["projects"]
               if p["changes"] and p["changes"][0]["action"] == "delete"]
    assert [p["key"] for p in deleted] == ["jenkins:ml/app4"]


def test_verify_catches_an_edit_made_in_the_jenkins_ui(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet) == 0
    edited = jenkins_env.config_xml("ml/app1").replace("*/main", "*/hotfix")
    jenkins_env.item("ml/app1").config = __import__("tests.emulators.jenkins_model",
                                                    fromlist=["parse_config"]).parse_config(edited.encode())
    assert sync(fleet, check=True) == 0  # the recorded hash still matches: cheap check misses it
    assert sync(fleet, check=True, verify=True) == 1
    # Modified outside ci-gen: reported, never overwritten; deleting the job hands it back.
    assert sync(fleet, verify=True, report=tmp_path / "r.json") == 1
    assert "modified outside ci-gen" in (tmp_path / "r.json").read_text()
    assert "*/hotfix" in jenkins_env.config_xml("ml/app1")
    jenkins_env.item("ml/app1").parent.children.pop("app1")
    assert sync(fleet, verify=True) == 0
    assert "*/main" in jenkins_env.config_xml("ml/app1")


def test_two_manifests_claiming_one_job_fail_naming_both(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    fleet = local_fleet(tmp_path, {"a": manifest("same"), "b": manifest("same"), "c": manifest("other")})
    assert sync(fleet) == 1
    out = capsys.readouterr().out
    assert "claimed by path:repos/a" in out and "path:repos/b" in out
    assert "ml/same" not in jenkins_env.job_names() and "ml/other" in jenkins_env.job_names()


def test_unmanaged_job_in_the_way_is_not_overwritten(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    jenkins_env.create_job("ml/app0", script="pipeline { /* by hand */ }")
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet, report=tmp_path / "r.json") == 1
    assert "by hand" in jenkins_env.config_xml("ml/app0")
    failed = [p for p in json.loads((tmp_path / "r.json").read_text())["projects"] if p["status"] == "failed"]
    assert [p["key"] for p in failed] == ["path:repos/app0"] and "not managed by ci-gen" in failed[0]["error"]


def test_missing_plugins_stop_the_run_with_their_names(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    jenkins_env.plugins = [p for p in jenkins_env.plugins if p["shortName"] != "git"]
    with pytest.raises(ServerError, match=r"lacks plugins: git \("):
        sync(local_fleet(tmp_path, FLEET))


def test_bursts_of_429_503_and_dropped_connections_still_converge(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    jenkins_env.inject("POST", r"createItem", times=1, status=429, retry_after=0)
    jenkins_env.inject("POST", r"job/ml/createItem", times=2, status=503)
    jenkins_env.inject("POST", r"job/ml/createItem", times=2, drop=True)
    jenkins_env.inject("GET", r"^/api/json", times=1, status=502)
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet) == 0
    assert all(fault.times == 0 for fault in jenkins_env.faults)  # every fault was met
    assert {f"ml/app{i}" for i in range(5)} <= set(jenkins_env.job_names())
    assert sync(fleet, check=True) == 0


def test_unreachable_jenkins_is_one_server_error(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_GEN_JENKINS_URL", "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(ServerError, match="cannot read Jenkins plugins at http://127.0.0.1:9/"):
        sync(local_fleet(tmp_path, FLEET))


def test_prune_refuses_a_sharded_run(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    with pytest.raises(UsageError, match="--prune needs the whole fleet"):
        sync(local_fleet(tmp_path, FLEET), prune=True, shard=(1, 2))


def test_rejected_credentials_are_one_line(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", "not-the-token")
    with pytest.raises(ServerError, match=r"cannot read Jenkins plugins at .*401"):
        sync(local_fleet(tmp_path, FLEET))
    assert jenkins_env.count("POST") == 0


def test_json_output_and_progress_bar_do_not_mix(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert sync(local_fleet(tmp_path, FLEET), output="json", progress=True) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["created"] == 5


def test_prune_refuses_when_nothing_was_read(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, FLEET)
    assert sync(fleet) == 0
    empty = write(tmp_path / "empty.yaml", "version: 1\nprojects: []\n")
    assert sync(empty, prune=True, report=tmp_path / "r.json") == 1
    assert "prune skipped: no project of the fleet was read" in (tmp_path / "r.json").read_text()
    assert {f"ml/app{i}" for i in range(5)} <= set(jenkins_env.job_names())


def test_unchanged_check_does_not_grow_with_the_fleet(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {f"app{i}": manifest(f"app{i}") for i in range(200)})
    assert sync(fleet) == 0
    jenkins_env.clear_log()
    assert sync(fleet) == 0
    assert len(jenkins_env.requests) <= 3


def test_an_invalid_manifest_fails_its_project_with_every_problem(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    bad = "version: 1\nname: Bad_Name\nimage: {name: r/x}\ntargetz: [jenkins]\n"
    fleet = local_fleet(tmp_path, {**FLEET, "broken": bad})
    assert sync(fleet, report=tmp_path / "r.json") == 1
    projects = {p["key"]: p for p in json.loads((tmp_path / "r.json").read_text())["projects"]}
    error = projects["path:repos/broken"]["error"]
    assert error.startswith("ci-gen.yaml:") and len(error.splitlines()) >= 2, error
    assert all(projects[f"path:repos/app{i}"]["status"] == "created" for i in range(5))
