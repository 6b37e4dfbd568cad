"""The options of one `ci-gen sync` run, as the CLI hands them over."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    only: str | None = None  # "jenkins" | "gitlab": sync one kind of server

    @property
    def writes(self) -> bool:
        return not (self.dry_run or self.check)
