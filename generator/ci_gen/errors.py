"""The exceptions ci-gen raises; the CLI's error boundary maps each branch to an exit code.

CiGenError
├── UserError        exit 1: the input has a problem (manifest, drift, lint)
│   └── ManifestError      a manifest or fleet file is invalid; carries every problem found
├── UsageError       exit 2: the command line is wrong
├── ServerError      exit 3: a CI server failed or could not be reached
└── InternalError    exit 4: ci-gen failed (a bug) while working on one project of a run

A run over many projects (sync, report) records each project's failure as one of these and
derives its exit code and its reports' "user"/"server"/"internal" from the class (`error_kind`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal


class CiGenError(Exception):
    """Root of every error ci-gen reports to a user as one line."""

    exit_code = 4


class UserError(CiGenError):
    """Raised when the user's input or files have a problem that they can fix."""

    exit_code = 1


class UsageError(CiGenError):
    """Raised when the command line itself is wrong (bad option combination, missing file)."""

    exit_code = 2


class ServerError(CiGenError):
    """Raised when a CI server answers with an error or cannot be reached."""

    exit_code = 3


class InternalError(CiGenError):
    """Recorded when an unexpected exception (a bug in ci-gen or a library) fails one project of
    a run; the run goes on with the others."""

    exit_code = 4


ErrorKind = Literal["user", "server", "internal"]


def error_kind(error: CiGenError) -> ErrorKind:
    """What a report calls a failure, from its class: "server" (exit 3), "internal" (exit 4; the
    root class too, as the CLI's boundary treats it), else "user" (the input or the command)."""
    if isinstance(error, ServerError):
        return "server"
    if isinstance(error, (UserError, UsageError)):
        return "user"
    return "internal"


def run_exit_code(errors: Iterable[CiGenError]) -> int:
    """A run's exit code from its projects' failures: the worst of internal (4), server (3), and
    anything else found in a project (1; a usage error there is the project's input, not the
    command line). 0 when nothing failed."""
    kinds = {error_kind(e) for e in errors}
    if "internal" in kinds:
        return InternalError.exit_code
    if "server" in kinds:
        return ServerError.exit_code
    return UserError.exit_code if kinds else 0


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file, located for `file:line:col: path: message` output."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class ManifestError(UserError):
    """Raised when a manifest (or fleet file) is invalid; holds every problem found in one run."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
