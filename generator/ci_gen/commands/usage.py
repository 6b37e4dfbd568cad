"""Option combinations a command refuses: a flag it would not honour is a usage error (exit 2)."""
from __future__ import annotations

from typing import Iterable

from ..errors import UsageError


def refuse(pairs: Iterable[tuple[bool, str]]) -> None:
    """Raise UsageError with the message of the first condition that holds."""
    for condition, message in pairs:
        if condition:
            raise UsageError(message)


def given(flags: Iterable[tuple[str, object]]) -> list[str]:
    """The names of the flags whose value was set (not None, False or empty)."""
    return [name for name, value in flags if value not in (None, False, (), "")]
