"""Shared helpers for the Python steps: the same interface as _common.sh.

Runs with the step image's Python alone (standard library); never imports ci_gen.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NoReturn, Sequence

SECRET_VARS = ("CI_GEN_REGISTRY_PASSWORD", "CI_REGISTRY_PASSWORD", "COSIGN_PASSWORD", "COSIGN_KEY")


class StepError(Exception):
    """A failure the user can act on: printed as one line, exit 1."""


class UsageError(StepError):
    """Bad input (missing or malformed variable): exit 2."""


def is_dry_run(argv: Sequence[str]) -> bool:
    return "--dry-run" in argv or os.environ.get("CI_GEN_DRY_RUN", "0") in ("1", "true")


def mask(text: str) -> str:
    for name in SECRET_VARS:
        value = os.environ.get(name, "")
        if len(value) >= 3:
            text = text.replace(value, "***")
    return text


def section(step: str, name: str) -> None:
    print(f"== ci-gen {step}: {name}", flush=True)


def env(name: str, default: str | None = None) -> str:
    """A required variable (default None) or an optional one with its default."""
    value = os.environ.get(name, "")
    if value:
        return value
    if default is None:
        raise UsageError(f"{name} is required")
    return default


def env_float(name: str, default: str) -> float:
    raw = env(name, default)
    try:
        return float(raw)
    except ValueError:
        raise UsageError(f"{name} must be a number, got {raw!r}") from None


def out_dir() -> Path:
    return Path(env("CI_GEN_OUT_DIR", ".ci-gen/out"))


def report_dir() -> Path:
    return Path(env("CI_GEN_REPORT_DIR", ".ci-gen/reports"))


def run(cmd: Sequence[str], dry_run: bool) -> None:
    """Print a command (masked) and run it unless dry-run; a non-zero exit is a StepError."""
    print("+ " + mask(shlex.join(cmd)), flush=True)
    if dry_run:
        return
    try:
        result = subprocess.run(list(cmd), check=False)
    except FileNotFoundError:
        raise StepError(f"{cmd[0]} not found on PATH") from None
    if result.returncode != 0:
        raise StepError(f"{cmd[0]} failed with exit code {result.returncode}")


def fail(step: str, error: StepError) -> NoReturn:
    print(f"ci-gen {step}: error: {mask(str(error))}", file=sys.stderr, flush=True)
    sys.exit(2 if isinstance(error, UsageError) else 1)
