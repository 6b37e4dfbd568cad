"""The GitLab emulator's protected environments and user lookup, through the real python-gitlab
client (`project.protected_environments`, `gl.users`) and its documented raw PUT."""
from __future__ import annotations

import gitlab
import pytest
from gitlab import exceptions as gle

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.gitlab_model import DEVELOPER


@pytest.fixture
def app(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab) -> object:
    gitlab_emulator.add_project("ml/app", {"README.md": "# app\n"})
    return gitlab_client.projects.get("ml/app")


def test_protect_get_list_and_unprotect(gitlab_client: gitlab.Gitlab, app: object) -> None:
    envs = app.protected_environments  # type: ignore[attr-defined]
    created = envs.create({"name": "production", "deploy_access_levels": [{"access_level": 40}],
                           "required_approval_count": 2})
    assert created.name == "production" and created.required_approval_count == 2
    [level] = created.deploy_access_levels
    assert (level["access_level"], level["access_level_description"], level["user_id"], level["group_id"]) == \
        (40, "Maintainers", None, None)
    assert [e.name for e in envs.list(get_all=True)] == ["production"]
    assert envs.get("production").deploy_access_levels == created.deploy_access_levels
    envs.delete("production")
    with pytest.raises(gle.GitlabGetError) as gone:
        envs.get("production")
    assert gone.value.response_code == 404


def test_a_second_protect_conflicts_and_bad_entries_are_refused(gitlab_client: gitlab.Gitlab, app: object) -> None:
    envs = app.protected_environments  # type: ignore[attr-defined]
    envs.create({"name": "production", "deploy_access_levels": [{"access_level": 40}]})
    with pytest.raises(gle.GitlabCreateError) as twice:
        envs.create({"name": "production", "deploy_access_levels": [{"access_level": 40}]})
    assert twice.value.response_code == 409 and "already exists" in str(twice.value)
    with pytest.raises(gle.GitlabCreateError) as level:
        envs.create({"name": "staging", "deploy_access_levels": [{"access_level": 20}]})
    assert level.value.response_code == 400 and "does not have a valid value" in str(level.value)
    with pytest.raises(gle.GitlabCreateError) as both:
        envs.create({"name": "staging", "deploy_access_levels": [{"access_level": 40, "user_id": 1}]})
    assert both.value.response_code == 400 and "mutually exclusive" in str(both.value)
    with pytest.raises(gle.GitlabCreateError) as many:
        envs.create({"name": "staging", "deploy_access_levels": [{"access_level": 40}], "required_approval_count": 6})
    assert many.value.response_code == 422


def test_users_and_groups_as_deployers_and_the_documented_put(
        gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab, app: object) -> None:
    alice = gitlab_emulator.add_user("alice", name="Alice")
    leads = gitlab_emulator.add_group("ml/leads")
    [found] = gitlab_client.users.list(username="alice", get_all=True)
    assert found.id == alice.id
    assert gitlab_client.users.list(username="nobody", get_all=True) == []
    envs = app.protected_environments  # type: ignore[attr-defined]
    created = envs.create({"name": "production", "deploy_access_levels": [{"user_id": alice.id}]})
    [entry] = created.deploy_access_levels
    assert (entry["user_id"], entry["access_level_description"]) == (alice.id, "Alice")
    path = f"/projects/{app.encoded_id}/protected_environments/production"  # type: ignore[attr-defined]
    updated = gitlab_client.http_put(path, post_data={
        "deploy_access_levels": [{"group_id": leads.id}, {"id": entry["id"], "_destroy": True}],
        "required_approval_count": 1})
    assert [(e["group_id"], e["user_id"]) for e in updated["deploy_access_levels"]] == [(leads.id, None)]
    assert updated["required_approval_count"] == 1


def test_protection_needs_the_maintainer_role(gitlab_emulator: GitLabEmulator, app: object) -> None:
    gitlab_emulator.add_user("dev", "glpat-dev", role=DEVELOPER)
    with gitlab.Gitlab(gitlab_emulator.url, private_token="glpat-dev") as dev:
        with pytest.raises(gle.GitlabListError) as denied:
            dev.projects.get("ml/app", lazy=True).protected_environments.list(get_all=True)
    assert denied.value.response_code == 403


def test_a_blocked_deployment_is_approved_only_by_a_deployer_other_than_its_author(
        gitlab_emulator: GitLabEmulator, app: object) -> None:
    alice = gitlab_emulator.add_user("alice", "glpat-alice", name="Alice")
    gitlab_emulator.add_user("dev", "glpat-dev", role=DEVELOPER)
    carol = gitlab_emulator.add_user("carol", "glpat-carol", name="Carol")
    leads = gitlab_emulator.add_group("ml/leads")
    gitlab_emulator.add_group_member("ml/leads", "carol")
    app.protected_environments.create({  # type: ignore[attr-defined]
        "name": "production", "required_approval_count": 2,
        "deploy_access_levels": [{"user_id": alice.id}, {"group_id": leads.id}]})
    deployment = gitlab_emulator.add_deployment("ml/app", "production", user="alice")
    staging = gitlab_emulator.add_deployment("ml/app", "staging")
    assert (deployment["status"], staging["status"]) == ("blocked", "created")

    def approve(token: str, ident: int, status: str = "approved") -> dict[str, object]:
        with gitlab.Gitlab(gitlab_emulator.url, private_token=token) as gl:
            return gl.projects.get("ml/app", lazy=True).deployments.get(ident).approval(status=status)  # type: ignore[no-any-return]

    for token, reason in (("glpat-dev", "permission"), ("glpat-alice", "your own deployment")):
        with pytest.raises(gle.GitlabDeploymentApprovalError) as refused:
            approve(token, deployment["id"])
        assert refused.value.response_code == 400 and reason in str(refused.value)
    with pytest.raises(gle.GitlabDeploymentApprovalError):
        approve("glpat-carol", staging["id"])  # not protected: nothing waits for approval
    assert approve("glpat-carol", deployment["id"])["status"] == "approved"  # a member of the named group
    with gitlab.Gitlab(gitlab_emulator.url, private_token=gitlab_emulator.token) as gl:
        view = gl.projects.get("ml/app", lazy=True).deployments.get(deployment["id"])
        assert (view.status, view.pending_approval_count, view.approvals[0]["user"]["id"]) == ("blocked", 1, carol.id)
    with pytest.raises(gle.GitlabDeploymentApprovalError):  # a Maintainer, but not a named deployer
        approve(gitlab_emulator.token, deployment["id"])
    gitlab_emulator.add_user("dave", "glpat-dave")
    gitlab_emulator.add_group_member("ml/leads", "dave")
    assert approve("glpat-dave", deployment["id"])["status"] == "approved"
    with gitlab.Gitlab(gitlab_emulator.url, private_token=gitlab_emulator.token) as gl:
        view = gl.projects.get("ml/app", lazy=True).deployments.get(deployment["id"])
        assert (view.status, view.pending_approval_count) == ("created", 0)  # unblocked: the job may run
