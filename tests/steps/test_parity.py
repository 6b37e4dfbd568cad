"""Parity arithmetic of convert-model (numpy only)."""
from __future__ import annotations

import pytest

from tests.steps.conftest import step_module
from tests.tools import require_module

np = require_module("numpy", "pip install numpy")
parity = step_module("_parity")


def test_compare_uses_allclose_semantics() -> None:
    want = [np.array([1.0, 100.0], dtype=np.float32)]
    ok = parity.compare(want, [np.array([1.0 + 1e-6, 100.05])], rtol=1e-3, atol=1e-5)
    assert ok["passed"] and ok["max_abs_error"] == pytest.approx(0.05, rel=1e-3)
    bad = parity.compare(want, [np.array([1.01, 100.0])], rtol=1e-3, atol=1e-5)
    assert not bad["passed"] and bad["max_rel_error"] == pytest.approx(0.01, rel=1e-3)


def test_compare_squeezes_singleton_dims_but_not_real_shape_changes() -> None:
    assert parity.compare([np.zeros(3)], [np.zeros((3, 1))], 0, 0)["passed"]
    assert not parity.compare([np.zeros(3)], [np.zeros(4)], 0, 0)["passed"]
    assert not parity.compare([np.zeros(3)], [], 0, 0)["passed"]


def test_inputs_are_deterministic_and_typed() -> None:
    specs = parity.parse_inputs('[{"name": "x", "shape": [2, 3], "dtype": "float16"},'
                                ' {"name": "ids", "shape": [2], "dtype": "int64"}]')
    a, b = parity.make_inputs(specs), parity.make_inputs(specs)
    assert a["x"].dtype == np.float16 and a["ids"].dtype == np.int64
    assert (a["x"] == b["x"]).all() and (a["ids"] == b["ids"]).all()


@pytest.mark.parametrize("raw", ["{}", "[]", '[{"name": "x", "shape": 3}]', '[{"name": "x", "shape": [1], "dtype": "str"}]'])
def test_bad_input_specs(raw: str) -> None:
    with pytest.raises(ValueError):
        parity.parse_inputs(raw)
