"""`ci-gen fleet-pipeline FLEET_FILE`: write the platform repository's own pipeline (scheduled,
sharded sync, prune, drift alarm, deployment report); the files are made by ci_gen.fleet_pipeline."""
from __future__ import annotations

from dataclasses import dataclass

from ..output import emit


@dataclass(frozen=True)
class Request:
    fleet: str
    out: str | None = None  # None: the current directory (the platform repository)
    force: bool = False  # replace a pipeline there that ci-gen did not write
    shards: int = 1
    sync_cron: str = "0 */4 * * *"
    drift_cron: str = "30 7 * * 1-5"
    report_cron: str = "0 6 * * *"
    jobs: int = 8  # workers inside each shard
    prune: bool = True
    image: str = "python:3.11-slim"
    runner_tags: tuple[str, ...] = ()  # (): docker
    jenkins_label: str = "linux"
    fmt: str = "text"


def run(request: Request) -> int:
    from pathlib import Path

    from ..fleet_pipeline import FleetPipelineOptions, write_fleet_pipeline
    from ..paths import check_out_dir

    out = check_out_dir(request.out) if request.out else Path(".")
    options = FleetPipelineOptions(shards=request.shards, sync_cron=request.sync_cron, drift_cron=request.drift_cron,
                                   report_cron=request.report_cron, jobs=request.jobs, prune=request.prune,
                                   image=request.image, runner_tags=request.runner_tags or ("docker",),
                                   jenkins_label=request.jenkins_label)
    written = write_fleet_pipeline(Path(request.fleet), out, options, request.force)
    emit(request.fmt, [f"wrote {path}" for path in written], {"ok": True, "written": [str(p) for p in written]})
    return 0
