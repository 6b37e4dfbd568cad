"""Terraform / OpenTofu plan JSON -> GitLab's Terraform report, and a summary for the log.

Usage: python3 _tfreport.py PLAN_JSON REPORT_JSON

PLAN_JSON is `terraform show -json <plan>` (the documented JSON output format: `format_version`
and `resource_changes[].change.actions`). REPORT_JSON gets `{"create": n, "update": n, "delete": n}`,
what `artifacts:reports:terraform` shows in a merge request, counted the way GitLab's own
template does: every action of every resource change, so a replacement (delete + create) counts
once in each. The summary (one line per changed resource, then the totals) goes to stdout, for
the Jenkins stage log. Exit 1 with one line when the plan JSON is unreadable.
"""
from __future__ import annotations

import json
import sys
from typing import Any

COUNTED = ("create", "update", "delete")
SYMBOLS = {("create",): "+", ("update",): "~", ("delete",): "-", ("delete", "create"): "-/+", ("create", "delete"): "+/-"}


def report(plan: Any) -> dict[str, int]:
    """The GitLab Terraform report of a plan in Terraform's JSON output format."""
    if not isinstance(plan, dict) or not isinstance(plan.get("format_version"), str):
        raise ValueError("not a Terraform plan in JSON format (no format_version)")
    counts = dict.fromkeys(COUNTED, 0)
    for change in _changes(plan):
        for action in change["change"]["actions"]:
            if action in counts:
                counts[action] += 1
    return counts


def summary(plan: dict[str, Any], counts: dict[str, int]) -> list[str]:
    lines = []
    for change in _changes(plan):
        actions = tuple(change["change"]["actions"])
        if actions in SYMBOLS:
            lines.append(f"  {SYMBOLS[actions]:>3} {change.get('address', '?')}")
    lines.append(f"Plan: {counts['create']} to add, {counts['update']} to change, {counts['delete']} to destroy.")
    return lines


def _changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    changes = plan.get("resource_changes") or []
    if not isinstance(changes, list):
        raise ValueError("resource_changes is not a list")
    for change in changes:
        actions = change.get("change", {}).get("actions") if isinstance(change, dict) else None
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise ValueError("a resource change has no list of actions")
    return changes


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _tfreport.py PLAN_JSON REPORT_JSON", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            plan = json.load(handle)
        counts = report(plan)
    except (OSError, ValueError) as exc:
        print(f"ci-gen infra: error: {argv[0]}: {exc}", file=sys.stderr)
        return 1
    with open(argv[1], "w", encoding="utf-8") as handle:
        json.dump(counts, handle, sort_keys=True)
        handle.write("\n")
    print("\n".join(summary(plan, counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
