"""`infra:`: the manifest section (defaults, located errors), the `.tf` syntax check of `validate`
(python-hcl2, for real), and the jobs the one plan gives both targets."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_gen.errors import ManifestError
from ci_gen.manifest import DRIFT_SCHEDULE, load_manifest, load_manifest_text
from ci_gen.plan import build_plan

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "infra-gke" / "ci-gen.yaml"
GKE = REPO / "tests" / "infra_gke"
BASE = """version: 1
name: app
targets: [gitlab]
image: {name: registry.example.com/ml/app}
"""


def validate(repo: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "ci_gen", "validate"], cwd=repo, capture_output=True,
                          text=True, env=env, timeout=120, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(GKE, root / "infra")
    (root / "ci-gen.yaml").write_text(BASE + "infra: {environments: [staging, production]}\n")
    return root


def test_defaults_are_documented_in_the_schema() -> None:
    infra = load_manifest_text(BASE + "infra: {}\n").infra
    assert infra is not None
    assert (infra.tool, infra.dir, infra.environments, infra.state, infra.approval, infra.branch, infra.drift) == (
        "terraform", "infra", ("production",), "gitlab", True, "main", None)


@pytest.mark.parametrize("section, where, message", [
    ("infra: {dir: ../shared-infra}", "7:9: infra.dir", "leaves the repository"),
    ("infra: {dir: /etc}", "7:9: infra.dir", "is absolute"),
    ("infra: {tool: terragrunt}", "7:9: infra.tool", "'terragrunt' is not one of 'terraform', 'tofu'"),
    ("infra: {environments: [prod, prod]}", "7:30: infra.environments[1]", "'prod' is listed twice"),
    ("infra: {drift: daily}", "7:9: infra.drift", "not allowed here"),
    ("infra: {statee: gitlab}", "7:9: infra", "unknown key 'statee' (did you mean 'state'?)"),
])
def test_bad_infra_sections_are_located(section: str, where: str, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(BASE + "\n\n" + section + "\n", "ci-gen.yaml")
    text = str(caught.value)
    assert f"ci-gen.yaml:{where}" in text and message in text, text


def test_gitlab_state_on_jenkins_needs_a_credential_and_the_project() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(BASE.replace("[gitlab]", "[jenkins]") + "infra: {state: gitlab}\n", "ci-gen.yaml")
    text = str(caught.value)
    assert "ci-gen.yaml:5:1: infra: infra.state 'gitlab' on Jenkins needs jenkins.credentials.infra-state" in text
    assert "needs gitlab.project" in text
    load_manifest_text(BASE.replace("[gitlab]", "[jenkins]") + "infra: {state: backend}\n")  # no error


def test_the_gke_example_validates(repo: Path, tmp_path: Path) -> None:
    result = validate(repo, tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ci-gen.yaml: valid (app)"


def test_a_tf_syntax_error_is_reported_with_file_and_line(repo: Path, tmp_path: Path) -> None:
    main = repo / "infra" / "main.tf"
    lines = main.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "initial_node_count" in line)
    lines[index] = "  initial_node_count       = "  # the value is missing
    main.write_text("\n".join(lines) + "\n")
    result = validate(repo, tmp_path / "cache")
    assert result.returncode == 1
    assert result.stderr == f"infra/main.tf:{index + 1}:30: HCL syntax error: unexpected end of line " \
                            "(a value or a closing bracket missing?)\n"


def test_the_tf_files_are_checked_even_when_the_manifest_was_validated_before(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert validate(repo, cache).returncode == 0  # leaves the verified record of this manifest
    (repo / "infra" / "variables.tf").write_text('variable "region" {\n  type = string\n')
    result = validate(repo, cache)
    assert result.returncode == 1
    assert result.stderr.startswith("infra/variables.tf:3:1: HCL syntax error: unexpected end of file"), result.stderr


def test_a_tf_symlink_leaving_the_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.tf"
    outside.write_text('variable "x" {}\n')
    (repo / "infra" / "escape.tf").symlink_to(outside)
    result = validate(repo, tmp_path / "cache")
    assert result.returncode == 1
    assert result.stderr.startswith("infra/escape.tf:1:1: not a regular file inside the repository"), result.stderr


def test_plan_then_gated_apply_of_the_saved_plan_then_deploy() -> None:
    pipeline = build_plan(load_manifest(GOLDEN))
    names = [j.name for j in pipeline.jobs]
    for env in ("staging", "production"):
        plan, apply, deploy = (pipeline.job(f"{kind}-{env}") for kind in ("infra", "apply", "deploy"))
        assert names.index(plan.name) < names.index(apply.name) < names.index(deploy.name)
        assert apply.needs == (plan.name,) and apply.name in deploy.needs
        assert dict(apply.env)["CI_GEN_INFRA_PLAN"] == dict(plan.env)["CI_GEN_INFRA_PLAN"]
        assert apply.branch == deploy.branch == "main"  # never applied from a feature branch
        assert plan.branch is None and plan.skip_on_schedule  # every branch shows its plan in review
        assert ("terraform", f".ci-gen/reports/infra/{env}.tfreport.json") in plan.reports
        drift = pipeline.job(f"drift-{env}")
        assert drift.only_on_schedule and drift.action == "drift"
    assert pipeline.job("apply-staging").gate is None
    assert pipeline.job("apply-production").gate is not None  # production tier, approval: true
    assert "0 5 * * *" in pipeline.crons


def test_the_drift_check_is_a_schedule_sync_creates() -> None:
    schedules = load_manifest(GOLDEN).schedules
    assert [(s.name, s.cron, s.branch) for s in schedules] == [(DRIFT_SCHEDULE, "0 5 * * *", "main")]


def test_an_environment_with_infrastructure_only_still_gets_its_apply() -> None:
    manifest = load_manifest_text(BASE + "infra: {environments: [shared], approval: false}\n")
    jobs = {j.name: j for j in build_plan(manifest).jobs}
    assert set(jobs) >= {"infra-shared", "apply-shared"}
    assert jobs["apply-shared"].branch == "main" and jobs["apply-shared"].gate is None


def test_rendered_pipelines_pass_both_linters(tmp_path: Path) -> None:
    # `ci-gen lint`: the GitLab CI schema and the Jenkins declarative checks, on the infra-gke output
    work = tmp_path / "app"
    work.mkdir()
    shutil.copy(GOLDEN, work / "ci-gen.yaml")
    shutil.copytree(GKE, work / "infra")
    for args in (["render"], ["lint"]):
        result = subprocess.run([sys.executable, "-m", "ci_gen", *args], cwd=work, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Jenkinsfile: ok" in result.stdout and ".gitlab-ci.yml: ok" in result.stdout


def test_a_hostile_dir_stays_one_value_in_both_pipelines() -> None:
    from ruamel.yaml import YAML

    from ci_gen.generated import render_manifest

    hostile = "infra/it's \"$HOME\" {{x}} `id`"
    text = BASE.replace("[gitlab]", "[gitlab, jenkins]") + f"infra: {{dir: '{hostile.replace(chr(39), chr(39) * 2)}', state: backend}}\n"
    manifest = load_manifest_text(text)
    assert manifest.infra is not None and manifest.infra.dir == hostile
    files = render_manifest(manifest, text.encode()).files
    jobs = YAML(typ="safe", pure=True).load(files[".gitlab-ci.yml"])
    value = jobs["infra-production"]["variables"]["CI_GEN_INFRA_DIR"]
    assert value == {"value": hostile, "expand": False}  # `$HOME` is not expanded by GitLab
    jenkinsfile = files["Jenkinsfile"].decode()
    # a single-quoted Groovy string: no interpolation, only the quote escaped
    assert "CI_GEN_INFRA_DIR = 'infra/it\\'s \"$HOME\" {{x}} `id`'" in jenkinsfile


def test_validate_with_infra_imports_hcl2_and_still_no_other_heavy_library(repo: Path, tmp_path: Path) -> None:
    from tests.test_import_budget import HEAVY, heavy, imported_modules

    modules = imported_modules(["validate"], repo, cache=tmp_path / "cache")
    assert "hcl2" in modules  # the .tf files really were parsed
    assert heavy(modules, tuple(p for p in HEAVY if p not in ("hcl2", "lark"))) == []


def test_ci_gen_run_stops_before_the_first_apply_and_leaves_drift_to_schedules() -> None:
    from ci_gen.run.selection import select_jobs

    pipeline = build_plan(load_manifest(GOLDEN))
    default = [j.name for j in select_jobs(pipeline, (), include_deploy=False, only=False)]
    assert default[-2:] == ["infra-staging", "infra-production"]  # a laptop never applies by default
    assert not [n for n in default if n.startswith(("apply-", "drift-", "deploy-"))]
    everything = [j.name for j in select_jobs(pipeline, (), include_deploy=True, only=False)]
    assert "apply-production" in everything and not [n for n in everything if n.startswith("drift-")]
    assert [j.name for j in select_jobs(pipeline, ("drift-staging",), include_deploy=False, only=True)] == ["drift-staging"]
