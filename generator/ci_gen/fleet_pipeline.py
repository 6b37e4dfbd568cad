"""`ci-gen render --fleet`: the platform repository's own pipeline that keeps the fleet in step.

A scheduled `ci-gen sync --fleet`, sharded over N parallel jobs of the CI system itself (the CI
server is the distributed engine: each job syncs `--shard i/N`), an unsharded prune, and the drift
check (`--check`) as a separate alarm, and the scheduled deployment report (`ci-gen report
--fleet`, its HTML, JSON and OpenMetrics files kept as artifacts). Written for GitLab
(`.gitlab-ci.yml`) and Jenkins (`Jenkinsfile`, `Jenkinsfile.drift`, `Jenkinsfile.report`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import UsageError
from .templating import render_template, sh_quote

FILES = {".gitlab-ci.yml": "fleet/gitlab-ci.yml.j2", "Jenkinsfile": "fleet/Jenkinsfile.j2",
         "Jenkinsfile.drift": "fleet/Jenkinsfile.drift.j2", "Jenkinsfile.report": "fleet/Jenkinsfile.report.j2"}
REPORT_CACHE = ".ci-gen-report-cache/report.sqlite"


@dataclass(frozen=True)
class FleetPipelineOptions:
    shards: int = 1
    sync_cron: str = "0 */4 * * *"
    drift_cron: str = "30 7 * * 1-5"
    report_cron: str = "0 6 * * *"
    jobs: int = 8  # worker threads inside each shard
    prune: bool = True
    image: str = "python:3.11-slim"
    runner_tags: tuple[str, ...] = ("docker",)
    jenkins_label: str = "linux"
    package: str = f"ci-gen=={__version__}"


def render_fleet_pipeline(fleet: Path, out: Path, options: FleetPipelineOptions) -> dict[str, bytes]:
    """The platform pipeline files for `fleet` (validated first), keyed by path relative to `out`."""
    from .sync.fleet import load_fleet

    if options.shards < 1:
        raise UsageError("--shards must be at least 1")
    load_fleet(fleet)  # a broken fleet file must fail here, not on the schedule
    fleet_arg = sh_quote(Path(os.path.relpath(fleet.resolve(), out.resolve())).as_posix())
    base = f"ci-gen sync --fleet {fleet_arg} --jobs {options.jobs}"
    gitlab_shard = ' --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' if options.shards > 1 else ""
    index = "$CI_NODE_INDEX" if options.shards > 1 else "1"
    context = {
        "shards": options.shards, "prune": options.prune, "sync_cron": options.sync_cron,
        "drift_cron": options.drift_cron, "image": options.image, "tags": list(options.runner_tags),
        "label": options.jenkins_label, "install": f"pip install --quiet {sh_quote(options.package)}",
        "sync_command": f"{base}{gitlab_shard} --report sync-report-{index}.json --junit sync-junit-{index}.xml",
        "prune_command": f"ci-gen sync --fleet {fleet_arg} --jobs {options.jobs} --only jenkins --prune "
                         "--report prune-report.json",
        "drift_command": f"{base} --check --report drift-report.json --junit drift-junit.xml",
        "report_cron": options.report_cron,
        "report_install": f"pip install --quiet {sh_quote(_with_extra(options.package, 'report'))}",
        "report_command": f"ci-gen report --fleet {fleet_arg} --jobs {options.jobs} --cache {REPORT_CACHE} "
                          "--html deploy-report.html --json deploy-report.json --openmetrics deploy-report.prom",
        "shard_commands": [
            {"name": f"shard {i}/{options.shards}", "junit": f"sync-junit-{i}.xml",
             "command": f"{base} --shard {i}/{options.shards} --report sync-report-{i}.json "
                        f"--junit sync-junit-{i}.xml"}
            for i in range(1, options.shards + 1)],
    }
    return {path: render_template(template, **context).encode("utf-8") for path, template in FILES.items()}


def _with_extra(package: str, extra: str) -> str:
    """`ci-gen==0.1.0` -> `ci-gen[report]==0.1.0`: the report needs statsmodels and altair."""
    name, sep, rest = package.partition("==")
    return f"{name}[{extra}]{sep}{rest}" if "[" not in name else package


def write_fleet_pipeline(fleet: Path, out: Path, options: FleetPipelineOptions) -> list[Path]:
    """Write the files (atomically each, never through a symlink leaving `out`); return their paths."""
    from .paths import write_file

    files = render_fleet_pipeline(fleet, out, options)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        write_file(out, name, content)
    return [out / name for name in files]


def run_render_fleet(fleet: Path, out: Path, options: FleetPipelineOptions) -> int:
    """`ci-gen render --fleet`: write the files and name them; exit code 0."""
    import sys

    for path in write_fleet_pipeline(fleet, out, options):
        sys.stdout.write(f"wrote {path}\n")
    return 0
