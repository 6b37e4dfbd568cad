"""infra_jobs.py: the Terraform / OpenTofu jobs of the plan. When an apply is gated, which branch
it runs from, and what state credentials it binds (the placement before each deploy is in
test_plan.py; the rendered pipelines in tests/test_infra.py)."""
from __future__ import annotations

from ci_gen.infra_jobs import apply_branch, apply_job, infra_jobs, plan_files
from ci_gen.plan import Credential, build_plan
from tests.unit.manifests import manifest

DEPLOY = """\
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}, approval: true, branch: release}
    - {name: production, kubernetes: {namespace: ml}}
"""


def test_each_plan_file_is_per_environment_and_the_binary_plan_is_passed_on_not_shown() -> None:
    files = plan_files("prod")
    assert files == {"CI_GEN_INFRA_PLAN": ".ci-gen/out/infra/prod.tfplan",
                     "CI_GEN_INFRA_PLAN_JSON": ".ci-gen/reports/infra/prod.plan.json",
                     "CI_GEN_INFRA_REPORT": ".ci-gen/reports/infra/prod.tfreport.json"}
    assert plan_files("a") != plan_files("b")


def test_no_infra_means_no_jobs_and_no_branch_rule_change() -> None:
    m = manifest(DEPLOY)
    assert infra_jobs(m) == [] and apply_job(m, "staging", "staging", True, None) is None
    assert apply_branch(m, "staging", None) is None and apply_branch(m, "staging", "x") == "x"


def test_an_apply_is_gated_by_a_gated_deploy_or_a_production_tier_unless_approval_is_off() -> None:
    m = manifest(DEPLOY, "infra: {environments: [staging, production], state: backend}\n")
    plan = build_plan(m)
    assert plan.job("apply-staging").gate is not None  # its deploy waits for a person: so does the apply
    assert plan.job("apply-production").gate is not None  # production tier, even with an ungated deploy
    off = build_plan(manifest(DEPLOY, "infra: {environments: [staging, production], state: backend, "
                                      "approval: false}\n"))
    assert off.job("apply-staging").gate is None and off.job("apply-production").gate is None


def test_the_environments_own_branch_wins_over_the_infra_branch() -> None:
    m = manifest(DEPLOY, "infra: {environments: [staging, production], state: backend, branch: trunk}\n")
    plan = build_plan(m)
    assert plan.job("apply-staging").branch == plan.job("deploy-staging").branch == "release"
    # production waits for staging, so it inherits release rather than falling back to trunk
    assert plan.job("apply-production").branch == "release"
    assert apply_branch(m, "production", None) == "trunk" and apply_branch(m, "elsewhere", None) is None


def test_gitlab_state_binds_the_state_credential_and_names_the_project() -> None:
    m = manifest("gitlab: {project: ml/app}\njenkins: {credentials: {infra-state: tf}}\n",
                 "infra: {environments: [staging], state: gitlab}\n")
    jobs = {j.name: j for j in infra_jobs(m)}
    for job in jobs.values():
        assert job.credentials == (Credential("infra-state"),)
        assert dict(job.env)["CI_GEN_INFRA_STATE_PROJECT"] == "ml/app"
    backend = infra_jobs(manifest("infra: {environments: [staging], state: backend}\n"))
    assert all(j.credentials == () and "CI_GEN_INFRA_STATE_PROJECT" not in dict(j.env) for j in backend)


def test_plan_and_apply_read_the_same_saved_plan_from_the_configured_folder() -> None:
    m = manifest("infra: {environments: [staging], state: backend, dir: infra/live/, tool: tofu}\n")
    jobs = {j.name: dict(j.env) for j in infra_jobs(m)}
    assert jobs["infra-staging"]["CI_GEN_INFRA_PLAN"] == jobs["apply-staging"]["CI_GEN_INFRA_PLAN"]
    assert jobs["infra-staging"]["CI_GEN_INFRA_DIR"] == "infra/live"
    assert jobs["apply-staging"]["CI_GEN_INFRA_TOOL"] == "tofu"
