"""The two YAML paths give the same data: ruamel's C loader (valid files, the fast path) and its
round-trip loader (used to locate problems). If they ever disagreed, a manifest could validate
one way and be reported on another."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ci_gen import yamlio
from tests.core.manifest_strategies import examples
from tests.core.test_properties import dump

REPO = Path(__file__).resolve().parents[2]
FILES = sorted(REPO.glob("examples/*/ci-gen.yaml")) + sorted(REPO.glob("tests/golden/*/ci-gen.yaml")) \
    + sorted(REPO.glob("tests/invalid/*/ci-gen.yaml"))


def both(text: str) -> tuple[object, object]:
    fast = yamlio._fast_load(text, "x")
    slow = yamlio.to_plain(yamlio._load_round_trip(text, "x"), "x")
    return fast, slow


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.parent.name}/{p.parent.name}" for p in FILES])
def test_same_data_on_every_committed_manifest(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        fast, slow = both(text)
    except Exception:  # noqa: BLE001 - a file the round-trip loader refuses must not pass the fast one
        assert yamlio._fast_load(text, "x") is None
        return
    assert fast is None or fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_same_data_on_generated_manifests(example: tuple[dict[str, object], object]) -> None:
    fast, slow = both(dump(example[0]))
    assert fast is not None, "a clean generated manifest takes the fast path"
    assert fast == slow


@pytest.mark.parametrize("scalar", ["on", "yes", "No", "0777", "0o17", "0x1F", "1:20", "1e3", "~", "null",
                                    ".inf", "2026-11-29", "'quoted'", "\"\\u00e9\"", "!!str 12"])
def test_same_scalar_semantics(scalar: str) -> None:
    # YAML 1.1 loaders read `on`/`yes` as booleans and `1:20` as sexagesimal; both paths are 1.2.
    fast, slow = both(f"key: {scalar}\n")
    assert fast == slow
