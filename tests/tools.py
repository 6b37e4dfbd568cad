"""Finding the real external tools that tests run.

Locally a missing tool skips the test with the install hint; under CI (CI=true) it fails,
because .ci/run installs every tool and a silent skip there would hide a broken install step.
"""
from __future__ import annotations

import os
import shutil

import pytest


def require(executable: str, hint: str) -> str:
    """Return the path of `executable`, or skip (locally) / fail (in CI) with `hint`."""
    path = shutil.which(executable)
    if path:
        return path
    message = f"{executable} not found ({hint})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str, hint: str) -> object:
    """Import and return module `name`, or skip (locally) / fail (in CI)."""
    try:
        return __import__(name)
    except ImportError:
        message = f"python module {name} not importable ({hint})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
