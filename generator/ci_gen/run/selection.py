"""Which jobs of the plan a local run executes, and in which order.

The plan lists jobs so that every job comes after the jobs it needs; the order here is that
list filtered, checked by a topological sort so that a future plan that breaks the rule fails
loudly rather than running a job before its inputs exist.
"""
from __future__ import annotations

from ..errors import UsageError, UserError
from ..plan import Job, Pipeline


def is_deploy(job: Job) -> bool:
    """A job that changes an environment: a deploy, or the apply of its infrastructure."""
    return job.environment is not None or (job.step == "infra" and job.action == "apply")


def select_jobs(pipeline: Pipeline, names: tuple[str, ...], include_deploy: bool, only: bool) -> tuple[Job, ...]:
    """The jobs to run: the named ones with every job they need (or only them with `only`), else
    every job before the first deploy job (every job with `include_deploy`)."""
    known = {job.name for job in pipeline.jobs}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"unknown job {', '.join(unknown)} (jobs: {', '.join(j.name for j in pipeline.jobs)})")
    if names:
        wanted = set(names) if only else _with_needs(pipeline, names)
    else:
        wanted = set()
        for job in pipeline.jobs:
            if is_deploy(job) and not include_deploy:
                break
            if not job.only_on_schedule:  # the drift check runs when named
                wanted.add(job.name)
    return order([job for job in pipeline.jobs if job.name in wanted])


def _with_needs(pipeline: Pipeline, names: tuple[str, ...]) -> set[str]:
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(pipeline.job(name).needs)
    return wanted


def order(jobs: list[Job]) -> tuple[Job, ...]:
    """`jobs` in dependency order; among ready jobs the plan's order decides (deterministic)."""
    selected = {job.name for job in jobs}
    done: list[Job] = []
    finished: set[str] = set()
    remaining = list(jobs)
    while remaining:
        ready = next((j for j in remaining if all(n in finished or n not in selected for n in j.needs)), None)
        if ready is None:
            raise UserError(f"jobs need each other in a cycle: {', '.join(j.name for j in remaining)}")
        remaining.remove(ready)
        done.append(ready)
        finished.add(ready.name)
    return tuple(done)


def dependants(jobs: tuple[Job, ...], failed: str) -> set[str]:
    """Every selected job that needs `failed`, directly or through other jobs."""
    blocked = {failed}
    for job in jobs:
        if set(job.needs) & blocked:
            blocked.add(job.name)
    blocked.discard(failed)
    return blocked
