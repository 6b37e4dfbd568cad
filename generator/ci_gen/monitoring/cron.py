"""The longest wait between two runs of a five-field cron schedule.

An alert on a scheduled check that stopped reporting needs the schedule's interval; for a cron
that is the longest gap between consecutive runs ("0 5 * * 1-5" waits 3 days over a weekend).

Read here: numbers, `*`, `?`, ranges, steps, lists, month and day names, and Jenkins' plain `H`
(one fixed value chosen by hash: the gaps are those of any single value). Not read: `L`, `W`,
`#` and `H/n` (whose gaps depend on the hashed offset): those schedules give None.

When both day fields are restricted, GitLab (fugit) runs on either and Jenkins on both; the
longer reading (both) sets the gap, so a check is never called stale while its schedule is kept.
"""
from __future__ import annotations

import datetime as dt

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (lowest, highest, names from `lowest` on) of minute, hour, day of month, month, day of week
_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS), (0, 7, _DAYS))
# Weekdays and leap years repeat every 28 years from 2001 to 2099: two cycles show every gap,
# the one that wraps from the end of a cycle to its start included.
_YEARS = range(2001, 2057)


def longest_gap_minutes(cron: str) -> int | None:
    """The longest time between two consecutive runs of `cron`, in minutes; None when the
    expression uses what this module does not read, or never runs."""
    fields = cron.split()
    if len(fields) != 5:
        return None
    values = [_field(text, *spec) for text, spec in zip(fields, _FIELDS)]
    minutes, hours, doms, months, dows = values
    if minutes is None or hours is None or doms is None or months is None or dows is None:
        return None
    weekdays = {d % 7 for d in dows}
    times = sorted(h * 60 + m for h in hours for m in minutes)
    days = _days(doms, months, weekdays)
    if not days or not times:
        return None
    gaps = [b - a for a, b in zip(times, times[1:])]
    gaps += [(b - a) * 1440 + times[0] - times[-1] for a, b in zip(days, days[1:])]
    return max(gaps) if gaps else None


def _days(doms: set[int], months: set[int], weekdays: set[int]) -> list[int]:
    """The days it runs on, as day numbers (date ordinals)."""
    if len(doms) == 31 and len(months) == 12:  # every day the weekdays allow: one week shows it
        monday = dt.date(2001, 1, 1).toordinal()
        return [monday + n for n in range(14) if (n + 1) % 7 in weekdays]
    days = []
    for year in _YEARS:
        for month in sorted(months):
            for dom in sorted(doms):
                try:
                    day = dt.date(year, month, dom)
                except ValueError:  # the 30th of February
                    continue
                if day.isoweekday() % 7 in weekdays:
                    days.append(day.toordinal())
    return days


def _field(text: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | None:
    values: set[int] = set()
    for part in text.upper().split(","):
        spread = _part(part, low, high, names)
        if spread is None:
            return None
        values |= spread
    return values


def _part(part: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | None:
    span, _, step_text = part.partition("/")
    if span == "H":
        return None if step_text else {low}
    step = _number(step_text, 1, high, ()) if step_text else 1
    first: int | None = low
    last: int | None = high
    if span not in ("*", "?"):
        start, dash, end = span.partition("-")
        first = _number(start, low, high, names)
        last = _number(end, low, high, names) if dash else (high if step_text else first)
    if step is None or first is None or last is None or first > last:
        return None
    return set(range(first, last + 1, step))


def _number(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text in names:
        return low + names.index(text)
    if not text.isdigit() or not low <= int(text) <= high:
        return None
    return int(text)
