"""`ci-gen run` without a daemon: which jobs, in which order, and what --dry-run would send.

The dry run prints each Engine API request; these tests read the printed container bodies back
and check them against the plan, so what a real run would create is checked without Docker.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ci_gen.manifest import load_manifest
from ci_gen.plan import build_plan
from tests.run.probe import REPO
from tests.tools import require_module

FRAUD = REPO / "examples" / "fraud-detector"


def ci_gen(*args: str, cwd: Path = FRAUD, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "DOCKER_"))}
    return subprocess.run([sys.executable, "-m", "ci_gen", "run", *args], cwd=cwd, capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120)


def listed(*args: str) -> list[dict[str, object]]:
    proc = ci_gen("--list", "-o", "json", *args)
    assert proc.returncode == 0, proc.stderr
    jobs: list[dict[str, object]] = json.loads(proc.stdout)["jobs"]
    return jobs


def test_default_run_stops_before_the_first_deploy_in_dependency_order() -> None:
    jobs = listed()
    names = [j["name"] for j in jobs]
    assert names == ["convert-onnx", "convert-tensorrt", "build-image", "test-unit", "test-gpu-smoke",
                     "scan-image", "scan-secrets", "sbom", "scan-model"]
    for position, job in enumerate(jobs):
        assert all(names.index(str(n)) < position for n in job["needs"])  # type: ignore[union-attr]
    assert jobs[1]["gpu"] is True and jobs[3]["image"] == "registry.example.com/ml/fraud-detector:<commit sha>"


def test_include_deploy_and_named_jobs() -> None:
    deploys = [j["name"] for j in listed("--include-deploy") if j["name"].startswith(("deploy-", "verify-"))]
    assert deploys == ["deploy-staging", "verify-staging", "deploy-production", "verify-production"]
    assert [j["name"] for j in listed("test-unit")] == ["convert-onnx", "convert-tensorrt", "build-image", "test-unit"]
    assert [j["name"] for j in listed("--only", "test-unit", "scan-secrets")] == ["test-unit", "scan-secrets"]


def test_unknown_job_is_a_usage_error() -> None:
    proc = ci_gen("deploy-moon")
    assert proc.returncode == 2 and "unknown job deploy-moon" in proc.stderr and "Traceback" not in proc.stderr


def creates(output: str) -> dict[str, dict[str, object]]:
    """Job name -> the JSON body of its printed `POST /containers/create`."""
    bodies = {}
    for body in re.findall(r"^POST /containers/create\?name=\S+ (\{.*\})$", output, re.M):
        data = json.loads(body)
        bodies[data["Labels"]["dev.ci-gen.job"]] = data
    return bodies


def test_dry_run_prints_the_api_calls_with_the_pipelines_environment_and_masks_secrets() -> None:
    secret = "s3cr3t-registry-pass"
    proc = ci_gen("--dry-run", "--var", "EXTRA=1", env={"REGISTRY_PASSWORD": secret,
                                                        "CI_GEN_REGISTRY_PASSWORD": secret + "-2"})
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    pipeline = build_plan(load_manifest(FRAUD / "ci-gen.yaml", FRAUD))
    bodies = creates(proc.stdout)
    assert list(bodies) == [j["name"] for j in listed()]
    for name, body in bodies.items():
        job = pipeline.job(name)
        env = dict(item.split("=", 1) for item in body["Env"])  # type: ignore[union-attr]
        expected = {**dict(pipeline.env), **dict(pipeline.variables), **dict(job.env), "EXTRA": "1"}
        assert {k: env[k] for k in expected} == expected, name
        assert env["REGISTRY_PASSWORD"] == "***"  # a manifest secret: every job gets it, masked in print
        assert ("CI_GEN_REGISTRY_PASSWORD" in env) == any(c.purpose == "registry" for c in job.credentials)
        assert body["Cmd"] == ["sh", "-c", " ".join(job.command)]
        host = body["HostConfig"]
        assert ("DeviceRequests" in host) == job.gpu  # type: ignore[operator]
        assert body["Labels"]["dev.ci-gen.run"]  # type: ignore[index]
    calls = re.findall(r"^(GET|POST|PUT|DELETE) (/\S*)", proc.stdout, re.M)
    created = [p for m, p in calls if m == "POST" and p.startswith("/volumes/create")]
    deleted = [p for m, p in calls if m == "DELETE"]
    assert len(deleted) == 2 * len(created)  # every container and volume removed again
    assert "planned" in proc.stdout


def test_deploy_without_a_cluster_stops_with_one_clear_line() -> None:
    proc = ci_gen("--dry-run", "--include-deploy", env={"KUBECONFIG": ""})
    assert proc.returncode == 1
    assert "deploy to a Kubernetes cluster, and none is configured" in proc.stderr
    assert "/containers/create" not in proc.stdout  # stopped before any job


def test_secret_file_values_never_printed(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# local secrets\nREGISTRY_PASSWORD='from-the-file-123'\nOTHER=also-secret-456\n")
    proc = ci_gen("--dry-run", "--only", "scan-secrets", "--secret-file", str(secrets), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "from-the-file-123" not in output and "also-secret-456" not in output
    env = creates(proc.stderr)["scan-secrets"]["Env"]
    assert "REGISTRY_PASSWORD=***" in env and "OTHER=***" in env  # type: ignore[operator]
    assert json.loads(proc.stdout)["jobs"][0]["result"] == "planned"


def test_unreachable_daemon_is_exit_3_in_one_line(tmp_path: Path) -> None:
    require_module("docker", "pip install 'ci-gen[run]'")
    proc = ci_gen("--only", "scan-secrets", env={"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Docker daemon" in lines[0], proc.stderr


@pytest.mark.parametrize("option", ["--var", "--secret-file"])
def test_bad_assignments_are_usage_errors(option: str, tmp_path: Path) -> None:
    value = "NOEQUALS"
    if option == "--secret-file":
        (tmp_path / "s.env").write_text("NOEQUALS\n")
        value = str(tmp_path / "s.env")
    proc = ci_gen("--dry-run", option, value)
    assert proc.returncode == 2 and "expected NAME=VALUE" in proc.stderr


def test_deploy_jobs_get_the_cluster_from_kubeconfig_as_a_file(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    churn = REPO / "examples" / "churn-sklearn"  # no Jenkins kubeconfig credential: GitLab-style variable
    proc = ci_gen("--dry-run", "--include-deploy", "--only", "deploy-staging", cwd=churn,
                  env={"KUBECONFIG": str(kubeconfig)})
    assert proc.returncode == 0, proc.stderr
    env = creates(proc.stdout)["deploy-staging"]["Env"]
    assert "KUBECONFIG=***" in env  # type: ignore[operator]
    # The file goes in before the job starts: a tar put at / that holds run/ci-gen/secrets/KUBECONFIG.
    assert re.search(r"^PUT /containers/\S+/archive\?path=/ ", proc.stdout, re.M)


def test_an_invalid_manifest_is_reported_with_its_location(tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_text("version: 1\nname: app\nimage: {name: registry.example.com/app}\nscan: {imgae: {}}\n")
    proc = ci_gen("--dry-run", cwd=tmp_path)
    assert proc.returncode == 1
    assert re.search(r"^ci-gen\.yaml:4:\d+: ", proc.stderr, re.M), proc.stderr
    assert "/containers/create" not in proc.stdout and "Traceback" not in proc.stderr
