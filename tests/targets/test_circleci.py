"""The CircleCI renderer: approvals, contexts, workspaces, the scheduled workflow, resource
classes and rollback, read back from the rendered config."""
from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from ci_gen import api
from tests.targets.conftest import REPO, with_targets

FOUR = (REPO / "tests" / "golden" / "four-targets" / "ci-gen.yaml").read_text(encoding="utf-8")


def config() -> dict[str, Any]:
    files = api.render_files(with_targets(FOUR, ["circleci"]))
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(files[".circleci/config.yml"].decode("utf-8"))
    return data


def entries(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for entry in workflow["jobs"]:
        name, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        out[name] = settings
    return out


def test_gated_deploy_requires_an_approval_job_on_the_same_branch() -> None:
    flow = entries(config()["workflows"]["ci-gen"])
    approval = flow["approve-deploy-production"]
    assert approval["type"] == "approval" and approval["filters"] == {"branches": {"only": ["main"]}}
    assert "approve-deploy-production" in flow["deploy-production"]["requires"]
    assert flow["deploy-production"]["context"] == ["ci-gen-production"]
    assert "approve-deploy-staging" not in flow  # staging has no approval


def test_scheduled_workflow_never_deploys() -> None:
    data = config()
    scheduled = data["workflows"]["ci-gen-scheduled"]
    assert scheduled["triggers"] == [{"schedule": {"cron": "0 3 * * *", "filters": {"branches": {"only": ["main"]}}}}]
    names = set(entries(scheduled))
    assert "build-image" in names and not any(n.startswith(("deploy-", "approve-", "verify-", "sign-")) for n in names)


def test_runner_roles_workspace_and_rollback() -> None:
    jobs = config()["jobs"]
    assert jobs["convert-tensorrt"]["machine"] == {"image": "linux-cuda-12:default"}
    assert jobs["convert-tensorrt"]["resource_class"] == "gpu.nvidia.small"
    assert jobs["build-image"]["resource_class"] == "medium"
    assert {"persist_to_workspace": {"root": ".", "paths": [".ci-gen/out"]}} in jobs["build-image"]["steps"]
    assert {"attach_workspace": {"at": "."}} in jobs["test-unit"]["steps"]
    deploy = jobs["deploy-production"]["steps"]
    assert {"run": {"name": "rollback", "when": "on_fail", "command": ".ci-gen/steps/rollout rollback"}} in deploy
    writer = next(s["run"] for s in deploy if isinstance(s, dict) and s.get("run", {}).get("name") == "secret file KUBECONFIG")
    assert writer["command"].startswith('if [ -n "${CI_GEN_KUBECONFIG:-}" ]; then') and "KUBECONFIG" not in jobs["deploy-production"]["environment"]
