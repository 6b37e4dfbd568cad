"""Runs the selected jobs one after another, each in its own container, and always cleans up.

Sequential on purpose: one job's log at a time reads like a CI job log, and the order is the
plan's, so a run is reproducible. Every container and volume is labelled with the run's id and
removed right after its job; the `finally` of `run` removes whatever is left on a failure or
Ctrl-C (SIGINT is ignored while it does, so a second Ctrl-C cannot interrupt the cleanup), and
`ci-gen run --clean` finds leftovers of a killed run by the label.
"""
from __future__ import annotations

import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UsageError, UserError
from ..plan import Job, Pipeline
from ..redaction import scrub
from . import environment as envmod
from . import workspace
from .driver import JOB_LABEL, LABEL, ContainerSpec, Driver, Mount
from .selection import dependants, is_deploy

DEFAULT_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class RunOptions:
    root: Path
    project_dir: str  # the workspace path inside the container (GitLab's CI_PROJECT_DIR)
    bind: bool = False
    artifacts_dir: Path | None = None
    variables: tuple[tuple[str, str], ...] = ()
    secrets: dict[str, str] = field(default_factory=dict)
    skip_gpu: bool = False
    network: str = "bridge"
    image: str = DEFAULT_IMAGE  # for jobs whose plan names no image (runners.images unset)
    built_image: str | None = None  # for the jobs that run in the app image; default NAME:<sha>
    extra_files: dict[str, bytes] = field(default_factory=dict)  # rendered files absent on disk


@dataclass
class JobResult:
    name: str
    image: str
    result: str = "not run"  # passed | failed | skipped | interrupted | not run
    duration_s: float = 0.0
    exit_code: int | None = None
    reason: str = ""


@dataclass
class _State:
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    dotenv: dict[str, dict[str, str]] = field(default_factory=dict)
    repo_tar: bytes | None = None


class Runner:
    def __init__(self, pipeline: Pipeline, jobs: tuple[Job, ...], options: RunOptions, driver: Driver,
                 echo: Callable[[str], None]) -> None:
        self.pipeline, self.jobs, self.options, self.driver, self.echo = pipeline, jobs, options, driver, echo
        self.run_id = uuid.uuid4().hex[:10]
        self.git = envmod.git_info(options.root)
        self.results = {job.name: JobResult(job.name, self.image_of(job)) for job in jobs}
        self.interrupted = False
        self._state = _State()
        self._width = max((len(j.name) for j in jobs), default=0)

    def image_of(self, job: Job) -> str:
        if job.in_built_image:
            return self.options.built_image or f"{dict(job.env)['CI_GEN_IMAGE_NAME']}:{self.git_sha}"
        images = self.pipeline.images
        return (images.gpu if job.gpu and images.gpu else images.default) or self.options.image

    @property
    def git_sha(self) -> str:
        return self.git.sha

    def preflight(self) -> None:
        """Stop before any container starts when a job cannot run here (daemon, GPU, cluster)."""
        self.driver.check()
        gpu_jobs = [j.name for j in self.jobs if j.gpu]
        if not gpu_jobs or self.driver.has_nvidia_runtime():
            pass
        elif self.options.skip_gpu:
            for name in gpu_jobs:
                self.results[name].result, self.results[name].reason = "skipped", "GPU job, no NVIDIA runtime (--skip-gpu)"
        else:
            raise UserError(f"{', '.join(gpu_jobs)} need a GPU, but the Docker daemon has no NVIDIA runtime "
                            "(install the NVIDIA Container Toolkit); --skip-gpu runs the other jobs")
        deploys = [j.name for j in self.jobs if is_deploy(j) and j.environment is not None]  # kubectl's
        dry = dict(self.options.variables).get("CI_GEN_DRY_RUN", "") in ("1", "true")
        if deploys and not dry and "KUBECONFIG" not in self.options.secrets:
            raise UserError(f"{', '.join(deploys)} deploy to a Kubernetes cluster, and none is configured: set "
                            "KUBECONFIG (environment or --secret-file) to a kubeconfig whose cluster this machine "
                            "reaches, or rehearse with --var CI_GEN_DRY_RUN=1")

    def run(self) -> dict[str, JobResult]:
        try:
            self.preflight()
            for job in self.jobs:
                result = self.results[job.name]
                if result.result == "skipped":
                    continue
                if job.branch and self.git.branch != job.branch:
                    result.result, result.reason = "skipped", f"runs only on branch {job.branch}"
                    continue
                self._run_job(job, result)
                if result.result == "failed":
                    for name in dependants(self.jobs, job.name):
                        if self.results[name].result == "not run":
                            self.results[name].result = "skipped"
                            self.results[name].reason = f"needs {job.name}, which failed"
        except KeyboardInterrupt:
            self.interrupted = True
            for result in self.results.values():
                if result.result == "running":
                    result.result, result.reason = "interrupted", "interrupted (Ctrl-C)"
        finally:
            self._cleanup()
        return self.results

    def _run_job(self, job: Job, result: JobResult) -> None:
        self.echo(f"== {job.name} ({result.image})")
        result.result = "running"
        started = time.monotonic()
        try:
            code = self._execute(job, result.image)
        except UserError as exc:
            result.result, result.reason = "failed", scrub(str(exc))
            self.echo(f"{job.name}: {result.reason}")
            return
        finally:
            result.duration_s = round(time.monotonic() - started, 3)
        result.exit_code = code
        result.result = "passed" if code == 0 else "failed"
        if code:
            result.reason = f"exit code {code}"

    def _execute(self, job: Job, image: str) -> int:
        name = f"ci-gen-{self.run_id}-{job.name}"
        labels = ((LABEL, self.run_id), (JOB_LABEL, job.name))
        self.driver.ensure_image(image)
        spec = self._spec(job, image, name, labels)
        if not self.options.bind:
            self.driver.create_volume(name, labels)
            self._state.volumes.append(name)
        container = self.driver.create_container(spec)
        self._state.containers.append(container)
        self._copy_in(job, container)
        self.driver.start(container)
        self._stream(job, container)
        code = self.driver.wait(container)
        self._collect(job, container)
        self._remove(container, None if self.options.bind else name)
        return code

    def _spec(self, job: Job, image: str, name: str, labels: tuple[tuple[str, str], ...]) -> ContainerSpec:
        workdir = self.options.project_dir
        dotenv: dict[str, str] = {}
        for need in job.needs:
            dotenv.update(self._state.dotenv.get(need, {}))
        env = envmod.job_environment(self.pipeline, job, self.git, workdir, dotenv, self.options.variables)
        secrets = envmod.secrets_for(self.pipeline, job, self.options.secrets)
        for key in secrets:
            if key in envmod.FILE_CREDENTIALS:
                secrets[key] = f"{envmod.SECRET_DIR}/{key}"
        mount = (Mount(str(self.options.root.resolve()), workdir, bind=True) if self.options.bind
                 else Mount(name, workdir))
        return ContainerSpec(
            name=name, image=image, command=("sh", "-c", " ".join(shlex.quote(p) for p in job.command)),
            env=tuple(env.items()) + tuple(sorted(secrets.items())), workdir=workdir, mounts=(mount,),
            labels=labels, network_mode=self.options.network, gpu=job.gpu, reset_entrypoint=job.in_built_image,
            secret_names=frozenset(secrets))

    def _copy_in(self, job: Job, container: str) -> None:
        """The checkout and the artifacts of the jobs it needs, then file credentials."""
        workdir = self.options.project_dir
        if not self.options.bind:
            if self._state.repo_tar is None:
                self._state.repo_tar = workspace.repository_tar(self.options.root, self.options.extra_files)
            self.driver.put_archive(container, workdir, self._state.repo_tar)
            inputs = [self._state.artifacts[n] for n in job.needs if n in self._state.artifacts]
            if inputs:
                self.driver.put_archive(container, workdir, workspace.merge(inputs))
        for key, value in envmod.secrets_for(self.pipeline, job, self.options.secrets).items():
            if key in envmod.FILE_CREDENTIALS:
                data = _read_host_file(key, value)
                self.driver.put_archive(container, "/", workspace.file_tar(f"{envmod.SECRET_DIR[1:]}/{key}", data))

    def _stream(self, job: Job, container: str) -> None:
        prefix = f"{job.name:<{self._width}} | "
        pending = b""
        for chunk in self.driver.logs(container):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.echo(prefix + scrub(line.decode("utf-8", "replace")))
        if pending:
            self.echo(prefix + scrub(pending.decode("utf-8", "replace")))

    def _collect(self, job: Job, container: str) -> None:
        """What the job left at its artifact and report paths (GitLab keeps them `when: always`)."""
        paths = list(job.artifacts)
        paths += [p for _, p in job.reports if not any(p.startswith(a + "/") for a in job.artifacts)]
        found = []
        for path in paths:
            data = self.driver.get_archive(container, f"{self.options.project_dir}/{path}")
            if data is not None:
                found.append(workspace.reroot(data, path))
        if not found:
            return
        archive = workspace.merge(found)
        self._state.artifacts[job.name] = archive
        for kind, path in job.reports:
            content = workspace.read_member(archive, path) if kind == "dotenv" else None
            if content is not None:
                try:
                    self._state.dotenv[job.name] = envmod.parse_dotenv(content.decode("utf-8", "replace"), path)
                except UsageError as exc:  # GitLab, too, rejects a malformed dotenv report
                    self.echo(f"{job.name}: dotenv report ignored: {scrub(str(exc))}")
        if self.options.artifacts_dir is not None:
            workspace.extract(archive, self.options.artifacts_dir / job.name)

    def _remove(self, container: str, volume: str | None) -> None:
        self.driver.remove_container(container)
        self._state.containers.remove(container)
        if volume is not None:
            self.driver.remove_volume(volume)
            self._state.volumes.remove(volume)

    def _cleanup(self) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for container in list(self._state.containers):
                self.driver.remove_container(container)
            for volume in list(self._state.volumes):
                self.driver.remove_volume(volume)
            self._state.containers.clear()
            self._state.volumes.clear()
        finally:
            signal.signal(signal.SIGINT, previous)


def _read_host_file(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{name}={path}: cannot read the file: {exc.strerror or exc}") from None
