"""`ci-gen run`: run the plan's jobs locally in containers (see docs/run.md)."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Callable

from ..errors import ManifestError, UserError
from ..manifest import Manifest, load_manifest
from ..output import emit, emit_json, emit_live, emit_rich, problem_dicts
from ..fingerprint import STEPS_DIR
from ..plan import Job, Pipeline, build_plan
from ..redaction import scrub
from ..run import environment as envmod
from ..run.driver import Driver, DryRunDriver
from ..run.runner import DEFAULT_IMAGE, RunOptions, Runner
from ..run.selection import select_jobs
from ..run.summary import exit_code, payload, table
from ..workspace import Workspace, workspace
from .usage import given, refuse


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C
    manifest: str | None = None  # -f
    jobs: tuple[str, ...] = ()
    include_deploy: bool = False
    only: bool = False
    list_jobs: bool = False
    dry_run: bool = False
    clean: bool = False
    bind: bool = False
    artifacts: str | None = None
    variables: tuple[str, ...] = ()
    secret_file: str | None = None
    skip_gpu: bool = False
    network: str = "bridge"
    image: str = DEFAULT_IMAGE
    built_image: str | None = None
    fmt: str = "text"


def run(request: Request) -> int:
    _check_usage(request)
    echo = _echo(request.fmt)
    if request.clean:  # reads no manifest: it removes what a killed run left, wherever it is started
        return _clean(request, echo)
    ws = workspace(request.directory, request.manifest, find=True)
    try:
        manifest = load_manifest(ws.manifest_path, ws.root, ws.display)
    except ManifestError as exc:
        emit(request.fmt, [str(p) for p in exc.problems], {"ok": False, "problems": problem_dicts(exc.problems)}, err=True)
        return 1
    pipeline = build_plan(manifest)
    jobs = select_jobs(pipeline, request.jobs, request.include_deploy, request.only)
    if request.list_jobs:
        return _list(pipeline, jobs, request)
    options = _options(ws, request, pipeline, jobs, manifest)
    runner = Runner(pipeline, jobs, options, _driver(request, echo), echo)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C
    try:
        results = runner.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if request.dry_run:  # nothing ran: say so rather than "passed"
        for result in results.values():
            result.result = "planned" if result.result == "passed" else result.result
    data = payload(results, runner.interrupted, request.dry_run)
    if request.fmt == "json":
        emit_json(data)
    else:
        # Not a terminal (CI logs, pipes): wide enough that the image and the note are not cut.
        emit_rich([table(results)], width=200, terminal_width=True)
    return exit_code(results, runner.interrupted)


def _check_usage(request: Request) -> None:
    """--clean and --list do one thing each; the options of a run are refused there, not dropped."""
    running = [("--bind", request.bind), ("--artifacts", request.artifacts), ("--var", request.variables),
               ("--secret-file", request.secret_file), ("--skip-gpu", request.skip_gpu)]
    if request.clean:
        ignored = given([("job names", request.jobs), ("-C", request.directory), ("-f", request.manifest),
                         ("--list", request.list_jobs), ("--only", request.only),
                         ("--include-deploy", request.include_deploy), ("--built-image", request.built_image),
                         *running])
        refuse([(bool(ignored), f"--clean removes what any killed run left and reads no manifest: "
                                f"{', '.join(ignored)} cannot go with it")])
    listed = given([("--dry-run", request.dry_run), *running])
    refuse([(request.list_jobs and bool(listed), f"--list runs nothing: {', '.join(listed)} cannot go with it"),
            (request.only and not request.jobs, "--only runs the named jobs alone: name the jobs")])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _echo(fmt: str) -> Callable[[str], None]:
    """Live output: stdout for people, stderr when stdout carries the JSON result."""
    def echo(line: str) -> None:
        emit_live(line, err=fmt == "json")
    return echo


def _driver(request: Request, echo: Callable[[str], None]) -> Driver:
    if request.dry_run:
        return DryRunDriver(echo)
    from ..run.docker_driver import DockerDriver

    return DockerDriver()


def _clean(request: Request, echo: Callable[[str], None]) -> int:
    containers, volumes, networks = _driver(request, echo).clean()
    emit(request.fmt, [f"removed {containers} containers, {volumes} volumes, {networks} networks"],
         {"ok": True, "removed": {"containers": containers, "volumes": volumes, "networks": networks}})
    return 0


def _list(pipeline: Pipeline, jobs: tuple[Job, ...], request: Request) -> int:
    runner_image = {j.name: _listed_image(pipeline, j, request) for j in jobs}
    lines = [f"{j.name}  image={runner_image[j.name]}  needs={','.join(j.needs) or '-'}"
             + ("  gpu" if j.gpu else "") + (f"  deploys={j.environment}" if j.environment else "") for j in jobs]
    emit(request.fmt, [scrub(line) for line in lines], {"jobs": [
        {"name": j.name, "stage": j.stage, "image": runner_image[j.name], "needs": list(j.needs), "gpu": j.gpu,
         "environment": j.environment} for j in jobs]})
    return 0


def _listed_image(pipeline: Pipeline, job: Job, request: Request) -> str:
    if job.in_built_image:
        return request.built_image or f"{dict(job.env)['CI_GEN_IMAGE_NAME']}:<commit sha>"
    images = pipeline.images
    return (images.gpu if job.gpu and images.gpu else images.default) or request.image


def _options(ws: Workspace, request: Request, pipeline: Pipeline, jobs: tuple[Job, ...],
             manifest: Manifest) -> RunOptions:
    from ..generated import render_manifest  # the step scripts, for a checkout that lacks .ci-gen/

    from_file = envmod.read_secret_file(Path(request.secret_file)) if request.secret_file else {}
    secrets = envmod.collect_secrets(pipeline, jobs, from_file, dict(os.environ))
    rendered = render_manifest(manifest, ws.manifest_path.read_bytes())
    if request.bind:
        missing = sorted(p for p in rendered.files if p.startswith(STEPS_DIR) and not (ws.root / p).is_file())
        if missing:
            raise UserError(f"--bind runs the files on disk, and {missing[0]} is missing: run `ci-gen render` first")
    return RunOptions(
        root=ws.root, project_dir=f"/builds/{manifest.gitlab.project or manifest.name}", bind=request.bind,
        artifacts_dir=Path(request.artifacts) if request.artifacts else None,
        variables=envmod.parse_assignments(request.variables, "--var"), secrets=secrets,
        skip_gpu=request.skip_gpu, network=request.network, image=request.image, built_image=request.built_image,
        extra_files=rendered.files)
