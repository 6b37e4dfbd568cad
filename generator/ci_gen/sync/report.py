"""What a sync run tells people and machines (printed by ci_gen.output): a summary table, diffs, a JSON report and a JUnit
file for the CI job that runs the sync. Every text goes through `redaction.scrub` here, on its
way out: messages carry what servers answered, and that is untrusted (echoed tokens, terminal
escapes, characters XML cannot hold)."""
from __future__ import annotations

import difflib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..redaction import scrub, scrub_data
from ..targets.sync_data import STATUSES, ProjectResult


def summary(results: list[ProjectResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {status: counts.get(status, 0) for status in STATUSES}


from ..targets.base import NOT_ENFORCED as NOT_ENFORCED  # re-exported


def to_json(results: list[ProjectResult], mode: str, seconds: float,
            requests: dict[str, int] | None = None) -> dict[str, Any]:
    """The report of `--report` and `--output json`, scrubbed."""
    data: dict[str, Any] = scrub_data({
        "mode": mode,  # "apply" | "dry-run" | "check"
        "seconds": round(seconds, 3),
        "requests": dict(requests or {}),  # HTTP responses received, per server
        "summary": summary(results),
        "projects": [
            {"key": r.key, "name": r.name, "status": r.status, "error": r.error,
             "skipped": r.skipped, "seconds": round(r.seconds, 3),
             "changes": [c.to_json() for c in r.pending], "warnings": warnings(r)}
            for r in results
        ],
    })
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    _atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_junit(path: Path, results: list[ProjectResult], seconds: float) -> None:
    """One test case per project: failures fail, skipped projects are skipped."""
    counts = summary(results)
    cases = []
    for r in results:
        inner = ""
        if r.error is not None:
            error = scrub(r.error)  # scrubbed text is XML 1.0 text: no control characters left
            first = (error.splitlines() or [""])[0]
            inner = f"<failure message={quoteattr(first)}>{escape(error)}</failure>"
        elif r.skipped is not None:
            inner = f"<skipped message={quoteattr(scrub(r.skipped))}/>"
        changes = scrub("\n".join(f"{c.action} {c.server} {c.kind} {c.name}" for c in r.pending))
        out = f"<system-out>{escape(changes)}</system-out>" if changes else ""
        cases.append(f'  <testcase classname="ci-gen.sync" name={quoteattr(scrub(r.key))} '
                     f'time="{r.seconds:.3f}">{inner}{out}</testcase>')
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name="ci-gen sync" tests="{len(results)}" failures="{counts["failed"]}" '
            f'skipped="{counts["skipped"]}" time="{seconds:.3f}">\n' + "\n".join(cases) + "\n</testsuite>\n")
    _atomic_write(path, text)


def _atomic_write(path: Path, text: str) -> None:
    from ..paths import write_named_file

    write_named_file(path, text.encode("utf-8"))


def summary_blocks(results: list[ProjectResult], mode: str) -> list[Any]:
    """The summary table and its counts line (ci_gen.output prints them)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"ci-gen sync ({mode})", title_justify="left")
    for column in ("project", "status", "changes"):
        table.add_column(column, overflow="fold")
    for r in sorted(results, key=lambda r: r.key):
        # Text, not str: rich would read "[...]" in a server's message as markup
        cells = (r.key, r.status, r.error or r.skipped or _brief(r) or "-")
        table.add_row(*(Text(scrub(cell)) for cell in cells))
    return [table, "  ".join(f"{status}: {count}" for status, count in summary(results).items())]


def _brief(result: ProjectResult) -> str:
    """Changes in a line: named one by one, or counted when a kind has many (step scripts)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for c in result.pending:
        groups.setdefault((c.action, c.kind), []).append(c.name)
    parts = []
    for (action, kind), names in groups.items():
        parts.append(f"{action} {kind} {names[0]}" if len(names) == 1 else f"{action} {len(names)} {kind}s")
    waiting = next((c.detail for c in result.changes if c.detail.startswith("awaiting merge")), "")
    return "; ".join(parts + ([waiting] if waiting else []) + warnings(result))


def warnings(result: ProjectResult) -> list[str]:
    """What the manifest asks for that this server cannot enforce (shown, never silently dropped)."""
    return [f"{c.kind} {c.name} {c.detail}" for c in result.changes if c.detail.startswith(NOT_ENFORCED)]


def diff_lines(results: list[ProjectResult]) -> list[str]:
    """Unified diffs of every planned change that carries text; the live side is the server's."""
    out: list[str] = []
    for r in sorted(results, key=lambda r: r.key):
        for c in r.pending:
            if c.before is None and c.after is None:
                continue
            label = f"{r.key}: {c.server} {c.kind} {c.name}"
            lines = difflib.unified_diff((c.before or "").splitlines(keepends=True),
                                         (c.after or "").splitlines(keepends=True),
                                         f"a/{label}", f"b/{label}")
            out += [scrub(line.rstrip("\n")) for line in lines]
    return out
