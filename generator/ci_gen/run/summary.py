"""The end of a run: a table for people (rich), one JSON object for machines, an exit code; printed
by ci_gen.output."""
from __future__ import annotations

from typing import Any

from ..redaction import scrub_data
from .runner import JobResult

STYLES = {"passed": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "bold red", "not run": "dim", "planned": "cyan"}


def exit_code(results: dict[str, JobResult], interrupted: bool) -> int:
    if interrupted:
        return 130
    return 1 if any(r.result == "failed" for r in results.values()) else 0


def payload(results: dict[str, JobResult], interrupted: bool, dry_run: bool) -> dict[str, Any]:
    jobs = [{"name": r.name, "image": r.image, "result": r.result, "duration_s": r.duration_s,
             "exit_code": r.exit_code, "reason": r.reason} for r in results.values()]
    data = {"ok": exit_code(results, interrupted) == 0, "interrupted": interrupted, "dry_run": dry_run, "jobs": jobs}
    result: dict[str, Any] = scrub_data(data)
    return result


def table(results: dict[str, JobResult]) -> Any:
    """The summary as a rich table (output.emit_rich prints it)."""
    from rich.table import Table
    from rich.text import Text

    from ..redaction import scrub

    grid = Table(title="ci-gen run")
    for column in ("job", "image", "result", "duration", "note"):
        grid.add_column(column, no_wrap=column != "note")
    for r in results.values():
        grid.add_row(Text(r.name), Text(scrub(r.image)), Text(r.result, style=STYLES.get(r.result, "")),
                      f"{r.duration_s:.1f}s" if r.result in ("passed", "failed", "interrupted") else "",
                      Text(scrub(r.reason)))
    return grid
