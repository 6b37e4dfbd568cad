"""Deployment tiers: which environments count as production.

The same guess GitLab makes for an environment without `deployment_tier`
(`Environment#guess_tier` in app/models/environment.rb), so both systems and the credential rule
agree on what production is.
"""
from __future__ import annotations

import re

TIERS = ("production", "staging", "testing", "development", "other")

_GUESSES = (
    ("development", re.compile(r"(dev|review|trunk)", re.IGNORECASE)),
    ("testing", re.compile(r"(test|tst|int|ac(ce|)pt|qa|qc|control|quality)", re.IGNORECASE)),
    ("staging", re.compile(r"(st(a|)g|mod(e|)l|pre|demo|non)", re.IGNORECASE)),
    ("production", re.compile(r"(pr(o|)d|live)", re.IGNORECASE)),
)


def guess_tier(name: str) -> str:
    """The tier GitLab would give an environment called `name`."""
    for tier, pattern in _GUESSES:
        if pattern.search(name):
            return tier
    return "other"
