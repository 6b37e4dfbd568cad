"""`ci-gen report`: the click values turned into ReportOptions; the work is in ci_gen.report."""
from __future__ import annotations

import time
from pathlib import Path

from ..report.options import ReportOptions, parse_when


def run(directory: str | None, fleet: str | None, since: str, until: str | None, shard: str | None,
        cache: str | None, csv_dir: str | None, openmetrics: str | None, html: str | None,
        json_file: str | None, jenkins_ini: str | None, fmt: str, gitlab_config: tuple[str, ...],
        **rest: object) -> int:
    from ..report.command import run_report
    from ..sync.options import parse_shard

    now = time.time()

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    options = ReportOptions(
        fleet=path(fleet), repo=Path(directory or "."), since=parse_when(since, now),
        until=parse_when(until, now) if until else now, shard=parse_shard(shard) if shard else None,
        cache=path(cache), csv_dir=path(csv_dir), openmetrics=path(openmetrics), html=path(html),
        json_file=path(json_file), jenkins_ini=path(jenkins_ini), output=fmt,
        gitlab_config=tuple(gitlab_config), **rest,  # type: ignore[arg-type]
    )
    return run_report(options)
