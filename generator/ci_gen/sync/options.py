"""The options of one `ci-gen sync` run, as the CLI hands them over."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError


@dataclass(frozen=True)
class SyncOptions:
    fleet: Path | None = None  # None: the single repository at `repo`
    repo: Path = Path(".")
    dry_run: bool = False
    check: bool = False  # dry run; exit 1 when anything would change
    diff: bool = False
    verify: bool = False  # compare each live Jenkins config.xml, not just the recorded hash
    prune: bool = False
    jobs: int = 4
    shard: tuple[int, int] | None = None  # (index, count), index 1-based
    timeout: float = 30.0
    report: Path | None = None
    junit: Path | None = None
    output: str = "text"  # "text" | "json"
    progress: bool | None = None  # None: when stderr is a terminal
    gitlab_config: tuple[str, ...] = ()
    gitlab_id: str | None = None
    jenkins_ini: Path | None = None
    jenkins_section: str = "jenkins"
    gitlab_mode: str | None = None  # overrides the fleet default: "merge-request" | "commit"
    jenkins_definition: str | None = None  # overrides the fleet default: "scm" | "inline"
    only: str | None = None  # a target in SERVER_TARGETS: write to that server only (manifests are still read)

    @property
    def writes(self) -> bool:
        return not (self.dry_run or self.check)


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard 2/4` -> (2, 4); the index is 1-based like GitLab's CI_NODE_INDEX."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise UsageError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return int(found.group(1)), int(found.group(2))
