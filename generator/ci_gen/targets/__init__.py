"""The CI systems ci-gen renders for: one registry entry each, one package each under `targets/`.

Everything that varies by CI system reads this dict: the CLI's `--target` choices, the manifest
schema's `targets` enum (tests/test_targets.py holds them equal), rule defaults, `lint`, the
pre-commit hook's file pattern (tested) and the files `render --check` looks at.
"""
from __future__ import annotations

from .base import LintResult, Target

TARGETS: dict[str, Target] = {
    "gitlab": Target("gitlab", "GitLab CI", ".gitlab-ci.yml", "#", default=True, runner_kind="runner tags"),
    "jenkins": Target("jenkins", "Jenkins", "Jenkinsfile", "//", default=True, runner_kind="agent label",
                      hashed_cron=True),
    "github": Target("github", "GitHub Actions", ".github/workflows/ci-gen.yml", "#", default=False,
                     runner_kind="runner labels"),
    "circleci": Target("circleci", "CircleCI", ".circleci/config.yml", "#", default=False,
                       runner_kind="resource class"),
}

DEFAULT_TARGETS: tuple[str, ...] = tuple(name for name, t in TARGETS.items() if t.default)

__all__ = ["DEFAULT_TARGETS", "TARGETS", "LintResult", "Target"]
