"""CircleCI dialect: the Pipeline as a 2.1 config, one job per plan job and one workflow.

Approval gates are `type: approval` jobs the deploy job requires. Credentials come from the
project's environment variables, and an environment's own from a context named
`ci-gen-<environment>` (restrict it to the approvers' security group). Scheduled pipelines are
a second workflow with the schedule triggers, holding only the jobs schedules may run.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from ...manifest import Manifest
from ...plan import OUT_DIR, REPORT_DIR, Job, Pipeline
from ...templating import render_template
from ..base import gate_environment, job_environment

MACHINE_IMAGE = "ubuntu-2204:current"
GPU_MACHINE_IMAGE = "linux-cuda-12:default"
DEFAULT_CLASS = "medium"
# Credential purpose -> (variable naming the file for the step, variable holding its content)
SECRET_FILES = {"kubeconfig": ("KUBECONFIG", "CI_GEN_KUBECONFIG"), "cosign": ("COSIGN_KEY", "CI_GEN_COSIGN_KEY")}


@dataclass(frozen=True)
class SecretFile:
    variable: str  # names the file for the job's later steps, only when the secret is set
    source: str  # project or context variable holding the file's content
    path: str

    @property
    def command(self) -> str:
        # An unset variable leaves the file variable unset (a step then takes its keyless or default path).
        return (f'if [ -n "${{{self.source}:-}}" ]; then umask 077 && printf \'%s\' "${self.source}" > {self.path} '
                f'&& echo "export {self.variable}={self.path}" >> "$BASH_ENV"; fi')


@dataclass(frozen=True)
class CircleJob:
    name: str
    machine_image: str | None  # else a docker executor with `docker_image`
    docker_image: str | None
    resource_class: str
    environment: tuple[tuple[str, str], ...]
    attach: bool
    secret_files: tuple[SecretFile, ...]
    command: tuple[str, ...]
    rollback_command: tuple[str, ...] | None
    persist: bool
    store: bool
    test_results: bool  # JUnit reports for CircleCI's test view
    oidc_command: str | None  # keyless signing: puts the job's OIDC token in SIGSTORE_ID_TOKEN


@dataclass(frozen=True)
class WorkflowEntry:
    job: str
    approval: bool
    requires: tuple[str, ...]
    branch: str | None
    context: str | None


def render(pipeline: Pipeline, manifest: Manifest) -> str:
    runners = manifest.runners.of("circleci")
    default = runners.default[0] if runners.default else DEFAULT_CLASS
    gpu = runners.gpu[0] if runners.gpu else DEFAULT_CLASS
    jobs = tuple(_job(pipeline, default, gpu, job) for job in pipeline.jobs)
    scheduled = {j.name for j in pipeline.jobs if not j.skip_on_schedule}
    pushed = {j.name for j in pipeline.jobs if not j.only_on_schedule}
    return render_template(
        "circleci/config.yml.j2", jobs=jobs, env=pipeline.env + pipeline.variables,
        workflow=_workflow(tuple(j for j in pipeline.jobs if j.name in pushed), pushed),
        scheduled=_workflow(tuple(j for j in pipeline.jobs if j.name in scheduled), scheduled),
        triggers=tuple((branch, cron) for branch, crons in pipeline.schedules_by_branch for cron in crons),
        out_dir=OUT_DIR, report_dir=REPORT_DIR,
    )


def _job(pipeline: Pipeline, default: str, gpu: str, job: Job) -> CircleJob:
    images = pipeline.images
    image = images.gpu if job.gpu and images.gpu else (None if job.gpu else images.default)
    env = job.env + ((("CI_GEN_TEST_IN_IMAGE", "1"),) if job.in_built_image else ())
    files = tuple(SecretFile(*SECRET_FILES[c.purpose], f"/tmp/ci-gen-{c.purpose}")
                  for c in job.credentials if c.purpose in SECRET_FILES)
    return CircleJob(
        name=job.name,
        machine_image=None if image else (GPU_MACHINE_IMAGE if job.gpu else MACHINE_IMAGE),
        docker_image=image,
        resource_class=gpu if job.gpu else default,
        environment=env,
        attach=any(OUT_DIR in pipeline.job(n).artifacts for n in job.needs),
        secret_files=files,
        command=job.command,
        rollback_command=(job.command[0], "rollback") if job.rollback_on_failure else None,
        persist=OUT_DIR in job.artifacts,
        store=REPORT_DIR in job.artifacts,
        test_results=any(kind == "junit" for kind, _ in job.reports),
        oidc_command=_oidc_command(job.id_token) if job.id_token else None,
    )


def _oidc_command(audience: str) -> str:
    # CircleCI's OIDC token with the audience cosign expects, for the later steps of the job.
    claims = shlex.quote(json.dumps({"aud": audience}))
    return f"printf 'export SIGSTORE_ID_TOKEN=%s\\n' \"$(circleci run oidc get --claims {claims})\" >> \"$BASH_ENV\""


def _workflow(jobs: tuple[Job, ...], present: set[str] | None) -> tuple[WorkflowEntry, ...]:
    entries = []
    for job in jobs:
        requires = tuple(n for n in job.needs if present is None or n in present)
        # An environment's credentials live in its context: a deploy gets its own, and so does a
        # job holding one of them (verify reads the kubeconfig). A gated job gets the context of
        # the environment it changes (the infrastructure apply), since a restricted context is
        # what limits who may approve: the job runs only if its approver is in the context's group.
        environment = job_environment(job) or gate_environment(job)
        context = f"ci-gen-{environment}" if environment else None
        if job.gate is not None:
            approval = f"approve-{job.name}"
            entries.append(WorkflowEntry(approval, True, requires, job.branch, None))
            requires += (approval,)
        entries.append(WorkflowEntry(job.name, False, requires, job.branch, context))
    return tuple(entries)
