"""Jenkins dialect: the Pipeline as a declarative Jenkinsfile."""
from __future__ import annotations

from dataclasses import dataclass

from ...manifest import Manifest
from ...plan import OUT_DIR, REPORT_DIR, Job, Pipeline
from ...templating import render_template

# How each credential purpose is bound (withCredentials binding, variables it sets).
BINDINGS = {
    "registry": ("usernamePassword", (("usernameVariable", "CI_GEN_REGISTRY_USER"), ("passwordVariable", "CI_GEN_REGISTRY_PASSWORD"))),
    "kubeconfig": ("file", (("variable", "KUBECONFIG"),)),
    "cosign": ("file", (("variable", "COSIGN_KEY"),)),
}


@dataclass(frozen=True)
class Binding:
    kind: str
    credentials_id: str
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class JenkinsStage:
    name: str
    agent_label: str | None  # None: the pipeline's agent
    agent_image: str | None
    environment: tuple[tuple[str, str], ...]
    bindings: tuple[Binding, ...]
    unstash: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    stash_includes: str | None
    gate: str | None
    branch: str | None
    skip_on_schedule: bool
    rollback_command: tuple[str, ...] | None


@dataclass(frozen=True)
class JenkinsGroup:
    name: str
    mode: str  # single | sequential | parallel
    stages: tuple[JenkinsStage, ...]


def render(pipeline: Pipeline, manifest: Manifest) -> str:
    settings = _Settings(_label(manifest.runners.of("jenkins").gpu), dict(manifest.jenkins.credentials))
    groups = tuple(_group(pipeline, settings, stage) for stage in pipeline.stages)
    # A Multibranch project runs this one file on every branch: each schedule only on its own.
    by_branch = pipeline.schedules_by_branch if manifest.jenkins.kind == "multibranch" else ()
    return render_template(
        "jenkins/Jenkinsfile.j2", pipeline=pipeline, groups=groups, crons_by_branch=by_branch,
        agent_label=_label(manifest.runners.of("jenkins").default), agent_image=pipeline.images.default,
        environment=pipeline.env + pipeline.variables, report_glob=f"{REPORT_DIR}/**",
    )


@dataclass(frozen=True)
class _Settings:
    gpu_label: str | None
    credential_ids: dict[str, str]  # purpose -> Jenkins credential id (jenkins.credentials)


def _label(names: tuple[str, ...]) -> str | None:
    return names[0] if names else None


def _group(pipeline: Pipeline, settings: _Settings, stage: str) -> JenkinsGroup:
    jobs = pipeline.jobs_in(stage)
    stages = tuple(_stage(pipeline, settings, job) for job in jobs)
    if len(jobs) == 1 and jobs[0].name == stage:
        mode = "single"
    elif len(jobs) == 1 or any(set(j.needs) & {o.name for o in jobs} for j in jobs):
        mode = "sequential"
    else:
        mode = "parallel"
    return JenkinsGroup(stage, mode, stages)


def _stage(pipeline: Pipeline, settings: _Settings, job: Job) -> JenkinsStage:
    label = settings.gpu_label if job.gpu else None
    image = pipeline.images.gpu if job.gpu and pipeline.images.gpu else None
    env = job.env + ((("CI_GEN_TEST_IN_IMAGE", "1"),) if job.in_built_image else ())
    producers = [n for n in job.needs if OUT_DIR in pipeline.job(n).artifacts]
    return JenkinsStage(
        name=job.name,
        agent_label=label,
        agent_image=image,
        environment=env,
        # A purpose with no configured Jenkins credential id is left to the agent's environment.
        bindings=tuple(Binding(BINDINGS[c.purpose][0], settings.credential_ids[c.purpose], BINDINGS[c.purpose][1])
                       for c in job.credentials if c.purpose in settings.credential_ids),
        unstash=tuple(producers),
        commands=(job.command,),
        stash_includes=",".join(f"{p}/**" for p in job.artifacts) or None,
        gate=job.gate.message if job.gate else None,
        branch=job.branch,
        skip_on_schedule=job.skip_on_schedule,
        rollback_command=(job.command[0], "rollback") if job.rollback_on_failure else None,
    )
