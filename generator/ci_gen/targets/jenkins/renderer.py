"""Jenkins dialect: the Pipeline as a declarative Jenkinsfile."""
from __future__ import annotations

from dataclasses import dataclass

from ..plan import OUT_DIR, REPORT_DIR, Credential, Job, Pipeline
from ..templating import render_template

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


def render(pipeline: Pipeline) -> str:
    groups = tuple(_group(pipeline, stage) for stage in pipeline.stages)
    return render_template(
        "jenkins/Jenkinsfile.j2", pipeline=pipeline, groups=groups,
        agent_label=pipeline.runners.jenkins_default, agent_image=pipeline.runners.image_default,
        environment=pipeline.env + pipeline.variables, report_glob=f"{REPORT_DIR}/**",
    )


def _group(pipeline: Pipeline, stage: str) -> JenkinsGroup:
    jobs = pipeline.jobs_in(stage)
    stages = tuple(_stage(pipeline, job) for job in jobs)
    if len(jobs) == 1 and jobs[0].name == stage:
        mode = "single"
    elif len(jobs) == 1 or any(set(j.needs) & {o.name for o in jobs} for j in jobs):
        mode = "sequential"
    else:
        mode = "parallel"
    return JenkinsGroup(stage, mode, stages)


def _stage(pipeline: Pipeline, job: Job) -> JenkinsStage:
    r = pipeline.runners
    label = r.jenkins_gpu if job.gpu else None
    image = r.image_gpu if job.gpu and r.image_gpu else None
    env = job.env + ((("CI_GEN_TEST_IN_IMAGE", "1"),) if job.in_built_image else ())
    producers = [n for n in job.needs if OUT_DIR in pipeline.job(n).artifacts]
    return JenkinsStage(
        name=job.name,
        agent_label=label,
        agent_image=image,
        environment=env,
        bindings=tuple(_binding(c) for c in job.credentials),
        unstash=tuple(producers),
        commands=(job.command,),
        stash_includes=",".join(f"{p}/**" for p in job.artifacts) or None,
        gate=job.gate.message if job.gate else None,
        branch=job.branch,
        skip_on_schedule=job.skip_on_schedule,
        rollback_command=(job.command[0], "rollback") if job.rollback_on_failure else None,
    )


def _binding(credential: Credential) -> Binding:
    kind, variables = BINDINGS[credential.purpose]
    return Binding(kind, credential.id, variables)
