"""`ci-gen sync`: the request checked and turned into SyncOptions; the engine is ci_gen.sync."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .usage import given, refuse

DEFAULT_TIMEOUT = 30.0
DEFAULT_JENKINS_SECTION = "jenkins"


@dataclass(frozen=True)
class Request:
    directory: str | None = None  # -C: single-repository mode
    fleet: str | None = None  # every project of this fleet file instead
    dry_run: bool = False
    check: bool = False
    diff: bool = False
    verify: bool = False
    prune: bool = False
    jobs: int = 4
    shard: str | None = None  # "I/N", fleets only
    timeout: float | None = None  # None: DEFAULT_TIMEOUT
    gitlab_mode: str | None = None
    jenkins_definition: str | None = None
    only: str | None = None
    report: str | None = None
    junit: str | None = None
    gitlab_config: tuple[str, ...] = ()
    gitlab_id: str | None = None
    jenkins_ini: str | None = None
    jenkins_section: str | None = None  # None: DEFAULT_JENKINS_SECTION
    progress: bool | None = None
    fmt: str = "text"


def run(request: Request) -> int:
    _check_usage(request)
    from ..sync.main import run_sync
    from ..sync.options import SyncOptions, parse_shard

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    return run_sync(SyncOptions(
        fleet=path(request.fleet), repo=Path(request.directory or "."), dry_run=request.dry_run,
        check=request.check, diff=request.diff, verify=request.verify, prune=request.prune, jobs=request.jobs,
        shard=parse_shard(request.shard) if request.shard else None, timeout=request.timeout or DEFAULT_TIMEOUT,
        report=path(request.report), junit=path(request.junit), output=request.fmt, progress=request.progress,
        gitlab_config=request.gitlab_config, gitlab_id=request.gitlab_id, jenkins_ini=path(request.jenkins_ini),
        jenkins_section=request.jenkins_section or DEFAULT_JENKINS_SECTION, gitlab_mode=request.gitlab_mode,
        jenkins_definition=request.jenkins_definition, only=request.only))


def _check_usage(request: Request) -> None:
    """The sync engine checks what needs the fleet file (--prune, --shard ranges); this refuses the
    flags a mode would drop."""
    no_jenkins = given([("--verify", request.verify), ("--prune", request.prune),
                        ("--jenkins-definition", request.jenkins_definition), ("--jenkins-ini", request.jenkins_ini),
                        ("--jenkins-section", request.jenkins_section)])
    refuse([
        (request.fleet is not None and request.directory is not None,
         "-C DIR syncs one checkout; --fleet FILE syncs the fleet's projects: give one of them"),
        (request.fleet is None and request.shard is not None, "--shard splits a fleet: it needs --fleet"),
        (request.diff and request.fmt == "json",
         "--diff prints diffs with the text summary; -o json reports the changes without them"),
        (request.only == "gitlab" and bool(no_jenkins),
         f"{', '.join(no_jenkins)}: Jenkins only, and --only gitlab writes no Jenkins job"),
        (request.only == "jenkins" and request.gitlab_mode is not None,
         "--mode: GitLab only, and --only jenkins writes nothing to GitLab"),
    ])
