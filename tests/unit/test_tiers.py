"""tiers.py: the tier GitLab guesses for an environment name (`Environment#guess_tier`), which
decides what counts as production for gates, credentials and infrastructure applies. Names from
tests/test_environments.py are not repeated here; these are the order and case rules."""
from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_gen.tiers import TIERS, guess_tier


@pytest.mark.parametrize("name, tier", [
    ("PRODUCTION", "production"), ("Prd", "production"), ("us-LIVE-1", "production"),
    ("prod-dev", "development"),  # development is tried first, as GitLab does
    ("production-test", "testing"),  # testing before staging and production
    ("stage-prod", "staging"),  # staging before production
    ("model-serving", "staging"),  # GitLab's `mod(e|)l` pattern: a known surprise, kept for agreement
    ("int", "testing"), ("acpt", "testing"), ("accept", "testing"), ("trunk", "development"),
    ("demo", "staging"), ("non-prod", "staging"),
    ("blue", "other"), ("", "other"), ("eu-west-1", "other"),
])
def test_the_first_matching_tier_in_gitlabs_order_wins(name: str, tier: str) -> None:
    assert guess_tier(name) == tier


@settings(deadline=None)  # a loaded CI machine must not turn a pause into a failure
@given(st.text(max_size=30))
def test_every_name_gets_a_known_tier(name: str) -> None:
    assert guess_tier(name) in TIERS


@settings(deadline=None)  # a loaded CI machine must not turn a pause into a failure
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=30))
def test_case_never_changes_the_tier(name: str) -> None:
    assert guess_tier(name.upper()) == guess_tier(name.lower()) == guess_tier(name)
