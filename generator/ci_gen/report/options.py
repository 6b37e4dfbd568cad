"""The options of one `ci-gen report` run, as the CLI hands them over."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UsageError


@dataclass(frozen=True)
class ReportOptions:
    fleet: Path | None = None  # None: the single repository at `repo`
    repo: Path = Path(".")
    since: float = 0.0  # epoch seconds
    until: float = 0.0
    jobs: int = 4
    shard: tuple[int, int] | None = None
    timeout: float = 30.0
    cache: Path | None = None  # None: the user cache directory
    no_cache: bool = False
    offline: bool = False  # report from the cache alone, no server
    model: str = "pooled"  # pooled | per-env
    predict: bool = False
    output: str = "text"  # text | json
    csv_dir: Path | None = None
    openmetrics: Path | None = None
    html: Path | None = None
    json_file: Path | None = None
    gitlab_config: tuple[str, ...] = ()
    gitlab_id: str | None = None
    jenkins_ini: Path | None = None
    jenkins_section: str = "jenkins"


def parse_when(text: str, now: float | None = None) -> float:
    """`30d`, `12h`, `2w` (ago) or an ISO date/time (UTC when naive) -> epoch seconds."""
    now = time.time() if now is None else now
    found = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text)
    if found:
        return now - int(found.group(1)) * {"h": 3600, "d": 86400, "w": 604800}[found.group(2)]
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{text!r}: expected a duration like 30d, 12h, 2w or an ISO date") from None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
