"""Protected environments from the manifest's `approval:`: on GitLab a manual job alone lets anyone
with Developer access deploy, so sync protects each environment that needs approval, naming who may
deploy (and so approve) and how many approvals a deployment needs (`required_approval_count`).

ci-gen never unprotects: an environment whose approval left the manifest keeps its protection
until a person removes it (loosening a control is not a sync's call).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ...errors import UserError
from ..base import NOT_ENFORCED, Change

MAINTAINER = 40  # who may deploy when the manifest names nobody: GitLab's own default


@dataclass(frozen=True)
class WantedProtection:
    name: str
    users: tuple[str, ...]
    groups: tuple[str, ...]
    required: int


@dataclass
class ProtectionPlan:
    changes: list[Change] = field(default_factory=list)
    creates: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> POST body
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> PUT body


def wanted_protections(manifest: Any) -> list[WantedProtection]:
    deploy = manifest.deploy
    if deploy is None:
        return []
    return [WantedProtection(e.name, e.approval.users, e.approval.groups, e.approval.required)
            for e in deploy.environments if e.approval is not None]


def plan_protections(gl: Any, project: Any, wanted: list[WantedProtection]) -> ProtectionPlan:
    import gitlab

    plan = ProtectionPlan()
    try:
        live = {p.name: p.asdict() for p in project.protected_environments.list(get_all=True)}
    except gitlab.GitlabListError as exc:
        if exc.response_code not in (403, 404):
            raise
        # Free tier (or no Maintainer role): say so on every environment instead of failing the sync
        for want in wanted:
            plan.changes.append(Change("gitlab", "protected-environment", want.name, "unchanged",
                                       detail=f"{NOT_ENFORCED} protected environments unavailable ({exc.response_code}); "
                                              "the deploy is a manual job anyone with Developer access can run"))
        return plan
    for want in wanted:
        levels = _levels(gl, want)
        after = _describe(want)
        current = live.get(want.name)
        if current is None:
            plan.creates[want.name] = {"name": want.name, "deploy_access_levels": levels,
                                       "required_approval_count": want.required}
            plan.changes.append(Change("gitlab", "protected-environment", want.name, "create", None, after))
            continue
        update = _update(current, levels, want.required)
        before = _describe_live(current)
        plan.changes.append(Change("gitlab", "protected-environment", want.name,
                                   "update" if update else "unchanged", before, after))
        if update:
            plan.updates[want.name] = update
    return plan


def apply_protections(gl: Any, project: Any, plan: ProtectionPlan) -> None:
    import gitlab

    for name, data in plan.creates.items():
        try:
            project.protected_environments.create(data)
        except gitlab.GitlabCreateError as exc:
            if exc.response_code != 409:
                raise
            # an earlier, interrupted run protected it: bring that one in line instead
            current = project.protected_environments.get(name).asdict()
            update = _update(current, data["deploy_access_levels"], data["required_approval_count"])
            if update:
                _put(gl, project, name, update)
    for name, data in plan.updates.items():
        _put(gl, project, name, data)


def _put(gl: Any, project: Any, name: str, data: dict[str, Any]) -> None:
    # python-gitlab's manager has no update; the documented PUT (GitLab 15.4+) keeps the
    # environment protected throughout, where unprotect + protect would open a window.
    gl.http_put(f"/projects/{project.encoded_id}/protected_environments/{quote(name, safe='')}", post_data=data)


def _levels(gl: Any, want: WantedProtection) -> list[dict[str, int]]:
    levels = [{"user_id": _user_id(gl, user)} for user in want.users]
    levels += [{"group_id": _group_id(gl, group)} for group in want.groups]
    return levels or [{"access_level": MAINTAINER}]


def _user_id(gl: Any, username: str) -> int:
    found = [u for u in gl.users.list(username=username, get_all=True) if u.username.lower() == username.lower()]
    if not found:
        raise UserError(f"approval.users: GitLab has no user '{username}'")
    return int(found[0].id)


def _group_id(gl: Any, path: str) -> int:
    import gitlab

    try:
        return int(gl.groups.get(path).id)
    except gitlab.GitlabGetError as exc:
        if exc.response_code != 404:
            raise
        raise UserError(f"approval.groups: GitLab has no group '{path}' (or the token cannot see it)") from None


def _key(level: dict[str, Any]) -> tuple[str, int]:
    for kind in ("user_id", "group_id", "access_level"):
        if level.get(kind) is not None:
            return kind, int(level[kind])
    return "none", 0


def _update(current: dict[str, Any], levels: list[dict[str, int]], required: int) -> dict[str, Any]:
    """The PUT body that turns `current` into the wanted state; empty when nothing differs."""
    live = {_key(level): level for level in current.get("deploy_access_levels") or []}
    wanted = {_key(level) for level in levels}
    adds = [level for level in levels if _key(level) not in live]
    removes = [{"id": level["id"], "_destroy": True} for key, level in sorted(live.items()) if key not in wanted]
    data: dict[str, Any] = {}
    if adds or removes:
        data["deploy_access_levels"] = adds + removes
    if int(current.get("required_approval_count") or 0) != required:
        data["required_approval_count"] = required
    return data


def _describe(want: WantedProtection) -> str:
    who = [f"user {u}" for u in want.users] + [f"group {g}" for g in want.groups] or ["maintainers"]
    return f"deployers: {', '.join(who)}\nrequired approvals: {want.required}\n"


def _describe_live(current: dict[str, Any]) -> str:
    who = [str(level.get("access_level_description") or _key(level)) for level in current.get("deploy_access_levels") or []]
    return f"deployers: {', '.join(who)}\nrequired approvals: {current.get('required_approval_count') or 0}\n"


def kubeconfig_warnings(project: Any, manifest: Any, live: list[Any] | None = None) -> list[Change]:
    """The GitLab side of "staging never holds production's kubeconfig": the `KUBECONFIG` CI/CD
    variable a deploy job gets is the one whose environment scope matches its environment, so a
    non-production environment that would get the same variable as a production one is reported.
    One variables listing (none when the caller listed them already: `live`), only for a manifest
    with production and non-production environments."""
    deploy = manifest.deploy
    tiers = {e.name: e.tier for e in deploy.environments} if deploy is not None else {}
    production = [name for name, tier in tiers.items() if tier == "production"]
    if not production or len(production) == len(tiers):
        return []
    if live is None:
        live = list(project.variables.list(get_all=True))
    scopes = [getattr(v, "environment_scope", "*") or "*" for v in live if v.key == "KUBECONFIG"]
    changes = []
    for name, tier in tiers.items():
        if tier == "production":
            continue
        mine = _matching_scope(scopes, name)
        shared = next((p for p in production if mine is not None and _matching_scope(scopes, p) == mine), None)
        if shared is not None:
            changes.append(Change("gitlab", "environment-credentials", name, "unchanged",
                                  detail=f"{NOT_ENFORCED} '{name}' gets the KUBECONFIG variable scoped '{mine}', the one "
                                         f"production environment '{shared}' gets; add a KUBECONFIG file variable "
                                         f"scoped '{name}'"))
    return changes


def _matching_scope(scopes: list[str], environment: str) -> str | None:
    """The scope GitLab picks for `environment`: an exact name first, then the most specific wildcard."""
    import fnmatch

    if environment in scopes:
        return environment
    wildcards = [s for s in scopes if "*" in s and fnmatch.fnmatchcase(environment, s)]
    return max(wildcards, key=len) if wildcards else None
