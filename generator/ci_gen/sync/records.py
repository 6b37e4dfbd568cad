"""The data that flows through a sync, as the sync package names it; defined in
`targets/sync_data.py` so that each target's side can use it without importing sync."""
from __future__ import annotations

from ..targets.base import Action as Action, Change as Change
from ..targets.sync_data import STATUSES as STATUSES, ProjectResult as ProjectResult, Source as Source
from ..targets.sync_data import Status as Status, Work as Work
