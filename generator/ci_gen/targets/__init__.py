"""The CI systems ci-gen renders for: one registry entry each, one package each under `targets/`.

Everything that varies by CI system reads this dict: the CLI's `--target` choices, rule defaults,
`lint`, the files `render` writes and `render --check` compares, and for the systems with a
server, the loops of `sync`, `lint --server` and `report`. The manifest schema's `targets`
enum and `runners.<name>` sections and the pre-commit hook's file pattern are files; the tests
(tests/targets/test_registry.py) hold them equal to it. This module imports nothing of ci-gen, so
the manifest and the rules may read it without depending on any target.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One CI system's registry entry: all the rest of ci-gen knows about it without importing it."""

    name: str  # the manifest's `targets:` value and the package name under `targets/`
    title: str  # for people: "GitLab CI"
    output: str  # repo-relative path of the file it renders
    comment: str  # line-comment prefix for the generated header
    default: bool  # rendered when a manifest names no targets
    runner_kind: str  # what `runners.<name>.default/gpu` hold, for messages and docs
    hashed_cron: bool = False  # accepts Jenkins' `H` cron fields
    server: bool = False  # has a server ci-gen talks to: `remote.py` (sync, lint --server, report)

    @property
    def module(self) -> Any:
        """The target's package (`targets.base.TargetModule`: `render`, `lint`), imported on first
        use so that `validate` and `render --check` stay free of Jinja2."""
        return importlib.import_module(f"{__name__}.{self.name}")

    @property
    def remote(self) -> Any:
        """The target's server side (`targets.base.Remote`); only for `server` targets."""
        if not self.server:
            raise LookupError(f"{self.title} has no server ci-gen talks to")
        return importlib.import_module(f"{__name__}.{self.name}.remote")


TARGETS: dict[str, Target] = {
    "gitlab": Target("gitlab", "GitLab CI", ".gitlab-ci.yml", "#", default=True, runner_kind="runner tags",
                     server=True),
    "jenkins": Target("jenkins", "Jenkins", "Jenkinsfile", "//", default=True, runner_kind="agent label",
                      hashed_cron=True, server=True),
    "github": Target("github", "GitHub Actions", ".github/workflows/ci-gen.yml", "#", default=False,
                     runner_kind="runner labels"),
    "circleci": Target("circleci", "CircleCI", ".circleci/config.yml", "#", default=False,
                       runner_kind="resource class"),
}

DEFAULT_TARGETS: tuple[str, ...] = tuple(name for name, t in TARGETS.items() if t.default)
SERVER_TARGETS: tuple[str, ...] = tuple(name for name, t in TARGETS.items() if t.server)
"""The systems `sync`, `lint --server` and `report` talk to, in registry order (`sync --only`)."""


def server_order() -> list[str]:
    """SERVER_TARGETS by each remote's `sync_rank`: the order `sync` writes to the servers (a
    project's changes are reported in it) and `sync` and `report` connect to them."""
    return sorted(SERVER_TARGETS, key=lambda name: TARGETS[name].remote.sync_rank)
