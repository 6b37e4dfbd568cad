"""What every CI system plugs in: the protocols a target folder implements, and shared types.

A target is a package under `targets/` whose module exposes `render` and `lint` (see
`TargetModule`); its registry entry (`targets.Target`) is plain data that imports the package
only when asked for it.
A target with a server ci-gen talks to (`Target.server`) also has `remote.py` (see `Remote`):
its credentials, client, server-side lint and deployment history, which `sync`, `lint --server`
and `report` loop over without naming any system. `Backend` is the shape of a server sync, which
the sync engine loops over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

if TYPE_CHECKING:
    from ..errors import CiGenError
    from ..manifest import Manifest
    from ..plan import Pipeline
    from ..report.fetched import Cursor, Fetched
    from .sync_data import Source


Action = Literal["create", "update", "delete", "unchanged"]
NOT_ENFORCED = "not enforced:"  # starts a change's detail when the server cannot enforce a setting


@dataclass
class Change:
    """One object on one server and what the plan does to it."""

    server: str  # the target's name
    kind: str  # job, folder, file, variable, secret, schedule, merge-request, commit
    name: str
    action: Action
    before: str | None = None  # text for --diff (already redacted where it holds secrets)
    after: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"server": self.server, "kind": self.kind, "name": self.name,
                                "action": self.action}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class LintResult:
    """One file's offline lint: problems as `file: where: message` lines."""

    file: str
    problems: tuple[str, ...]
    skipped: str | None = None  # why this check could not run here

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ServerLint:
    """One file as the server that will run it judged it (`lint --server`)."""

    file: str
    server: str  # the target's name
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class TargetModule(Protocol):
    """What `targets/<name>/__init__.py` exports."""

    def render(self, plan: Pipeline, manifest: Manifest) -> str:
        """The plan as this CI system's file. Reads only this target's own manifest settings
        (runner tags or labels by role, credential ids by purpose); escapes every value."""

    def lint(self, files: dict[str, str]) -> list[LintResult]:
        """Offline lint of rendered or committed files (name -> text) with the real validator."""


class Backend(Protocol):
    """A server that ci-gen keeps in step with the rendered files: `targets/<name>/sync_side.py`,
    driving that target's `server.py`; `sync/engine.py` loops over them and names none.

    Per project: `wants` (has this server work for it?; if not, `why_not` says what would change
    that), `needs_files` (does that work need the rendered files?), `attach` (build its
    per-project target), `has`. Per run: `prepare` reads fleet-wide state once; `plan` compares
    one project with it (an object with `changes` and `problem`, a CiGenError); `apply` writes a
    plan; `prune` removes what ci-gen owns and no project claims. A client library's exception
    becomes ci-gen's through `translate_error`."""

    name: str

    def translate_error(self, exc: BaseException) -> CiGenError: ...

    def wants(self, project: Any) -> bool: ...

    def why_not(self, project: Any) -> str: ...

    def needs_files(self, project: Any) -> bool: ...

    def attach(self, project: Any) -> None: ...

    def has(self, project: Any) -> bool: ...

    def prepare(self, projects: list[Any]) -> Any: ...

    def plan(self, project: Any, state: Any) -> Any: ...

    def apply(self, project: Any, plan: Any) -> None: ...

    def prune(self, projects: list[Any], state: Any) -> list[Any]: ...


class Remote(Protocol):
    """What `targets/<name>/remote.py` exports for a CI system with a server (`Target.server`).

    `options` is the command's options object (`SyncOptions`, `ReportOptions`, lint's): each
    target reads only its own settings from it (`gitlab_config`, `jenkins_ini`, ...), and an
    absent one means its default. Heavy clients are imported inside the functions, never at
    module level: importing `remote` costs nothing."""

    title: str  # the server for people: "GitLab"
    where: str  # every place its credentials come from, for "no CI server configured"
    configure_hint: str  # the shortest of those, for a skipped project's reason
    url_variable: str  # the environment variable naming its URL
    variables: str  # all its environment variables in brief: "CI_GEN_GITLAB_URL/TOKEN"
    hosts_manifests: bool  # projects' manifests may be read from it (fleet `gitlab:` entries)
    sync_rank: int  # sync order: a project is synced on the servers by rising rank

    def credentials(self, fleet_url: str | None, options: Any) -> Any | None:
        """Its credentials from the documented sources; None when none is configured."""

    def connect(self, creds: Any, timeout: float, pool: int) -> Any:
        """The client (no request yet), with timeouts, retries and a pool for `pool` workers."""

    def session(self, client: Any) -> Any:
        """The client's requests Session, where `transport.RequestCounter` counts responses."""

    def preflight(self, client: Any, command: str) -> None:
        """Prove the server and the credentials with one request before the workers start, as
        `command` ("sync", "report") needs; raise UserError or ServerError in one line."""

    def backend(self, client: Any) -> Any:
        """The server sync's planner for this client (what its side drives)."""

    def discover(self, client: Any, group: str, exclude: tuple[str, ...], origin: object) -> list[Source]:
        """A fleet's `discover:` entry: the projects of a group, for a server that hosts the
        fleet's repositories (`hosts_manifests`)."""

    def sync_side(self) -> type:
        """Its side of a sync run (`Backend`, in `sync_side.py`), which the sync engine builds
        with (backends by target name, the sync options, the fleet or None, the fleet id, guard)."""

    def translate_error(self, exc: BaseException) -> CiGenError:
        """A client library's exception as ci-gen's own (UserError, ServerError, InternalError)."""

    def lint(self, connect: Callable[[], Any], manifest: Manifest, content: str, options: Any) -> ServerLint:
        """`content` (the target's rendered or committed file) judged by the server; `connect()`
        builds the client once the lint has what it needs (a usage error comes first)."""

    def history_project(self, manifest: Manifest, repository: str | None, fleet: Any | None) -> str | None:
        """Where this system keeps a manifest's deploy history (a GitLab project, a Jenkins job);
        None when the manifest does not target it. `repository`: the fleet entry's project."""

    def fetch_history(self, client: Any, project: str, stored: Cursor | None, known: set[str],
                      since: float) -> Fetched:
        """The project's deploys new since `stored` (`report/fetched.py`), in its own thread."""

    def history_error(self, exc: BaseException) -> CiGenError:
        """A failed history read as ci-gen's error (a missing job is the user's)."""
