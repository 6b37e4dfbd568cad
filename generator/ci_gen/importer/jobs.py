"""From one job (a GitLab job, a Jenkins stage) to facts: the part both readers share."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .facts import DECIDE, Build, Env, Facts, TestJob
from .shell import Action, Command, classify, simple_commands

_ENV_NOISE = {"deploy", "deployment", "to", "release", "rollout", "k8s", "kubernetes", "kubectl", "helm", "apply"}
_TEST_NOISE = {"test", "tests", "run", "running"}


@dataclass
class JobInfo:
    """One job as a reader found it: its commands and the settings that matter to the manifest."""

    name: str
    file: str
    line: int
    commands: list[Command] = field(default_factory=list)
    environment: str | None = None
    namespace: str | None = None
    approval: bool = False
    branch: str | None = None
    gpu: bool = False
    kind: str = "job"  # what the file calls it: a GitLab job, a Jenkins stage
    image: str | None = None  # the container the job ran in, when the file names one
    kubeconfig: str | None = None
    approvers: list[str] = field(default_factory=list)  # Jenkins input submitter: users or groups


def slug(text: str) -> str:
    """A manifest name (`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`) made from free text."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:63].strip("-")


def _name_without(text: str, noise: set[str]) -> str:
    return "-".join(w for w in slug(text).split("-") if w and w not in noise)


def record(job: JobInfo, facts: Facts, variables: dict[str, str]) -> None:
    """Add what `job` does to `facts`; note every command and job that has no place in a manifest."""
    actions = [(command, classify(words, variables)) for command in job.commands
               for words in simple_commands(command.text)]
    kinds = {a.kind for _, a in actions}
    if not kinds & {"build", "test", "scan", "deploy", "helm", "push"}:
        what = "no commands" if not job.commands else "no build, test, scan or deploy command recognised"
        facts.note(job.line, f"{job.kind} {job.name!r}: {what}; ci-gen has no slot for it", file=job.file)
        return
    for command, action in actions:
        if action.kind == "build":
            facts.builds.append(_build(command, action))
        elif action.kind == "scan":
            for key, value in action.scan.items():
                setattr(facts.scan, key, value)
    if kinds & {"deploy", "helm"}:
        _deploy(job, actions, facts)
        return
    if "test" in kinds:
        _test(job, actions, facts)
    else:
        _leftovers(job, actions, facts, {"build", "push", "login", "scan", "quiet"})
    # ci-gen builds, tests and scans every branch without a gate; only deploys have them.
    if job.branch:
        facts.note(job.line, f"{job.kind} {job.name!r} runs only on branch {job.branch!r}: ci-gen builds, tests "
                   "and scans every branch", file=job.file)
    if job.approval:
        facts.note(job.line, f"{job.kind} {job.name!r} waits for a person: ci-gen gates deploys only",
                   file=job.file)


def _build(command: Command, action: Action) -> Build:
    return Build(command.file, command.line, action.builder, action.image, action.dockerfile, action.context,
                 dict(action.build_args))


def _test(job: JobInfo, actions: list[tuple[Command, Action]], facts: Facts) -> None:
    # Setup lines (pip install ...) belong to the test command: ci-gen runs it inside the image.
    lines: list[str] = []
    for command in job.commands:
        mine = [a for c, a in actions if c is command]
        if any(a.kind in ("build", "push", "login", "scan", "container") for a in mine):
            continue
        docker_runs = [a.run for a in mine if a.kind == "test" and a.run and a.words[:1] == ["docker"]]
        lines.append(" && ".join(docker_runs) if docker_runs else command.text)
    gpu = job.gpu or any(a.gpu for _, a in actions)
    name = _name_without(job.name, _TEST_NOISE) or "unit"
    facts.tests.append(TestJob(job.file, job.line, name, "\n".join(_dedupe(lines)), gpu))
    if job.image and "$" not in job.image:
        facts.note(job.line, f"{job.kind} {job.name!r} ran in {job.image}; ci-gen runs `test[].run` inside the "
                   "image it built: the tools the test needs must be in that image", DECIDE, job.file)
    _leftovers(job, actions, facts, {"build", "push", "login", "scan", "quiet", "test", "other"})


def _deploy(job: JobInfo, actions: list[tuple[Command, Action]], facts: Facts) -> None:
    name = slug(job.environment or "") or _name_without(job.name, _ENV_NOISE)
    if not name:
        name = "production"
        facts.note(job.line, f"{job.kind} {job.name!r}: environment name not found; called it 'production'", DECIDE, job.file)
    env = Env(job.file, job.line, name, namespace=job.namespace, approval=job.approval, branch=job.branch,
              kubeconfig=job.kubeconfig, approvers=list(job.approvers))
    for command, action in actions:
        env.namespace = env.namespace or action.namespace
        env.context = env.context or action.kube_context
        env.timeout = env.timeout or action.timeout
        if action.manifests and not env.manifests:
            env.manifests = action.manifests
        if action.kind == "helm":
            facts.note(command.line, f"helm release in {job.kind} {job.name!r}: ci-gen deploys Kubernetes manifests "
                       "(its own, or `deploy.manifests`); render the chart to manifests or keep a helm job outside "
                       "ci-gen", DECIDE, command.file)
    facts.envs.append(env)
    _leftovers(job, actions, facts, {"deploy", "helm", "login", "quiet", "build", "push", "scan"})


def _leftovers(job: JobInfo, actions: list[tuple[Command, Action]], facts: Facts, handled: set[str]) -> None:
    seen: set[int] = set()
    for command, action in actions:
        if action.kind not in handled and id(command) not in seen:
            seen.add(id(command))
            facts.note(command.line, f"{job.kind} {job.name!r}: `{_short(command.text)}`", file=command.file)


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
