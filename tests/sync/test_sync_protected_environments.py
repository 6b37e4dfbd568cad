"""`approval:` on GitLab: sync protects the environment (deployers, required approvals) over real
HTTP against the emulator, converges on reruns and never unprotects."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gitlab as gitlab_lib
import pytest
from ci_gen.sync.main import run_sync
from ci_gen.sync.options import SyncOptions
from tests.emulators.gitlab import GitLabEmulator
from tests.sync.helpers import manifest, write

DEPLOY = """\
deploy:
  environments:
    - {{name: staging, kubernetes: {{namespace: ml}}}}
    - name: production
      kubernetes: {{namespace: ml}}
      approval: {approval}
"""


def _setup(tmp_path: Path, emu: GitLabEmulator, approval: str) -> Path:
    emu.add_project("ml/app", files={"ci-gen.yaml": manifest("app", targets="[gitlab]",
                                                              extra=DEPLOY.format(approval=approval))})
    return write(tmp_path / "fleet.yaml", "version: 1\ndefaults:\n  gitlab: {mode: commit}\nprojects:\n"
                                          "  - gitlab: ml/app\n")


def _sync(fleet: Path, report: Path) -> dict[str, Any]:
    run_sync(SyncOptions(fleet=fleet, jobs=1, timeout=10, report=report))
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def _protections(emu: GitLabEmulator) -> list[dict[str, Any]]:
    with gitlab_lib.Gitlab(emu.url, private_token=emu.token) as gl:
        return [p.asdict() for p in gl.projects.get("ml/app", lazy=True).protected_environments.list(get_all=True)]


def _writes(emu: GitLabEmulator, path: str) -> int:
    return sum(emu.count(m, path) for m in ("POST", "PUT", "DELETE"))


def _edit_manifest(emu: GitLabEmulator, approval: str) -> None:
    emu.commit_files("ml/app", {"ci-gen.yaml": manifest("app", targets="[gitlab]",
                                                        extra=DEPLOY.format(approval=approval))})


def test_sync_protects_the_environment_then_an_unchanged_rerun_writes_nothing(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    alice = gitlab_env.add_user("alice", name="Alice")
    leads = gitlab_env.add_group("ml/release-leads")
    fleet = _setup(tmp_path, gitlab_env, "{users: [alice], groups: [ml/release-leads], required: 2}")
    first = _sync(fleet, tmp_path / "r1.json")
    assert first["summary"]["failed"] == 0
    [production] = _protections(gitlab_env)  # staging needs no approval: left unprotected
    assert production["name"] == "production" and production["required_approval_count"] == 2
    assert [(e["user_id"], e["group_id"]) for e in production["deploy_access_levels"]] == \
        [(alice.id, None), (None, leads.id)]
    gitlab_env.clear_log()
    second = _sync(fleet, tmp_path / "r2.json")
    assert second["summary"]["unchanged"] == 1 and _writes(gitlab_env, "protected_environments") == 0
    # one list of protections, one lookup per named deployer
    assert gitlab_env.count("GET", r"/protected_environments") == 1
    assert gitlab_env.count("GET", r"/users$") == 1 and gitlab_env.count("GET", r"/groups/") == 1


def test_changed_approvers_are_updated_in_place_and_never_unprotected(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    bob = gitlab_env.add_user("bob", name="Bob")
    fleet = _setup(tmp_path, gitlab_env, "true")
    _sync(fleet, tmp_path / "r1.json")
    [production] = _protections(gitlab_env)
    assert [e["access_level"] for e in production["deploy_access_levels"]] == [40]  # maintainers by default
    assert production["required_approval_count"] == 1
    _edit_manifest(gitlab_env, "{users: [bob]}")
    gitlab_env.clear_log()
    _sync(fleet, tmp_path / "r2.json")
    assert gitlab_env.count("PUT", r"/protected_environments/production") == 1
    assert gitlab_env.count("DELETE", r"/protected_environments") == 0  # updated, never unprotected on the way
    [production] = _protections(gitlab_env)
    assert [(e["user_id"], e["access_level"]) for e in production["deploy_access_levels"]] == [(bob.id, None)]
    _edit_manifest(gitlab_env, "false")  # approval dropped: a person decides to unprotect
    _sync(fleet, tmp_path / "r3.json")
    assert [p["name"] for p in _protections(gitlab_env)] == ["production"]


def test_an_unknown_approver_fails_the_project_with_a_clear_reason(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    fleet = _setup(tmp_path, gitlab_env, "{users: [mallory]}")
    result = _sync(fleet, tmp_path / "r.json")
    [project] = result["projects"]
    assert project["status"] == "failed" and "approval.users: GitLab has no user 'mallory'" in project["error"]
    assert _protections(gitlab_env) == []


def test_a_server_without_protected_environments_is_reported_not_fatal(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    fleet = _setup(tmp_path, gitlab_env, "true")
    gitlab_env.inject("GET", r"/protected_environments", times=1, status=404, body={"message": "404 Not Found"})
    result = _sync(fleet, tmp_path / "r.json")
    [project] = result["projects"]
    assert project["status"] == "created" and gitlab_env.count("POST", r"/protected_environments") == 0
    assert project["warnings"] == [
        "protected-environment production not enforced: protected environments unavailable (404); "
        "the deploy is a manual job anyone with Developer access can run"]


def test_staging_sharing_production_kubeconfig_on_gitlab_is_reported(tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    fleet = _setup(tmp_path, gitlab_env, "false")
    with gitlab_lib.Gitlab(gitlab_env.url, private_token=gitlab_env.token) as gl:
        variables = gl.projects.get("ml/app", lazy=True).variables
        variables.create({"key": "KUBECONFIG", "value": "prod-cluster", "variable_type": "file", "environment_scope": "*"})
        first = _sync(fleet, tmp_path / "r1.json")
        assert first["projects"][0]["warnings"] == [
            "environment-credentials staging not enforced: 'staging' gets the KUBECONFIG variable scoped '*', the one "
            "production environment 'production' gets; add a KUBECONFIG file variable scoped 'staging'"]
        variables.create({"key": "KUBECONFIG", "value": "staging-cluster", "variable_type": "file",
                          "environment_scope": "staging"})
    second = _sync(fleet, tmp_path / "r2.json")
    assert second["projects"][0]["warnings"] == [] and second["projects"][0]["status"] == "unchanged"


def test_after_sync_only_the_named_approver_unblocks_a_production_deployment(
        tmp_path: Path, gitlab_env: GitLabEmulator) -> None:
    gitlab_env.add_user("alice", "glpat-alice", name="Alice")
    gitlab_env.add_user("dev", "glpat-dev")  # a Maintainer, as everyone who could press a manual button
    fleet = _setup(tmp_path, gitlab_env, "{users: [alice]}")
    _sync(fleet, tmp_path / "r.json")
    deployment = gitlab_env.add_deployment("ml/app", "production")
    assert deployment["status"] == "blocked"  # the deploy job waits, whoever started the pipeline

    def approve(token: str) -> dict[str, Any]:
        with gitlab_lib.Gitlab(gitlab_env.url, private_token=token) as gl:
            result: dict[str, Any] = gl.projects.get("ml/app", lazy=True).deployments.get(
                deployment["id"]).approval(status="approved")
            return result

    with pytest.raises(gitlab_lib.GitlabDeploymentApprovalError, match="permission"):
        approve("glpat-dev")  # a user the manifest does not name
    assert approve("glpat-alice")["status"] == "approved"
    with gitlab_lib.Gitlab(gitlab_env.url, private_token=gitlab_env.token) as gl:
        assert gl.projects.get("ml/app", lazy=True).deployments.get(deployment["id"]).status == "created"
