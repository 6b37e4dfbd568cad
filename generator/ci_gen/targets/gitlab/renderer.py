"""GitLab CI dialect: the Pipeline as `.gitlab-ci.yml` job definitions."""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from ...manifest import Manifest, RunnerRoles
from ...plan import Images, Job, Pipeline
from ...templating import render_template
from ..base import gate_environment, job_environment

# GitLab report kinds it shows in merge requests; the others are kept as plain artifacts.
NATIVE_REPORTS = ("dotenv", "container_scanning", "secret_detection", "cyclonedx", "junit", "terraform")


@dataclass(frozen=True)
class GitlabJob:
    name: str
    stage: str
    tags: tuple[str, ...]
    image: str | None
    image_entrypoint_reset: bool
    needs: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]
    script: str
    artifact_paths: tuple[str, ...]
    reports: tuple[tuple[str, str], ...]
    rules: tuple[tuple[str, str], ...]  # (if-expression or "", when)
    environment: str | None
    environment_action: str | None
    resource_group: str | None  # deploys and rollbacks of one environment never overlap
    tier: str | None  # deployment_tier: what GitLab's environment views and protection rules key on
    blocking_manual: bool
    id_token: str | None = None


def render(pipeline: Pipeline, manifest: Manifest) -> str:
    runners = manifest.runners.of("gitlab")
    jobs = []
    for job in pipeline.jobs:
        jobs.append(_job(pipeline.images, runners, job, job.name, job.command, "when_ok"))
        if job.rollback_on_failure:
            rollback = (job.command[0], "rollback")
            jobs.append(_job(pipeline.images, runners, job, f"rollback-{job.environment}", rollback, "on_failure"))
    return render_template(
        "gitlab/gitlab-ci.yml.j2", pipeline=pipeline, jobs=jobs,
        variables=pipeline.env + pipeline.variables,
    )


def _job(images: Images, runners: RunnerRoles, job: Job, name: str, command: tuple[str, ...], mode: str) -> GitlabJob:
    if job.in_built_image:
        image: str | None = job_image_ref(job)
    else:
        image = images.gpu if job.gpu and images.gpu else images.default
    reports = tuple((k, p) for k, p in job.reports if k in NATIVE_REPORTS)
    extra = tuple(p for k, p in job.reports if k not in NATIVE_REPORTS and not _covered(p, job.artifacts))
    paths = job.artifacts + extra
    is_rollback = mode == "on_failure"
    environment, action = _environment(job, is_rollback)
    return GitlabJob(
        name=name,
        stage=job.stage,
        tags=runners.gpu if job.gpu else runners.default,
        image=image,
        image_entrypoint_reset=job.in_built_image,
        needs=(job.name,) if is_rollback else job.needs,
        variables=job.env,
        script=" ".join(shlex.quote(part) for part in command),
        artifact_paths=() if is_rollback else paths,
        reports=() if is_rollback else reports,
        rules=_rules(job, mode),
        environment=environment,
        environment_action=action,
        resource_group=None if job.environment is None else f"deploy-{job.environment}",
        tier=job.tier,
        blocking_manual=job.gate is not None and not is_rollback,
        id_token=None if is_rollback else job.id_token,
    )


def _environment(job: Job, is_rollback: bool) -> tuple[str | None, str | None]:
    """(environment name, `environment:action`) of the job."""
    if job.environment is not None:
        return job.environment, ("access" if is_rollback else "start")
    held = job_environment(job)
    if held is not None:
        # GitLab gives environment-scoped variables (the kubeconfig, docs/sync.md) only to jobs
        # naming the environment. `verify` (GitLab 15.0+): those variables without a deployment
        # record, so the environment's last deployment stays the deploy job's. `prepare` and
        # `access` behave the same today, but `verify` says what the job does, and GitLab plans
        # to tie approvals to `prepare` (gitlab-org/gitlab#437132), not to `verify` (#437142).
        return held, "verify"
    gated = gate_environment(job)
    if gated is not None:
        # A manual job alone is a button anyone with Developer access can press; naming the
        # environment puts the gated infrastructure apply under the environment's protection
        # (only its deployers run its jobs). `prepare`: it readies the environment without
        # deploying the app, so no deployment record; GitLab plans to hold it for the
        # environment's approvals as well (gitlab-org/gitlab#437132).
        return gated, "prepare"
    return None, None


def job_image_ref(job: Job) -> str:
    name = dict(job.env)["CI_GEN_IMAGE_NAME"]
    return f"{name}:$CI_COMMIT_SHA"


def _rules(job: Job, mode: str) -> tuple[tuple[str, str], ...]:
    rules: list[tuple[str, str]] = []
    if job.only_on_schedule:
        return (('$CI_PIPELINE_SOURCE == "schedule"', "on_success"), ("", "never"))
    if job.skip_on_schedule:
        rules.append(('$CI_PIPELINE_SOURCE == "schedule"', "never"))
    when = "on_failure" if mode == "on_failure" else ("manual" if job.gate else "on_success")
    if job.branch:
        rules.append((f'$CI_COMMIT_BRANCH == "{job.branch}"', when))
        rules.append(("", "never"))
    elif rules or when != "on_success":
        rules.append(("", when))
    return tuple(rules)


def _covered(path: str, folders: tuple[str, ...]) -> bool:
    return any(path.startswith(folder + "/") for folder in folders)
