"""Local Jenkins and GitLab emulators over real HTTP, for the sync tests and benchmarks.

In-process: `JenkinsEmulator()` / `GitLabEmulator()` (context managers; `.url`, `.token`, seeding
methods, `.inject(...)` faults, `.requests` log, `.count(...)`, `.reset()`, `.snapshot()`).
Standalone: `python -m tests.emulators` (see `__main__.py`); its controls are HTTP endpoints
under `/_emulator/` (reset, seed, faults, requests, state).
"""
from __future__ import annotations

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator

__all__ = ["GitLabEmulator", "JenkinsEmulator"]
