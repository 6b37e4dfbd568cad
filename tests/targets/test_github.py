"""The GitHub Actions renderer: how the plan's artifacts, credentials, gates, rollbacks and
runner roles become workflow syntax (read back from the rendered YAML)."""
from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from ci_gen import api
from tests.targets.conftest import REPO, with_targets

FOUR = (REPO / "tests" / "golden" / "four-targets" / "ci-gen.yaml").read_text(encoding="utf-8")


def workflow(text: str = FOUR) -> dict[str, Any]:
    files = api.render_files(with_targets(text, ["github"]))
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(files[".github/workflows/ci-gen.yml"].decode("utf-8"))
    return data


def steps(job: dict[str, Any], uses: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(uses)]


def test_least_privilege_and_pinned_actions() -> None:
    data = workflow()
    assert data["permissions"] == {"contents": "read"}
    for job in data["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]
        checkout = steps(job, "actions/checkout")[0]
        assert checkout["with"] == {"persist-credentials": False}


def test_artifacts_come_back_where_the_producer_left_them() -> None:
    jobs = workflow()["jobs"]
    # convert-onnx uploads .ci-gen/out and .ci-gen/reports: stored relative to .ci-gen
    upload = steps(jobs["convert-onnx"], "actions/upload-artifact")[0]["with"]
    assert upload["path"] == ".ci-gen/out\n.ci-gen/reports" and upload["include-hidden-files"] is True
    assert steps(jobs["convert-tensorrt"], "actions/download-artifact")[0]["with"] == {"name": "convert-onnx", "path": ".ci-gen"}
    # build-image uploads .ci-gen/out alone: stored relative to itself
    assert steps(jobs["test-unit"], "actions/download-artifact")[0]["with"] == {"name": "build-image", "path": ".ci-gen/out"}


def test_runner_roles_map_to_labels() -> None:
    jobs = workflow()["jobs"]
    assert jobs["convert-tensorrt"]["runs-on"] == ["self-hosted", "linux", "gpu"]
    assert jobs["test-gpu-smoke"]["runs-on"] == ["self-hosted", "linux", "gpu"]
    assert jobs["build-image"]["runs-on"] == ["ubuntu-latest"]


def test_deploys_use_their_environment_and_its_secrets_only() -> None:
    jobs = workflow()["jobs"]
    prod = jobs["deploy-production"]
    assert prod["environment"] == {"name": "production"}
    assert prod["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    assert prod["if"] == "github.event_name != 'schedule' && github.ref == 'refs/heads/main'"
    writer = [s for s in prod["steps"] if s.get("name") == "secret file KUBECONFIG"][0]
    assert writer["env"] == {"CI_GEN_SECRET": "${{ secrets.CI_GEN_KUBECONFIG }}"}
    # the variable is set for later steps only when the secret is: an empty file is no kubeconfig
    assert writer["run"].startswith('if [ -n "$CI_GEN_SECRET" ]; then') and '>> "$GITHUB_ENV"' in writer["run"]
    verify = jobs["verify-production"]
    assert verify["environment"] == {"name": "production", "deployment": False}
    assert "concurrency" not in verify


def test_rollback_runs_only_when_its_deploy_failed() -> None:
    jobs = workflow()["jobs"]
    rollback = jobs["rollback-production"]
    assert rollback["needs"] == ["deploy-production"]
    assert rollback["if"].startswith("failure() && ")
    assert rollback["steps"][-1]["run"] == ".ci-gen/steps/rollout rollback"


def test_schedules_and_secrets_by_name() -> None:
    data = workflow()
    assert data["on"]["schedule"] == [{"cron": "0 3 * * *"}]
    assert data["env"]["REGISTRY_PASSWORD"] == "${{ secrets.REGISTRY_PASSWORD }}"


def test_keyless_signing_gets_an_oidc_token_and_nothing_more() -> None:
    text = ("version: 1\nname: app\ntargets: [github]\nimage: {name: registry.example.com/ml/app}\n"
            "scan: {sign: true}\n")
    jobs = workflow(text)["jobs"]
    assert jobs["sign-image"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert all("permissions" not in job for name, job in jobs.items() if name != "sign-image")
