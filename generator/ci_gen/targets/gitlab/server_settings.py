"""GitLab project settings from the manifest: CI/CD variables, secrets (checked, never written)
and pipeline schedules. What ci-gen creates carries a `[ci-gen]` description (variables and
schedules alike), and only what carries it is ever deleted: a variable or schedule made by
someone else is never removed, whatever the manifest says."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...redaction import register
from ..base import Change

SCHEDULE_PREFIX = "[ci-gen] "
VARIABLE_MARK = "[ci-gen]"  # the start of the description of every variable ci-gen creates
VARIABLE_DESCRIPTION = f"{VARIABLE_MARK} set by ci-gen sync from ci-gen.yaml; deleted when it leaves the manifest"
TIMEZONE = "UTC"
# How a masked variable shows in a diff. Not even a hash: a short unkeyed digest of a guessable
# value is as good as the value.
MASKED, MASKED_CHANGED = "(masked)", "(masked, changed)"


@dataclass
class VariablePlan:
    changes: list[Change]
    missing_secrets: list[str]
    scopes: dict[str, str]  # key -> environment_scope of the live variable we update
    deletes: list[tuple[str, str]] = field(default_factory=list)  # (key, scope): ours, gone from the manifest


def plan_variables(live: list[Any], variables: dict[str, str], secrets: tuple[str, ...]) -> VariablePlan:
    by_key: dict[str, list[Any]] = {}
    for var in live:
        by_key.setdefault(var.key, []).append(var)
    plan = VariablePlan([], [], {})
    # Values of masked variables, live and wanted, are secrets from here on: redacted in every
    # output, files' diffs included (a file can carry a variable too).
    register(*(v.value for v in live if getattr(v, "masked", False) and getattr(v, "value", None)))
    for key in sorted(variables):
        candidates = by_key.get(key, [])
        current = next((v for v in candidates if getattr(v, "environment_scope", "*") == "*"),
                       candidates[0] if candidates else None)
        plan.changes.append(_variable_change(key, variables[key], current))
        if current is not None:
            plan.scopes[key] = getattr(current, "environment_scope", "*")
            if getattr(current, "masked", False):
                register(variables[key])
    for key in sorted(secrets):
        if key in by_key:
            plan.changes.append(Change("gitlab", "secret", key, "unchanged", detail="present"))
        else:
            plan.missing_secrets.append(key)
    for var in sorted(live, key=lambda v: (v.key, getattr(v, "environment_scope", "*"))):
        # A key now listed under `secrets:` stays: it is what that secret's check looks for. Only
        # the scope ci-gen creates in ("*") is judged: a marked variable someone moved to an
        # environment is theirs now.
        scope = getattr(var, "environment_scope", "*") or "*"
        if var.key in variables or var.key in secrets or scope != "*" or not created_by_ci_gen(var):
            continue
        masked = bool(getattr(var, "masked", False)) or getattr(var, "value", None) is None
        before = f"{var.key}={MASKED if masked else var.value}\n"
        plan.changes.append(Change("gitlab", "variable", var.key, "delete", before, None,
                                   "created by ci-gen, gone from the manifest"))
        plan.deletes.append((var.key, scope))  # the scope, so a same-named one elsewhere is not hit
    return plan


def created_by_ci_gen(variable: Any) -> bool:
    return str(getattr(variable, "description", None) or "").startswith(VARIABLE_MARK)


def _variable_change(key: str, value: str, current: Any) -> Change:
    if current is None:
        return Change("gitlab", "variable", key, "create", None, f"{key}={value}\n")
    live_value = getattr(current, "value", None)
    masked = bool(getattr(current, "masked", False)) or getattr(current, "hidden", False)
    if live_value is None:
        return Change("gitlab", "variable", key, "unchanged", detail="hidden on the server; not compared")
    if live_value == value:
        return Change("gitlab", "variable", key, "unchanged")
    if masked:
        return Change("gitlab", "variable", key, "update", f"{key}={MASKED}\n", f"{key}={MASKED_CHANGED}\n",
                      "masked: values not shown")
    return Change("gitlab", "variable", key, "update", f"{key}={live_value}\n", f"{key}={value}\n")


def apply_variable(project: Any, change: Change, value: str, scope: str | None) -> None:
    import gitlab

    if change.action == "create":
        try:
            project.variables.create({"key": change.name, "value": value, "description": VARIABLE_DESCRIPTION})
            return
        except gitlab.GitlabCreateError as exc:
            if "taken" not in str(exc):
                raise  # otherwise an earlier, interrupted attempt created it: update below
    extra = {"filter": {"environment_scope": scope}} if scope and scope != "*" else {}
    # Only the value: masked/protected flags set by people on the server are kept.
    project.variables.update(change.name, {"value": value}, **extra)


def delete_variable(project: Any, key: str, scope: str) -> None:
    import gitlab

    try:
        project.variables.delete(key, filter={"environment_scope": scope})
    except gitlab.GitlabDeleteError as exc:
        if exc.response_code != 404:  # already gone: a retried or interrupted delete
            raise


@dataclass(frozen=True)
class WantedSchedule:
    name: str
    cron: str
    ref: str


@dataclass
class SchedulePlan:
    changes: list[Change]
    ids: dict[str, int]  # name -> id of the live schedule of ours that we keep and update
    delete_ids: list[int]  # ours gone from the manifest, and duplicates left by interrupted runs


def plan_schedules(live: list[Any], wanted: list[WantedSchedule]) -> SchedulePlan:
    ours: dict[str, list[Any]] = {}
    for schedule in sorted(live, key=lambda s: s.id):
        description = getattr(schedule, "description", "") or ""
        if description.startswith(SCHEDULE_PREFIX):
            ours.setdefault(description[len(SCHEDULE_PREFIX):], []).append(schedule)
    plan = SchedulePlan([], {}, [])
    wanted_names = {w.name for w in wanted}
    for want in sorted(wanted, key=lambda w: w.name):
        found = ours.get(want.name, [])
        after = f"cron: {want.cron}\nref: {want.ref}\n"
        if not found:
            plan.changes.append(Change("gitlab", "schedule", want.name, "create", None, after))
            continue
        first, plan.ids[want.name] = found[0], found[0].id
        before = f"cron: {first.cron}\nref: {_branch(first.ref)}\n"
        same = (before == after and getattr(first, "active", True)
                and (getattr(first, "cron_timezone", TIMEZONE) or TIMEZONE) == TIMEZONE)
        plan.changes.append(Change("gitlab", "schedule", want.name, "unchanged" if same else "update",
                                   before, after))
    for name, found in sorted(ours.items()):
        extra = found if name not in wanted_names else found[1:]
        for schedule in extra:
            why = "duplicate" if name in wanted_names else "gone from the manifest"
            plan.changes.append(Change("gitlab", "schedule", name, "delete", detail=f"id {schedule.id}, {why}"))
            plan.delete_ids.append(schedule.id)
    return plan


def _branch(ref: str | None) -> str:
    ref = ref or ""
    return ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref


def apply_schedules(project: Any, plan: SchedulePlan, wanted: list[WantedSchedule]) -> None:
    by_name = {w.name: w for w in wanted}
    for change in plan.changes:
        if change.action not in ("create", "update"):
            continue
        want = by_name[change.name]
        data = {"ref": want.ref, "cron": want.cron, "cron_timezone": TIMEZONE, "active": True}
        if change.action == "create":
            project.pipelineschedules.create({"description": SCHEDULE_PREFIX + want.name, **data})
        else:
            project.pipelineschedules.update(plan.ids[change.name], data)
    for schedule_id in plan.delete_ids:
        _delete_schedule(project, schedule_id)


def _delete_schedule(project: Any, schedule_id: int) -> None:
    import gitlab

    try:
        project.pipelineschedules.delete(schedule_id)
    except gitlab.GitlabDeleteError as exc:
        if exc.response_code != 404:  # already gone: a retried or interrupted delete
            raise
