"""`ci-gen sync --fleet` against the GitLab emulator over real HTTP."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gitlab as gitlab_lib
import pytest

from ci_gen import api
from ci_gen.errors import ManifestError, ServerError, UserError
from ci_gen.sync.main import run_sync
from ci_gen.targets.gitlab.server_settings import SCHEDULE_PREFIX
from ci_gen.sync.options import SyncOptions
from tests.emulators.gitlab import GitLabEmulator
from tests.sync.helpers import manifest, write

def fleet_file(root: Path, mode: str = "merge-request", projects: str = "", discover: str = "ml") -> Path:
    text = f"version: 1\ndefaults:\n  gitlab: {{mode: {mode}}}\n"
    if projects:
        text += f"projects:\n{projects}"
    if discover:
        text += f"discover:\n  - {{gitlab_group: {discover}}}\n"
    return write(root / "fleet.yaml", text)


def seed(emu: GitLabEmulator, count: int = 3, **kwargs: Any) -> None:
    for i in range(count):
        group = "ml" if i % 2 == 0 else "ml/team"  # subgroups are discovered too
        files = {"ci-gen.yaml": manifest(f"app{i}", **kwargs), "README.md": "# app\n"}
        emu.add_project(f"{group}/app{i}", files=files)
    emu.add_project("ml/no-manifest", files={"README.md": "not a ci-gen project\n"})


def sync(fleet: Path, **options: Any) -> int:
    return run_sync(SyncOptions(fleet=fleet, jobs=4, timeout=10, **options))


def report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def writes(emu: GitLabEmulator) -> int:
    return sum(emu.count(m) for m in ("POST", "PUT", "DELETE"))


def client(emu: GitLabEmulator) -> Any:
    return gitlab_lib.Gitlab(emu.url, private_token=emu.token)


def test_commit_mode_first_sync_then_unchanged_within_the_request_budget(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, variables={"MODEL_VARIANT": "large"})
    fleet = fleet_file(tmp_path, "commit")
    rendered = api.render_files(manifest("app0", variables={"MODEL_VARIANT": "large"}))
    assert sync(fleet, report=tmp_path / "r1.json") == 0
    summary = report(tmp_path / "r1.json")["summary"]
    assert (summary["created"], summary["failed"], summary["skipped"]) == (3, 0, 1)
    pushed = gitlab_env.files("ml/app0")
    assert {p: pushed[p] for p in rendered} == rendered  # byte for byte what `render` writes
    gitlab_env.clear_log()
    assert sync(fleet, report=tmp_path / "r2.json") == 0
    assert report(tmp_path / "r2.json")["summary"]["unchanged"] == 3
    assert writes(gitlab_env) == 0
    for i, group in enumerate(["ml", "ml/team", "ml"]):
        # manifest + tree + variables (the one kind of setting declared)
        assert gitlab_env.count("GET", f"/projects/{group}/app{i}/") == 3
    assert len(gitlab_env.requests) == 3 * 3 + 1 + 1 + 1  # + /user, group listing, no-manifest probe
    assert not any("path=" in r.query for r in gitlab_env.requests)  # .ci-gen/ matched by its tree id


def test_merge_request_mode_keeps_one_mr_updated_in_place(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=2)
    fleet = fleet_file(tmp_path)
    assert sync(fleet) == 0
    project = gitlab_env.project("ml/app0")
    assert len(project.merge_requests) == 1 and project.merge_requests[0]["state"] == "opened"
    assert "Jenkinsfile" in gitlab_env.files("ml/app0", "ci-gen/sync")
    assert "Jenkinsfile" not in gitlab_env.files("ml/app0")  # nothing lands before the merge
    gitlab_env.clear_log()
    assert sync(fleet, check=True) == 0  # the change is proposed already: nothing to do
    assert writes(gitlab_env) == 0
    changed = manifest("app0", extra="test:\n  - {name: unit, run: pytest}\n")
    gitlab_env.commit_files("ml/app0", {"ci-gen.yaml": changed})
    assert sync(fleet, report=tmp_path / "r.json") == 0
    assert len(project.merge_requests) == 1
    assert b"pytest" in gitlab_env.files("ml/app0", "ci-gen/sync")[".gitlab-ci.yml"]
    changed = [p["key"] for p in report(tmp_path / "r.json")["projects"] if p["status"] not in ("unchanged", "skipped")]
    assert changed == ["gitlab:ml/app0"]


def test_dry_run_and_check_change_nothing(tmp_path: Path, gitlab_env: GitLabEmulator,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    seed(gitlab_env, count=2, variables={"MODEL_VARIANT": "large"}, schedules=(("nightly", "0 3 * * *"),))
    fleet = fleet_file(tmp_path)
    assert sync(fleet, dry_run=True, diff=True) == 0
    assert sync(fleet, check=True) == 1
    assert writes(gitlab_env) == 0
    out = capsys.readouterr().out
    assert "+++ b/gitlab:ml/app0: gitlab file .gitlab-ci.yml" in out
    assert "+MODEL_VARIANT=large" in out


def test_variables_are_set_flags_kept_and_secrets_only_checked(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=1, variables={"MODEL_VARIANT": "large", "TOKEN_LIKE": "abcdefgh12345"},
         secrets=("REGISTRY_PASSWORD",))
    project = client(gitlab_env).projects.get("ml/app0")
    project.variables.create({"key": "TOKEN_LIKE", "value": "old-value-123", "masked": True, "protected": True})
    fleet = fleet_file(tmp_path, "commit")
    assert sync(fleet, report=tmp_path / "r.json", diff=True) == 1  # the secret is missing
    failed = report(tmp_path / "r.json")["projects"][0]
    assert "REGISTRY_PASSWORD" in failed["error"] and "never writes secrets" in failed["error"]
    live = {v.key: v for v in project.variables.list(get_all=True)}
    assert live["MODEL_VARIANT"].value == "large" and "REGISTRY_PASSWORD" not in live
    assert live["TOKEN_LIKE"].value == "abcdefgh12345" and live["TOKEN_LIKE"].masked and live["TOKEN_LIKE"].protected
    project.variables.create({"key": "REGISTRY_PASSWORD", "value": "s3cret-value"})
    assert sync(fleet) == 0


def test_masked_values_never_appear_in_a_diff(tmp_path: Path, gitlab_env: GitLabEmulator,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    seed(gitlab_env, count=1, variables={"API_KEY": "new-secret-value"})
    client(gitlab_env).projects.get("ml/app0").variables.create(
        {"key": "API_KEY", "value": "old-secret-value", "masked": True})
    assert sync(fleet_file(tmp_path), dry_run=True, diff=True) == 0
    out = capsys.readouterr().out
    assert "old-secret-value" not in out and "new-secret-value" not in out and "+API_KEY=(masked, changed)" in out


def test_schedules_created_updated_removed_and_foreign_ones_untouched(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=1, schedules=(("nightly", "0 3 * * *"), ("weekly", "0 4 * * 0")))
    project = client(gitlab_env).projects.get("ml/app0")
    project.pipelineschedules.create({"description": "made by a person", "ref": "main", "cron": "0 1 * * *"})
    fleet = fleet_file(tmp_path, "commit")
    assert sync(fleet) == 0
    ours = {s.description: s for s in project.pipelineschedules.list(get_all=True)}
    assert set(ours) == {"made by a person", f"{SCHEDULE_PREFIX}nightly", f"{SCHEDULE_PREFIX}weekly"}
    gitlab_env.commit_files("ml/app0", {"ci-gen.yaml": manifest("app0", schedules=(("nightly", "30 3 * * *"),))})
    assert sync(fleet) == 0
    after = {s.description: s for s in project.pipelineschedules.list(get_all=True)}
    assert set(after) == {"made by a person", f"{SCHEDULE_PREFIX}nightly"}
    assert after[f"{SCHEDULE_PREFIX}nightly"].cron == "30 3 * * *"
    assert after[f"{SCHEDULE_PREFIX}nightly"].id == ours[f"{SCHEDULE_PREFIX}nightly"].id  # updated in place
    assert sync(fleet, check=True) == 0


def test_bursts_of_429_503_and_dropped_connections_still_converge(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=3, variables={"MODEL_VARIANT": "large"})
    gitlab_env.inject("*", r"/repository/tree", times=3, status=429, retry_after=0)
    gitlab_env.inject("POST", r"/repository/commits", times=2, status=503)
    gitlab_env.inject("POST", r"/merge_requests", times=2, drop=True)
    gitlab_env.inject("POST", r"/variables", times=1, status=502)
    fleet = fleet_file(tmp_path)
    assert sync(fleet) == 0
    assert all(fault.times == 0 for fault in gitlab_env.faults)  # every fault was met
    assert sync(fleet, check=True) == 0
    for path in ("ml/app0", "ml/team/app1", "ml/app2"):
        assert len(gitlab_env.project(path).merge_requests) == 1


def test_failed_project_does_not_stop_the_others_and_rerun_converges(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=3)
    # A refusal that is not retried: app0's MR cannot be opened in this run, after its commit.
    gitlab_env.inject("POST", r"ml/app0/merge_requests", times=1, status=403,
                      body={"message": "403 Forbidden"})
    fleet = fleet_file(tmp_path)
    assert sync(fleet, report=tmp_path / "r.json") == 1
    statuses = {p["key"]: p["status"] for p in report(tmp_path / "r.json")["projects"]}
    assert statuses["gitlab:ml/app0"] == "failed" and statuses["gitlab:ml/app2"] == "created"
    branch_head = gitlab_env.project("ml/app0").repo.branches["ci-gen/sync"]
    assert sync(fleet) == 0
    project = gitlab_env.project("ml/app0")
    assert len(project.merge_requests) == 1
    assert project.repo.branches["ci-gen/sync"] == branch_head  # no second commit


def test_bad_fleet_file_and_unreachable_or_refusing_server(tmp_path: Path, gitlab_env: GitLabEmulator,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bad = write(tmp_path / "bad.yaml", "version: 1\nprojects:\n  - {gitlab: ml/x, mode: commit}\n")
    with pytest.raises(ManifestError, match=r"bad.yaml:3:20: projects\[0\].mode: unknown key"):
        sync(bad)
    fleet = fleet_file(tmp_path)
    monkeypatch.setenv("CI_GEN_GITLAB_TOKEN", "wrong")
    with pytest.raises(UserError, match="rejected the token"):
        sync(fleet)
    monkeypatch.setenv("CI_GEN_GITLAB_URL", "http://127.0.0.1:9")
    with pytest.raises(ServerError, match="cannot be reached"):
        sync(fleet)


def test_explicit_project_without_manifest_fails_but_discovered_one_is_skipped(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=1)
    fleet = fleet_file(tmp_path, projects="  - gitlab: ml/no-manifest\n  - gitlab: ml/typo\n", discover="")
    assert sync(fleet, report=tmp_path / "r.json") == 1
    errors = [p["error"] for p in report(tmp_path / "r.json")["projects"]]
    assert "has no ci-gen.yaml on the default branch" in errors[0]
    assert errors[1] == "GitLab project ml/typo not found (or the token cannot see it)"


def test_server_lint_gates_the_commit(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=1)
    fleet = write(tmp_path / "fleet.yaml", "version: 1\ndefaults:\n  gitlab: {mode: commit, lint: true}\n"
                                           "projects:\n  - gitlab: ml/app0\n")
    verdict = {"valid": False, "errors": ["jobs:build config key may not be used with `rules`: only"]}
    gitlab_env.inject("POST", r"/ci/lint", status=200, body={**verdict, "warnings": []})
    assert sync(fleet, report=tmp_path / "r.json") == 1
    assert "CI Lint rejected .gitlab-ci.yml: jobs:build" in report(tmp_path / "r.json")["projects"][0]["error"]
    assert "Jenkinsfile" not in gitlab_env.files("ml/app0")
    assert sync(fleet) == 0  # the emulator's own lint accepts the rendered file
    assert gitlab_env.count("POST", r"/ci/lint") == 2 and "Jenkinsfile" in gitlab_env.files("ml/app0")


def test_python_gitlab_config_file_supplies_url_and_token(tmp_path: Path, gitlab_server: GitLabEmulator) -> None:
    seed(gitlab_server, count=1)
    config = write(tmp_path / "python-gitlab.cfg", f"[global]\ndefault = emu\n\n[emu]\nurl = {gitlab_server.url}\n"
                                                   f"private_token = {gitlab_server.token}\n")
    fleet = fleet_file(tmp_path, "commit")
    assert sync(fleet, gitlab_config=(str(config),), gitlab_id="emu") == 0
    assert "Jenkinsfile" in gitlab_server.files("ml/app0")


def test_a_request_past_the_timeout_is_retried(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=3)
    gitlab_env.inject("GET", r"ml/app0/repository/tree", delay=2.5)
    fleet = fleet_file(tmp_path, "commit")
    started = time.monotonic()
    assert run_sync(SyncOptions(fleet=fleet, jobs=4, timeout=1)) == 0
    assert time.monotonic() - started < 2.5  # gave up on the slow reply, did not wait for it
    assert "Jenkinsfile" in gitlab_env.files("ml/app0")


def test_hand_edited_and_stale_step_files_are_repaired_in_one_commit(tmp_path: Path,
                                                                    gitlab_env: GitLabEmulator) -> None:
    seed(gitlab_env, count=1)
    fleet = fleet_file(tmp_path, "commit")
    assert sync(fleet) == 0
    before = gitlab_env.files("ml/app0")
    step = next(p for p in before if p.startswith(".ci-gen/steps/") and before[p].startswith(b"#!"))
    gitlab_env.commit_files("ml/app0", {step: b"#!/bin/sh\necho tampered\n", ".ci-gen/steps/old-step": b"gone\n"})
    gitlab_env.clear_log()
    assert sync(fleet, report=tmp_path / "r.json") == 0
    changes = {(c["action"], c["name"]) for c in report(tmp_path / "r.json")["projects"][0]["changes"]}
    assert changes == {("update", step), ("delete", ".ci-gen/steps/old-step"), ("create", "main")}
    assert gitlab_env.count("POST", "/repository/commits") == 1
    after = gitlab_env.files("ml/app0")
    assert after[step] == before[step] and ".ci-gen/steps/old-step" not in after
