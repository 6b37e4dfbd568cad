"""What a pipeline was found to do, each fact with the file and line it came from."""
from __future__ import annotations

from dataclasses import dataclass, field

UNMAPPED = "unmapped"
DECIDE = "decide"


@dataclass(frozen=True, order=True)
class Note:
    """Something the user must look at: a part of the old pipeline with no place in the manifest
    (`unmapped`), or a choice the importer could not make for them (`decide`)."""

    file: str
    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Build:
    file: str
    line: int
    builder: str
    image: str | None  # repository without tag; None when it names a variable we cannot resolve
    dockerfile: str | None = None
    context: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)


@dataclass
class TestJob:
    file: str
    line: int
    name: str
    run: str
    gpu: bool = False


@dataclass
class Env:
    file: str
    line: int
    name: str
    namespace: str | None = None
    context: str | None = None
    timeout: str | None = None  # kubectl rollout status --timeout
    kubeconfig: str | None = None  # Jenkins credential id bound around the deploy
    approvers: list[str] = field(default_factory=list)
    approval: bool = False
    branch: str | None = None
    manifests: str | None = None


@dataclass
class Scan:
    image: bool = False
    severity: str | None = None
    ignore_unfixed: bool | None = None
    secrets: bool = False
    sbom: bool = False
    sign: bool = False


@dataclass
class Schedule:
    file: str
    line: int
    name: str
    cron: str
    branch: str | None = None


@dataclass
class Facts:
    """Everything one pipeline file (with its includes) was found to do."""

    file: str
    target: str  # "gitlab" or "jenkins"
    builds: list[Build] = field(default_factory=list)
    tests: list[TestJob] = field(default_factory=list)
    envs: list[Env] = field(default_factory=list)
    scan: Scan = field(default_factory=Scan)
    default_runner: list[str] = field(default_factory=list)  # GitLab tags, or one Jenkins label
    gpu_runner: list[str] = field(default_factory=list)
    variables: dict[str, str | int | bool] = field(default_factory=dict)
    variable_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)  # registry / kubeconfig / cosign
    notes: list[Note] = field(default_factory=list)

    def note(self, line: int, message: str, kind: str = UNMAPPED, file: str | None = None) -> None:
        self.notes.append(Note(file or self.file, line, kind, message))
