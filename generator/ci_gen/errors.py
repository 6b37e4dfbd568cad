"""The exceptions ci-gen raises; the CLI's error boundary maps each branch to an exit code.

CiGenError
├── UserError        exit 1: the input has a problem (manifest, drift, lint)
│   └── ManifestError      a manifest or fleet file is invalid; carries every problem found
├── UsageError       exit 2: the command line is wrong
└── ServerError      exit 3: a CI server failed or could not be reached
"""
from __future__ import annotations

from dataclasses import dataclass


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
