"""The `infra:` jobs of the pipeline plan: per environment a Terraform / OpenTofu plan whose saved
binary plan is applied, unchanged, after the gate and only from the environment's branch; and an
optional drift check on the schedule.

Kept apart from plan.py (one job each); plan.py places the apply of an environment that is also
deployed right before its deploy, which then waits for it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .tiers import guess_tier

if TYPE_CHECKING:
    from .manifest import Approval, Manifest
    from .plan import Credential, Job

INFRA_OUT = ".ci-gen/out/infra"  # binary plans: passed to the apply job, never shown
INFRA_REPORTS = ".ci-gen/reports/infra"  # plan JSON and the GitLab Terraform report: archived, shown


def plan_files(env: str) -> dict[str, str]:
    """Where the step writes each file of environment `env`'s plan."""
    return {
        "CI_GEN_INFRA_PLAN": f"{INFRA_OUT}/{env}.tfplan",
        "CI_GEN_INFRA_PLAN_JSON": f"{INFRA_REPORTS}/{env}.plan.json",
        "CI_GEN_INFRA_REPORT": f"{INFRA_REPORTS}/{env}.tfreport.json",
    }


def infra_jobs(manifest: Manifest) -> list[Job]:
    """Plan jobs, drift checks, and the applies of environments that are not deployed."""
    from .plan import Job, OUT_DIR, REPORT_DIR

    infra = manifest.infra
    if infra is None:
        return []
    deployed = {e.name for e in manifest.deploy.environments} if manifest.deploy else set()
    jobs = [Job(name=f"infra-{env}", stage="infra", step="infra", action="plan", env=_env(manifest, env),
                credentials=_state_credentials(manifest), artifacts=(OUT_DIR, REPORT_DIR),
                reports=(("terraform", plan_files(env)["CI_GEN_INFRA_REPORT"]),
                         ("terraform_plan", plan_files(env)["CI_GEN_INFRA_PLAN"])), skip_on_schedule=True)
            for env in infra.environments]
    if infra.drift:
        jobs += [Job(name=f"drift-{env}", stage="infra-drift", step="infra", action="drift",
                     env=_env(manifest, env), credentials=_state_credentials(manifest), only_on_schedule=True)
                 for env in infra.environments]
    for env in infra.environments:
        if env not in deployed:
            job = apply_job(manifest, env, guess_tier(env), None, infra.branch)
            assert job is not None
            jobs.append(job)
    return jobs


def apply_branch(manifest: Manifest, env: str, branch: str | None) -> str | None:
    """The branch rule of environment `env`'s deploy: an apply never runs from a feature branch,
    so a deploy that waits for one takes the infra branch when it names none of its own."""
    infra = manifest.infra
    if infra is None or env not in infra.environments:
        return branch
    return branch or infra.branch


def apply_job(manifest: Manifest, env: str, tier: str, approval: Approval | None, branch: str | None) -> Job | None:
    """`apply-<env>`: exactly the plan `infra-<env>` saved; None when `env` has no infrastructure.

    `approval` is the environment's deploy approval: its approvers and timeout stand for the
    apply too (a production plan is no less sensitive than the deploy it prepares)."""
    from .plan import Gate, Job

    infra = manifest.infra
    if infra is None or env not in infra.environments:
        return None
    protected = approval is not None or tier == "production"
    message = f"Apply the infrastructure plan of {manifest.name} to {env}?"
    gate = None
    if infra.approval and protected:
        gate = Gate(message, approval.submitters, approval.timeout) if approval else Gate(message)
    return Job(name=f"apply-{env}", stage=f"apply-{env}", step="infra", action="apply", needs=(f"infra-{env}",),
               env=_env(manifest, env), credentials=_state_credentials(manifest), gate=gate, branch=branch,
               skip_on_schedule=True)


def _env(manifest: Manifest, env: str) -> tuple[tuple[str, str], ...]:
    infra = manifest.infra
    assert infra is not None
    values = [("CI_GEN_INFRA_TOOL", infra.tool), ("CI_GEN_INFRA_DIR", infra.dir), ("CI_GEN_INFRA_ENV", env),
              ("CI_GEN_INFRA_STATE", infra.state)]
    if infra.state == "gitlab" and manifest.gitlab.project:
        values.append(("CI_GEN_INFRA_STATE_PROJECT", manifest.gitlab.project))  # Jenkins: no CI_PROJECT_ID
    return tuple(values) + tuple(plan_files(env).items())


def _state_credentials(manifest: Manifest) -> tuple[Credential, ...]:
    from .plan import Credential

    if manifest.infra is None or manifest.infra.state != "gitlab":
        return ()
    return (Credential("infra-state"),)  # each target maps the purpose (Jenkins: jenkins.credentials)
