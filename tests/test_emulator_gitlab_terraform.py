"""The `infra` step's GitLab-managed state settings, driven over real HTTP against the emulator's
Terraform state API (tests/emulators/gitlab_terraform.py, written from GitLab's docs).

Terraform itself cannot be installed here, so the client is the HTTP backend's documented
protocol: lock with the lock info at `lock_address` (`lock_method`), read and write the state at
`address` (`?ID=` the lock's ID), unlock at `unlock_address` (`unlock_method`), HTTP Basic with
the step's `TF_HTTP_USERNAME` / `TF_HTTP_PASSWORD` defaults. The addresses and methods are taken
from what the step prints, so a wrong path, method or auth shows up here."""
from __future__ import annotations

import json
import re
import subprocess
import uuid
from typing import Any

import requests

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.gitlab_model import DEVELOPER
from tests.steps.conftest import STEPS, step_env


def backend_settings(gitlab: GitLabEmulator, project_id: int, env: str) -> dict[str, str]:
    result = subprocess.run([str(STEPS / "infra"), "--dry-run", "plan"], capture_output=True, text=True,
                            timeout=60, check=False,
                            env=step_env(CI_GEN_INFRA_ENV=env, CI_API_V4_URL=f"{gitlab.url}/api/v4",
                                         CI_PROJECT_ID=str(project_id), CI_JOB_TOKEN="unused"))
    assert result.returncode == 0, result.stderr
    return dict(m.groups() for m in re.finditer(r"-backend-config=([a-z_]+)=(\S+)", result.stdout))


def lock_info(operation: str = "OperationTypeApply") -> dict[str, Any]:
    return {"ID": str(uuid.uuid4()), "Operation": operation, "Info": "", "Who": "runner@ci",
            "Version": "1.9.5", "Created": "2026-01-01T00:00:00Z", "Path": ""}


def test_the_step_s_state_settings_lock_write_read_and_unlock(gitlab_emulator: GitLabEmulator) -> None:
    target = gitlab_emulator.add_project("ml/fraud-detector")
    config = backend_settings(gitlab_emulator, target.id, "production")
    auth = ("gitlab-ci-token", gitlab_emulator.token)  # the step's default username; the token as password
    holder = lock_info()

    locked = requests.request(config["lock_method"], config["lock_address"], json=holder, auth=auth, timeout=10)
    assert locked.status_code == 200 and locked.json()["ID"] == holder["ID"]
    assert requests.get(config["address"], auth=auth, timeout=10).status_code == 204  # no state yet

    other = requests.request(config["lock_method"], config["lock_address"], json=lock_info(), auth=auth, timeout=10)
    assert other.status_code == 409 and other.json()["ID"] == holder["ID"]  # Terraform names the holder
    state = json.dumps({"version": 4, "serial": 1, "lineage": "l", "resources": []}).encode()
    refused = requests.post(config["address"], data=state, auth=auth, timeout=10)  # no lock ID
    assert refused.status_code == 409
    stored = requests.post(config["address"], params={"ID": holder["ID"]}, data=state, auth=auth, timeout=10)
    assert stored.status_code == 200

    wrong = requests.request(config["unlock_method"], config["unlock_address"], json=lock_info(), auth=auth, timeout=10)
    assert wrong.status_code == 409
    unlocked = requests.request(config["unlock_method"], config["unlock_address"], json=holder, auth=auth, timeout=10)
    assert unlocked.status_code == 200
    read = requests.get(config["address"], auth=auth, timeout=10)
    assert read.status_code == 200 and read.content == state


def test_each_environment_has_its_own_state(gitlab_emulator: GitLabEmulator) -> None:
    target = gitlab_emulator.add_project("ml/fraud-detector")
    staging, production = (backend_settings(gitlab_emulator, target.id, env) for env in ("staging", "production"))
    auth = ("gitlab-ci-token", gitlab_emulator.token)
    assert requests.post(staging["lock_address"], json=lock_info(), auth=auth, timeout=10).status_code == 200
    assert requests.post(production["lock_address"], json=lock_info(), auth=auth, timeout=10).status_code == 200


def test_reading_needs_a_login_and_writing_needs_a_maintainer(gitlab_emulator: GitLabEmulator) -> None:
    target = gitlab_emulator.add_project("ml/fraud-detector")
    config = backend_settings(gitlab_emulator, target.id, "production")
    gitlab_emulator.add_user("dev", "glpat-developer-token-0001", role=DEVELOPER)
    assert requests.get(config["address"], timeout=10).status_code == 401
    assert requests.get(config["address"], auth=("bogus", "not-a-token"), timeout=10).status_code == 401
    developer = ("dev", "glpat-developer-token-0001")
    assert requests.get(config["address"], auth=developer, timeout=10).status_code == 204
    assert requests.post(config["lock_address"], json=lock_info(), auth=developer, timeout=10).status_code == 403
