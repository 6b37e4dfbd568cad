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
