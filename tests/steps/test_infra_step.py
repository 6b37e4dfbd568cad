"""The `infra` step: the commands it runs (dry run: terraform and tofu cannot be installed on our
machines), GitLab-managed state settings as GitLab documents its Terraform state API, masking,
and the plan JSON -> GitLab Terraform report conversion run for real on plan files written in
Terraform's documented JSON output format (tests/steps/data/tfplan)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.steps.conftest import DATA, STEPS

TFPLAN = DATA / "tfplan"
GITLAB = {"CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42",
          "CI_JOB_TOKEN": "glcbt-s3cret-job-token"}
# GitLab's Terraform state API (docs: user/infrastructure/iac/terraform_state.md, the HTTP backend
# settings): one state per name under the project, locked by POST and unlocked by DELETE on /lock.
STATE_API = re.compile(r"^https://[^/]+/api/v4/projects/[^/]+/terraform/state/[a-z0-9-]+$")


def tfreport(plan: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(STEPS / "_tfreport.py"), str(plan), str(out)],
                          capture_output=True, text=True, check=False, timeout=60)


def backend_configs(stdout: str) -> dict[str, str]:
    return dict(m.groups() for m in re.finditer(r"-backend-config=([a-z_]+)=(\S+)", stdout))


@pytest.mark.parametrize("plan, expected", [
    ("gke-create.json", {"create": 2, "update": 0, "delete": 0}),  # no-op and data reads are not changes
    # a replacement is a delete and a create, counted once in each, as GitLab's own template counts
    ("gke-mixed.json", {"create": 1, "update": 1, "delete": 2}),
    ("empty.json", {"create": 0, "update": 0, "delete": 0}),  # no resource_changes at all
])
def test_plan_json_becomes_the_gitlab_terraform_report(plan: str, expected: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = tfreport(TFPLAN / plan, out)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == expected
    totals = f"Plan: {expected['create']} to add, {expected['update']} to change, {expected['delete']} to destroy."
    assert result.stdout.splitlines()[-1] == totals


def test_summary_lists_each_changed_resource_for_the_jenkins_log(tmp_path: Path) -> None:
    result = tfreport(TFPLAN / "gke-mixed.json", tmp_path / "r.json")
    assert result.stdout.splitlines()[:3] == [
        "    ~ google_container_cluster.primary",
        "  -/+ google_container_node_pool.primary_nodes",
        "    - google_compute_network.legacy",
    ]


@pytest.mark.parametrize("content", ['{"resource_changes": []}', "not json", '{"format_version": "1.2", '
                                     '"resource_changes": [{"change": {"actions": "create"}}]}'])
def test_unreadable_plan_json_fails_with_one_line(content: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    result = tfreport(plan, tmp_path / "r.json")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("ci-gen infra: error:")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("tool", ["terraform", "tofu"])
def test_plan_runs_fmt_init_validate_plan_show_and_report(tool: str, run_step, tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "production.tfvars").write_text('node_count = 2\n')
    result = run_step("infra", "--dry-run", "plan", CI_GEN_INFRA_ENV="production", CI_GEN_INFRA_TOOL=tool, **GITLAB)
    assert result.returncode == 0, result.stderr
    commands = [line[2:].split()[:3] for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert [c[2] if c[0] == tool else "report" for c in commands] == [
        "fmt", "init", "validate", "plan", "show", "report"]
    plan_line = next(line for line in result.stdout.splitlines() if line.startswith("+ ") and " plan " in line)
    assert f"-out={tmp_path}/.ci-gen/out/infra/production.tfplan" in plan_line
    assert plan_line.endswith("-var-file=production.tfvars")
    assert not any(tmp_path.joinpath(".ci-gen").glob("**/*")), "a dry run wrote files"


def test_gitlab_state_follows_the_documented_state_api_and_keeps_the_token_off_the_command_line(run_step) -> None:
    result = run_step("infra", "--dry-run", "apply", CI_GEN_INFRA_ENV="staging", **GITLAB)
    assert result.returncode == 0, result.stderr
    config = backend_configs(result.stdout)
    address = "https://gitlab.example.com/api/v4/projects/42/terraform/state/staging"
    assert config == {"address": address, "lock_address": f"{address}/lock", "unlock_address": f"{address}/lock",
                      "lock_method": "POST", "unlock_method": "DELETE", "retry_wait_min": "5"}
    assert STATE_API.match(config["address"])
    assert "s3cret" not in result.stdout + result.stderr
    assert "username" not in config and "password" not in config  # .terraform/ would store them
    assert "apply -input=false -lock-timeout=5m" in result.stdout and result.stdout.rstrip().endswith("staging.tfplan")


def test_jenkins_reaches_the_state_through_the_project_path(run_step) -> None:
    result = run_step("infra", "--dry-run", "drift", CI_GEN_INFRA_ENV="production",
                      CI_GEN_GITLAB_API_URL="https://gitlab.example.com/api/v4/",
                      CI_GEN_INFRA_STATE_PROJECT="ml/fraud-detector", TF_HTTP_PASSWORD="glpat-s3cret-token")
    assert result.returncode == 0, result.stderr
    address = backend_configs(result.stdout)["address"]
    assert address == "https://gitlab.example.com/api/v4/projects/ml%2Ffraud-detector/terraform/state/production"
    assert STATE_API.match(address)
    assert "plan -input=false -lock=false -detailed-exitcode" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_backend_state_leaves_the_code_s_backend_alone(run_step) -> None:
    result = run_step("infra", "--dry-run", "plan", CI_GEN_INFRA_ENV="dev", CI_GEN_INFRA_STATE="backend")
    assert result.returncode == 0, result.stderr
    assert "-backend-config" not in result.stdout and "init -input=false\n" in result.stdout


@pytest.mark.parametrize("env, message", [
    ({}, "CI_GEN_INFRA_ENV is required"),
    ({"CI_GEN_INFRA_ENV": "prod", "CI_GEN_INFRA_TOOL": "pulumi"}, "CI_GEN_INFRA_TOOL must be terraform or tofu"),
    ({"CI_GEN_INFRA_ENV": "prod; rm -rf /"}, "CI_GEN_INFRA_ENV must be lowercase"),
    ({"CI_GEN_INFRA_ENV": "prod"}, "state gitlab needs CI_API_V4_URL"),
])
def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], message: str, run_step) -> None:
    result = run_step("infra", "--dry-run", "plan", **env)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_apply_without_the_saved_plan_refuses(run_step, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "terraform"  # never reached: the missing plan stops the step first
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    import os

    result = run_step("infra", "apply", CI_GEN_INFRA_ENV="prod", CI_GEN_INFRA_STATE="backend",
                      PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode == 1
    assert "no saved plan" in result.stderr and "infra-prod" in result.stderr
