"""GitHub Actions dialect: the Pipeline as one workflow, a job per plan job.

Approval gates are GitHub environments with required reviewers (set on the repository; the
workflow names the environment). Credentials are repository or environment secrets named by
purpose, so an environment's kubeconfig is only readable by jobs of that environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ...manifest import Manifest
from ...plan import OUT_DIR, Credential, Job, Pipeline
from ...templating import TemplateError, render_template
from ..base import gate_environment, job_environment

# Pinned by commit (a tag can move); the comment names the release.
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"  # v4.6.2
DOWNLOAD = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093"  # v4.3.0
DEFAULT_RUNNER = ("ubuntu-latest",)

# Credential purpose -> secrets read into the step's environment (variable, secret name), and
# for a secret file the variable that names the file written from it.
SECRET_ENV = {
    "registry": (("CI_GEN_REGISTRY_USER", "CI_GEN_REGISTRY_USER"), ("CI_GEN_REGISTRY_PASSWORD", "CI_GEN_REGISTRY_PASSWORD")),
    "infra-state": (("TF_HTTP_USERNAME", "TF_HTTP_USERNAME"), ("TF_HTTP_PASSWORD", "TF_HTTP_PASSWORD")),
}
SECRET_FILES = {"kubeconfig": ("KUBECONFIG", "CI_GEN_KUBECONFIG"), "cosign": ("COSIGN_KEY", "CI_GEN_COSIGN_KEY")}


@dataclass(frozen=True)
class SecretFile:
    variable: str  # names the file for the job's later steps, only when the secret is set
    secret: str

    @property
    def command(self) -> str:
        # An unset secret leaves the variable unset (a step then takes its keyless or default path).
        path = f"$RUNNER_TEMP/ci-gen-{self.variable.lower()}"
        return (f'if [ -n "$CI_GEN_SECRET" ]; then umask 077 && printf \'%s\' "$CI_GEN_SECRET" > "{path}" '
                f'&& echo "{self.variable}={path}" >> "$GITHUB_ENV"; fi')


@dataclass(frozen=True)
class Download:
    name: str
    path: str


@dataclass(frozen=True)
class GithubJob:
    name: str
    runs_on: tuple[str, ...]
    container: str | None
    needs: tuple[str, ...]
    branch: str | None
    skip_on_schedule: bool
    only_on_schedule: bool
    on_failure: bool
    environment: str | None
    deployment: bool  # False: the job only reads the environment's secrets (a verify job)
    env: tuple[tuple[str, str], ...]
    secret_env: tuple[tuple[str, str], ...]
    secret_files: tuple[SecretFile, ...]
    downloads: tuple[Download, ...]
    command: tuple[str, ...]
    upload: tuple[str, ...]
    id_token: bool  # keyless signing: the job may ask GitHub for its OIDC token (cosign finds it)


def render(pipeline: Pipeline, manifest: Manifest) -> str:
    runners = manifest.runners.of("github")
    jobs = []
    for job in pipeline.jobs:
        jobs.append(_job(pipeline, runners.default, runners.gpu, job, job.name, job.command, False))
        if job.rollback_on_failure:
            rollback = (job.command[0], "rollback")
            jobs.append(_job(pipeline, runners.default, runners.gpu, job, f"rollback-{job.environment}", rollback, True))
    return render_template(
        "github/ci-gen.yml.j2", pipeline=pipeline, pipeline_name=manifest.name, jobs=jobs,
        env=pipeline.env + pipeline.variables,
        checkout=CHECKOUT, upload=UPLOAD, download=DOWNLOAD,
    )


def _job(pipeline: Pipeline, default: tuple[str, ...], gpu: tuple[str, ...], job: Job, name: str,
         command: tuple[str, ...], rollback: bool) -> GithubJob:
    images = pipeline.images
    image = images.gpu if job.gpu and images.gpu else (None if job.gpu else images.default)
    env = job.env + ((("CI_GEN_TEST_IN_IMAGE", "1"),) if job.in_built_image else ())
    producers = () if rollback else tuple(n for n in job.needs if OUT_DIR in pipeline.job(n).artifacts)
    return GithubJob(
        name=name,
        runs_on=(gpu if job.gpu else default) or DEFAULT_RUNNER,
        container=image,
        needs=(job.name,) if rollback else job.needs,
        branch=job.branch,
        skip_on_schedule=job.skip_on_schedule,
        only_on_schedule=job.only_on_schedule,
        on_failure=rollback,
        environment=_environment(job),
        deployment=job.environment is not None,
        env=env,
        secret_env=tuple(pair for c in job.credentials for pair in SECRET_ENV.get(c.purpose, ())),
        secret_files=tuple(_secret_file(c) for c in job.credentials if c.purpose in SECRET_FILES),
        downloads=tuple(Download(n, artifact_root(pipeline.job(n))) for n in producers),
        command=command,
        upload=() if rollback else artifact_paths(job),
        id_token=job.id_token is not None and not rollback,
    )


def _environment(job: Job) -> str | None:
    """The GitHub environment the job names: the one whose secrets it reads, and for a gate the
    one whose required reviewers are the gate (the infrastructure apply names the environment it
    changes, with `deployment: false`): a gated job naming none would run unstopped."""
    environment = job_environment(job) or gate_environment(job)
    if job.gate is not None and environment is None:
        raise TemplateError(f"{job.name}: a gated job must name a GitHub environment, and none is known")
    return environment


def _secret_file(credential: Credential) -> SecretFile:
    variable, secret = SECRET_FILES[credential.purpose]
    return SecretFile(variable, secret)


def artifact_paths(job: Job) -> tuple[str, ...]:
    extra = tuple(p for _, p in job.reports if not any(p.startswith(a + "/") for a in job.artifacts))
    return job.artifacts + extra


def artifact_root(job: Job) -> str:
    """Where a download puts the job's artifact back: upload-artifact stores paths relative to
    their deepest common folder (a lone folder's contents relative to itself)."""
    paths = artifact_paths(job)
    if len(paths) == 1:
        return paths[0] if paths[0] in job.artifacts else os.path.dirname(paths[0])
    return os.path.commonpath(paths)
