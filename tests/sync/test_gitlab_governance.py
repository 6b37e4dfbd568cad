"""GitLab sync as maintainers run it: the cost of a rerun while a sync merge request waits, and
variables ci-gen created pruned when they leave the manifest (real HTTP, python-gitlab, faults)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ci_gen.targets.gitlab.server_settings import VARIABLE_DESCRIPTION, VARIABLE_MARK
from tests.emulators.gitlab import GitLabEmulator
from tests.sync.helpers import manifest
from tests.sync.test_sync_gitlab import client, fleet_file, report, sync, writes

PROJECT = "ml/app0"


def _project_requests(emu: GitLabEmulator) -> list[str]:
    return [f"{r.method} {r.path}?{r.query}" for r in emu.requests if f"/projects/{PROJECT}" in r.path
            or "ml%2Fapp0" in r.path]


def _seed_with_stale_target(emu: GitLabEmulator, **kwargs: Any) -> None:
    """A project whose target branch holds an older `.ci-gen/`, so its folder's tree id differs:
    the case that used to cost a recursive listing of the target on every rerun."""
    emu.add_project(PROJECT, files={"ci-gen.yaml": manifest("app0", **kwargs), "README.md": "# app\n",
                                    ".ci-gen/steps/old-step": "#!/bin/sh\necho old\n"},
                    executable=(".ci-gen/steps/old-step",))


@pytest.mark.parametrize(("declared", "settings"), [
    ({}, 0),
    ({"variables": {"MODEL_VARIANT": "large"}}, 1),
    ({"variables": {"MODEL_VARIANT": "large"}, "schedules": (("nightly", "0 3 * * *"),)}, 2),
])
def test_a_waiting_merge_request_costs_four_requests_plus_one_per_declared_setting(
        tmp_path: Path, gitlab_env: GitLabEmulator, declared: dict[str, Any], settings: int) -> None:
    _seed_with_stale_target(gitlab_env, **declared)
    fleet = fleet_file(tmp_path, projects=f"  - gitlab: {PROJECT}\n", discover="")
    assert sync(fleet) == 0
    assert len(gitlab_env.project(PROJECT).merge_requests) == 1
    gitlab_env.clear_log()
    assert sync(fleet, report=tmp_path / "r.json") == 0
    assert writes(gitlab_env) == 0
    seen = _project_requests(gitlab_env)
    # manifest, target top level, sync branch top level, MR lookup; then the declared settings
    assert len(seen) == 4 + settings, seen
    assert not any("recursive=True" in r or "recursive=true" in r for r in seen), seen
    assert sum("/repository/tree" in r for r in seen) == 2
    assert sum("/merge_requests" in r for r in seen) == 1
    assert sum("/pipeline_schedules" in r for r in seen) == (1 if "schedules" in declared else 0)
    result = report(tmp_path / "r.json")["projects"][0]
    assert result["status"] == "unchanged" and result["changes"] == []


def test_waiting_rerun_survives_faults_and_a_new_manifest_still_updates_the_proposal(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    _seed_with_stale_target(gitlab_env)
    fleet = fleet_file(tmp_path, projects=f"  - gitlab: {PROJECT}\n", discover="")
    assert sync(fleet) == 0
    gitlab_env.inject("GET", r"/merge_requests", times=2, status=502)
    gitlab_env.inject("GET", r"/repository/tree", times=1, drop=True, query="ref=ci-gen")
    assert sync(fleet, check=True) == 0  # retried, and still recognised as awaiting merge
    assert all(fault.times == 0 for fault in gitlab_env.faults)
    gitlab_env.commit_files(PROJECT, {"ci-gen.yaml": manifest("app0", extra="test:\n  - {name: unit, run: pytest}\n")})
    assert sync(fleet, report=tmp_path / "r.json") == 0
    changes = {(c["kind"], c["action"]) for c in report(tmp_path / "r.json")["projects"][0]["changes"]}
    assert ("commit", "update") in changes and ("merge-request", "update") in changes
    assert b"pytest" in gitlab_env.files(PROJECT, "ci-gen/sync")[".gitlab-ci.yml"]
    assert len(gitlab_env.project(PROJECT).merge_requests) == 1


def _variables(emu: GitLabEmulator) -> dict[str, dict[str, Any]]:
    return {f"{v['key']}@{v['environment_scope']}": v for v in emu.project(PROJECT).variables}


def test_variables_ci_gen_created_are_pruned_and_others_never_touched(
        tmp_path: Path, gitlab_env: GitLabEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    gitlab_env.add_project(PROJECT, files={"ci-gen.yaml": manifest(
        "app0", variables={"KEEP": "1", "DROP": "2", "ADOPTED": "3", "TO_SECRET": "4"})})
    api = client(gitlab_env).projects.get(PROJECT)
    api.variables.create({"key": "HAND_MADE", "value": "x"})  # never in the manifest
    api.variables.create({"key": "ADOPTED", "value": "old", "description": "set by the team"})
    fleet = fleet_file(tmp_path, "commit", projects=f"  - gitlab: {PROJECT}\n", discover="")
    assert sync(fleet) == 0
    live = _variables(gitlab_env)
    assert live["KEEP@*"]["description"] == VARIABLE_DESCRIPTION and live["DROP@*"]["description"].startswith(VARIABLE_MARK)
    assert live["ADOPTED@*"]["value"] == "3" and live["ADOPTED@*"]["description"] == "set by the team"
    api.variables.create({"key": "DROP", "value": "prod-only", "environment_scope": "production"})
    api.variables.create({"key": "MOVED", "value": "m", "environment_scope": "staging",
                          "description": VARIABLE_DESCRIPTION})  # ci-gen's once, moved to an environment by hand

    gitlab_env.commit_files(PROJECT, {"ci-gen.yaml": manifest("app0", variables={"KEEP": "1"},
                                                              secrets=("TO_SECRET",))})
    assert sync(fleet, dry_run=True, diff=True) == 0
    out = capsys.readouterr().out
    assert "-DROP=2" in out and "ADOPTED" not in out.split("gitlab variable DROP")[-1]
    assert set(_variables(gitlab_env)) >= {"DROP@*", "ADOPTED@*"}  # a dry run deletes nothing
    gitlab_env.inject("DELETE", r"/variables/DROP", times=1, status=503)  # retried
    assert sync(fleet, report=tmp_path / "r.json") == 0
    deleted = [c for c in report(tmp_path / "r.json")["projects"][0]["changes"] if c["action"] == "delete"]
    assert [(c["kind"], c["name"]) for c in deleted] == [("variable", "DROP")]
    live = _variables(gitlab_env)
    # ours and gone: deleted; a person's (no mark, or a same-named one in another scope): kept;
    # a key that moved to `secrets:` is what the secret check now finds: kept
    assert set(live) == {"KEEP@*", "ADOPTED@*", "TO_SECRET@*", "HAND_MADE@*", "DROP@production", "MOVED@staging"}

    gitlab_env.commit_files(PROJECT, {"ci-gen.yaml": manifest("app0")})  # no variables, no secrets
    assert sync(fleet) == 0  # listed because the files change; ci-gen's KEEP and TO_SECRET go
    assert set(_variables(gitlab_env)) == {"ADOPTED@*", "HAND_MADE@*", "DROP@production", "MOVED@staging"}
    gitlab_env.clear_log()
    assert sync(fleet, check=True) == 0
    assert not any("/variables" in r for r in _project_requests(gitlab_env))  # none declared, none listed


def test_a_refused_prune_fails_the_project_before_its_commit_and_the_rerun_finishes_it(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    gitlab_env.add_project(PROJECT, files={"ci-gen.yaml": manifest("app0", variables={"A": "1", "B": "2"})})
    fleet = fleet_file(tmp_path, "commit", projects=f"  - gitlab: {PROJECT}\n", discover="")
    assert sync(fleet) == 0
    gitlab_env.commit_files(PROJECT, {"ci-gen.yaml": manifest("app0", variables={"A": "1"})})
    gitlab_env.inject("DELETE", r"/variables/B", times=1, status=403, body={"message": "403 Forbidden"})
    assert sync(fleet, report=tmp_path / "r.json") == 1
    assert "403" in report(tmp_path / "r.json")["projects"][0]["error"]
    assert "B@*" in _variables(gitlab_env)
    assert sync(fleet) == 0  # the files still differ, so variables are listed again: B goes now
    assert set(_variables(gitlab_env)) == {"A@*"}
    assert sync(fleet, check=True) == 0
