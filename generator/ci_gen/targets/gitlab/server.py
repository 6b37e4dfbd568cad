"""GitLab backend: per project, compare rendered files with the repository tree, then write them in
ONE commit (straight to the branch, or on `ci-gen/sync` with one merge request kept up to date),
and bring variables and schedules in line.

Requests for an unchanged project: the manifest and the tree, plus one list per kind of setting
the manifest declares. While a sync merge request waits for review, a rerun adds one listing of
the sync branch and one merge-request lookup, nothing more. Every write is safe to repeat, so a
rerun after any interruption converges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import CiGenError, InternalError, ManifestError, Problem, ServerError, UserError
from ...workspace import MANIFEST_NAME
from ...yamlio import MAX_BYTES, decode
from .server_environments import (ProtectionPlan, apply_protections, kubeconfig_warnings, plan_protections,
                                  wanted_protections)
from .server_files import file_actions, folders_to_list, virtual_tree
from .server_settings import (SchedulePlan, VariablePlan, WantedSchedule, apply_schedules,
                              apply_variable, delete_variable, plan_schedules, plan_variables)
from ..base import Change

CHUNK = 64 * 1024
MR_TITLE = "ci-gen: update generated CI files"


@dataclass(frozen=True)
class GitLabTarget:
    path: str
    ref: str | None  # None: the project's default branch
    default_branch: str | None
    mode: str  # "merge-request" | "commit"
    sync_branch: str
    lint: bool


@dataclass
class GitLabPlan:
    target: GitLabTarget
    project: Any
    branch: str | None  # the branch the files land on (resolved lazily)
    actions: list[dict[str, Any]]
    commit: bool = False  # a commit must be written
    merge_request: bool = False  # an MR must be opened
    changes: list[Change] = field(default_factory=list)
    variables: VariablePlan | None = None
    schedules: SchedulePlan | None = None
    wanted_schedules: list[WantedSchedule] = field(default_factory=list)
    protections: ProtectionPlan | None = None


def translate_error(exc: BaseException) -> CiGenError:
    """An exception raised while talking to GitLab, as ci-gen's own: one line, and a class that
    says whose the problem is (a 5xx, 429 or a lost connection is the server's)."""
    import gitlab
    import requests

    if isinstance(exc, gitlab.GitlabAuthenticationError):
        return UserError("GitLab rejected the token (401)")
    if isinstance(exc, gitlab.GitlabError):
        code = exc.response_code or 0
        message = str(exc.error_message).splitlines()[0] if exc.error_message else type(exc).__name__
        return (ServerError if code >= 500 or code == 429 else UserError)(f"GitLab answered {code}: {message}")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return ServerError(f"GitLab unreachable: {type(exc).__name__}")
    return InternalError(f"unexpected error: {type(exc).__name__}: {exc}")


class GitLabBackend:
    def __init__(self, client: Any) -> None:
        self.gl = client

    def project(self, path: str) -> Any:
        return self.gl.projects.get(path, lazy=True)  # no request: an encoded id is enough

    def read_manifest(self, path: str, ref: str | None) -> str | None:
        """The manifest's text, or None when the project (or ref) has none."""
        import gitlab

        try:
            # Streamed and cut off past the limit: a project's file must not decide how much
            # memory a fleet sync uses. The same checks as a local read then apply.
            chunks = self.project(path).files.raw(MANIFEST_NAME, ref=ref, streamed=True, iterator=True, chunk_size=CHUNK)
            raw = bytearray()
            for chunk in chunks:
                raw += chunk
                if len(raw) > MAX_BYTES:
                    break
        except gitlab.GitlabGetError as exc:
            if exc.response_code == 404 and "Project" in str(exc.error_message):
                raise ValueError(f"GitLab project {path} not found (or the token cannot see it)") from None
            if exc.response_code == 404:
                return None
            raise
        if len(raw) > MAX_BYTES:
            message = f"file is over {MAX_BYTES:,} bytes (not read further); the limit is {MAX_BYTES:,}"
            raise ManifestError([Problem(MANIFEST_NAME, 1, 1, "", message)])
        return decode(bytes(raw), MANIFEST_NAME)

    def default_branch(self, target: GitLabTarget) -> str | None:
        if target.ref or target.default_branch:
            return target.ref or target.default_branch
        branch: str | None = self.gl.projects.get(target.path).default_branch
        return branch

    def tree(self, project: Any, ref: str | None, files: dict[str, bytes]) -> dict[str, Any] | None:
        """The live blobs `file_actions` compares with `files`, at `ref`; None when the ref does
        not exist. One request when nothing differs: the top-level listing."""
        root = self._listing(project, ref, "", recursive=False)
        return None if root is None else self._expand(project, ref, files, root)

    def _expand(self, project: Any, ref: str | None, files: dict[str, bytes],
                root: list[dict[str, Any]]) -> dict[str, Any]:
        """The live blobs below a top-level listing: folders whose tree id differs are listed."""
        listed = {}
        for folder in folders_to_list(files, root):
            listed[folder] = self._listing(project, ref, folder, recursive=True) or []
        return virtual_tree(files, root, listed)

    def _listing(self, project: Any, ref: str | None, path: str, recursive: bool) -> list[dict[str, Any]] | None:
        import gitlab

        try:
            entries = project.repository_tree(path=path, ref=ref or "", recursive=recursive, get_all=True,
                                              per_page=100)
        except gitlab.GitlabGetError as exc:
            if exc.response_code == 404:
                return None
            raise
        return list(entries)

    def plan(self, target: GitLabTarget, files: dict[str, bytes], manifest: Any, diff: bool) -> GitLabPlan:
        project = self.project(target.path)
        root = self._listing(project, target.ref, "", recursive=False)
        proposal = _Proposal()
        if root is not None and target.mode == "merge-request" and not holds_exactly(files, root):
            self._look_at_proposal(project, target, files, proposal)
        plan = GitLabPlan(target, project, target.ref or target.default_branch, [])
        if proposal.mr is not None and proposal.exact:
            # Already proposed: the sync branch holds these very files and its MR is open. The
            # target branch is not listed further: nothing is written until the MR is merged.
            plan.changes += [Change("gitlab", "file", path, "unchanged", detail=f"awaiting merge in !{proposal.mr.iid}")
                             for path in sorted(files)]
        else:
            live = self._expand(project, target.ref, files, root) if root is not None else {}
            plan.actions = file_actions(files, live)
            plan.changes += _file_changes(files, plan.actions, self._before(plan, diff))
            if plan.actions:
                self._plan_landing(plan, files, proposal)
        # Settings are listed when the manifest declares them, or when the files change: removing
        # the last variable or schedule from a manifest changes its rendered files (the lock's
        # inputs digest), so what ci-gen created and the manifest no longer lists is not missed.
        live_variables: list[Any] | None = None
        if manifest.variables or manifest.secrets or plan.actions:
            live_variables = list(project.variables.list(get_all=True))
            plan.variables = plan_variables(live_variables, dict(manifest.variables), tuple(manifest.secrets))
            plan.changes += plan.variables.changes
        if manifest.schedules or plan.actions:
            plan.wanted_schedules = [WantedSchedule(s.name, s.cron, s.branch or self._branch(plan))
                                     for s in manifest.schedules]
            live_schedules = list(project.pipelineschedules.list(get_all=True))
            plan.schedules = plan_schedules(live_schedules, plan.wanted_schedules)
            plan.changes += plan.schedules.changes
        if protections := wanted_protections(manifest):
            plan.protections = plan_protections(self.gl, project, protections)
            plan.changes += plan.protections.changes
        plan.changes += kubeconfig_warnings(project, manifest, live_variables)
        return plan

    def _look_at_proposal(self, project: Any, target: GitLabTarget, files: dict[str, bytes],
                          proposal: _Proposal) -> None:
        """The sync branch's top level, and, when it holds exactly the rendered files, its open
        merge request: the two requests that tell an awaiting proposal from work to do."""
        proposal.listed, proposal.root = True, self._listing(project, target.sync_branch, "", recursive=False)
        proposal.exact = proposal.root is not None and holds_exactly(files, proposal.root)
        if proposal.exact:
            proposal.mr, proposal.looked_up = self._open_mr_of(project, target), True

    def _branch(self, plan: GitLabPlan) -> str:
        if plan.branch is None:
            plan.branch = self.default_branch(plan.target) or "main"
        return plan.branch

    def _before(self, plan: GitLabPlan, diff: bool) -> dict[str, str]:
        if not diff:
            return {}
        before = {}
        for action in plan.actions:
            if action["action"] in ("update", "delete"):
                raw = plan.project.files.raw(action["file_path"], ref=plan.target.ref)
                before[action["file_path"]] = raw.decode("utf-8", "replace")
        return before

    def _plan_landing(self, plan: GitLabPlan, files: dict[str, bytes], proposal: _Proposal) -> None:
        target = plan.target
        if target.mode == "commit":
            plan.commit = True
            plan.changes.append(Change("gitlab", "commit", self._branch(plan), "create",
                                       detail=f"{len(plan.actions)} file(s)"))
            return
        if not proposal.listed:
            proposal.listed = True
            proposal.root = self._listing(plan.project, target.sync_branch, "", recursive=False)
        branch_tree = None if proposal.root is None else \
            self._expand(plan.project, target.sync_branch, files, proposal.root)
        plan.commit = branch_tree is None or bool(file_actions(files, branch_tree))
        existing = proposal.mr if proposal.looked_up else self._open_mr(plan)
        plan.merge_request = existing is None
        if not plan.commit and existing is not None:
            for change in plan.changes:  # already proposed: nothing to do until it is merged
                if change.kind == "file":
                    change.action, change.detail = "unchanged", f"awaiting merge in !{existing.iid}"
            return
        if plan.commit:
            plan.changes.append(Change("gitlab", "commit", target.sync_branch,
                                       "create" if branch_tree is None else "update",
                                       detail=f"{len(plan.actions)} file(s)"))
        plan.changes.append(Change("gitlab", "merge-request", target.sync_branch,
                                   "create" if existing is None else "update",
                                   detail="" if existing is None else f"!{existing.iid}"))

    def _open_mr(self, plan: GitLabPlan) -> Any:
        return self._open_mr_of(plan.project, plan.target)

    def _open_mr_of(self, project: Any, target: GitLabTarget) -> Any:
        found = project.mergerequests.list(state="opened", source_branch=target.sync_branch, get_all=True)
        return found[0] if found else None

    def apply(self, plan: GitLabPlan, files: dict[str, bytes], manifest: Any) -> None:
        if plan.target.lint and plan.commit and ".gitlab-ci.yml" in files:
            _lint(plan.project, files[".gitlab-ci.yml"])
        if plan.variables is not None:
            values = dict(manifest.variables)
            for change in plan.variables.changes:
                if change.kind == "variable" and change.action in ("create", "update"):
                    apply_variable(plan.project, change, values[change.name],
                                   plan.variables.scopes.get(change.name))
            for key, scope in plan.variables.deletes:
                delete_variable(plan.project, key, scope)
        if plan.schedules is not None:
            apply_schedules(plan.project, plan.schedules, plan.wanted_schedules)
        if plan.protections is not None:
            apply_protections(self.gl, plan.project, plan.protections)
        if plan.commit:
            self._commit(plan, files)
        if plan.merge_request:
            self._ensure_mr(plan)

    def _commit(self, plan: GitLabPlan, files: dict[str, bytes]) -> None:
        import gitlab

        target, base = plan.target, self._branch(plan)
        data: dict[str, Any] = {"commit_message": "ci-gen: update generated CI files\n\n"
                                "Rendered from ci-gen.yaml by `ci-gen sync`.", "actions": plan.actions}
        if target.mode == "merge-request":
            # Rebuilt from the base branch each time, so the MR always shows one fresh commit.
            data.update(branch=target.sync_branch, start_branch=base, force=True)
        else:
            data.update(branch=base)
        try:
            plan.project.commits.create(data)
        except gitlab.GitlabCreateError:
            # An earlier attempt may have landed (the reply was lost): done if nothing is left.
            landed = self.tree(plan.project, data["branch"], files) or {}
            if file_actions(files, landed):
                raise

    def _ensure_mr(self, plan: GitLabPlan) -> None:
        import gitlab

        if self._open_mr(plan) is not None:
            return
        try:
            plan.project.mergerequests.create({
                "source_branch": plan.target.sync_branch, "target_branch": self._branch(plan),
                "title": MR_TITLE, "remove_source_branch": True,
                "description": "Generated by `ci-gen sync` from ci-gen.yaml. Merge to apply; "
                               "later syncs update this merge request in place."})
        except gitlab.GitlabCreateError as exc:
            if exc.response_code != 409:  # 409: another run opened it first
                raise


@dataclass
class _Proposal:
    """What a run learnt about the sync branch and its merge request, so nothing is asked twice."""

    listed: bool = False
    root: list[dict[str, Any]] | None = None  # the sync branch's top level; None: no such branch
    exact: bool = False  # that listing alone proves the branch holds exactly the rendered files
    looked_up: bool = False
    mr: Any = None  # the open merge request from the sync branch, when looked up


def holds_exactly(files: dict[str, bytes], root: list[dict[str, Any]]) -> bool:
    """A top-level listing alone proves the branch holds these files and no stale managed ones:
    every blob id equal and every folder's tree id equal. False means "maybe not" (a folder whose
    id differs may differ only in file modes, which only its listing tells)."""
    return not folders_to_list(files, root) and not file_actions(files, virtual_tree(files, root, {}))


def _lint(project: Any, content: bytes) -> None:
    result = project.ci_lint.create({"content": content.decode("utf-8")})
    if not getattr(result, "valid", False):
        errors = "; ".join(getattr(result, "errors", []) or ["invalid"])
        raise ValueError(f"GitLab CI Lint rejected .gitlab-ci.yml: {errors}")


def _file_changes(files: dict[str, bytes], actions: list[dict[str, Any]], before: dict[str, str]) -> list[Change]:
    changes = []
    touched = {a["file_path"]: a["action"] for a in actions}
    for path in sorted(set(files) | set(touched)):
        action = touched.get(path, "unchanged")
        after = files[path].decode("utf-8", "replace") if path in files and action != "unchanged" else None
        changes.append(Change("gitlab", "file", path, action, before.get(path), after))
    return changes
