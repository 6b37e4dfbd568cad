"""What one fetch of one project's history returns, and the cursor both servers share."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .record import Deploy


@dataclass
class Fetched:
    deploys: list[Deploy] = field(default_factory=list)  # new or changed since the cursor
    cursor: str | None = None  # to store with them; None: leave the stored one
    notes: list[str] = field(default_factory=list)  # what was skipped or estimated, and why
    fallbacks: int = 0  # deploys read from the server's facts, without a deploy record


@dataclass(frozen=True)
class Cursor:
    """How far a project's cached history reaches: `since` (the oldest time fetched) and
    `mark` (GitLab: the newest `updated_at` seen; Jenkins: the newest finished build number)."""

    since: float
    mark: str | None

    def dump(self) -> str:
        return json.dumps({"since": self.since, "mark": self.mark})

    @classmethod
    def load(cls, text: str | None) -> "Cursor | None":
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(float(data["since"]), data.get("mark"))
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: refetch the window

    def covers(self, since: float) -> bool:
        return self.since <= since
