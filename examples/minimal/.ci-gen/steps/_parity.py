"""Parity between a source model and its conversion: inputs, comparison, timing, report.

Needs numpy only (every conversion image has it through onnx/onnxruntime), imported lazily
so that a dry run works with a bare Python.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import numpy as np

DTYPES = ("float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool")


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str


def parse_inputs(raw: str) -> list[InputSpec]:
    """CI_GEN_MODEL_INPUTS: a JSON list of {name, shape, dtype}."""
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"CI_GEN_MODEL_INPUTS is not JSON: {exc}") from None
    if not isinstance(items, list) or not items:
        raise ValueError("CI_GEN_MODEL_INPUTS must be a non-empty JSON list")
    specs = []
    for item in items:
        dtype = item.get("dtype", "float32") if isinstance(item, dict) else None
        if dtype not in DTYPES or not isinstance(item.get("shape"), list):
            raise ValueError(f"bad input spec {item!r}: need name, shape (list), dtype in {sorted(DTYPES)}")
        specs.append(InputSpec(str(item["name"]), tuple(int(d) for d in item["shape"]), dtype))
    return specs


# The one dynamic axis with a default range (the same default as the manifest's).
DEFAULT_RANGES = {"batch": (1, 8, 32)}
PROFILE = ("min", "opt", "max")


def axis_name(index: int) -> str:
    return "batch" if index == 0 else f"dim{index}"


def parse_dynamic(raw: str, specs: Sequence[InputSpec]) -> dict[str, tuple[int, int, int]]:
    """CI_GEN_MODEL_DYNAMIC ({"batch": [min, opt, max], "dim1": ...}) completed with the defaults,
    for exactly the axes some input marks -1."""
    try:
        given = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"CI_GEN_MODEL_DYNAMIC is not JSON: {exc}") from None
    if not isinstance(given, dict):
        raise ValueError("CI_GEN_MODEL_DYNAMIC must be a JSON object of [min, opt, max] lists")
    ranges: dict[str, tuple[int, int, int]] = {}
    for spec in specs:
        for index, dim in enumerate(spec.shape):
            if dim != -1:
                continue
            axis = axis_name(index)
            values = given.get(axis, DEFAULT_RANGES.get(axis))
            if values is None:
                raise ValueError(f"dimension {index} of input {spec.name!r} is dynamic (-1) and "
                                 f"CI_GEN_MODEL_DYNAMIC has no range for {axis!r}")
            low, opt, high = (int(v) for v in values)
            if not 1 <= low <= opt <= high:
                raise ValueError(f"CI_GEN_MODEL_DYNAMIC {axis}: need 1 <= min <= opt <= max, got {list(values)}")
            ranges[axis] = (low, opt, high)
    return ranges


def at_profile(specs: Sequence[InputSpec], ranges: dict[str, tuple[int, int, int]], which: str) -> list[InputSpec]:
    """The inputs with every -1 replaced by its min, opt or max size."""
    pick = PROFILE.index(which)
    return [InputSpec(s.name, tuple(ranges[axis_name(i)][pick] if d == -1 else d for i, d in enumerate(s.shape)),
                      s.dtype) for s in specs]


def make_inputs(specs: Sequence[InputSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic example inputs: the same seed gives both models the same data."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        dtype = np.bool_ if spec.dtype == "bool" else np.dtype(spec.dtype).type
        if np.issubdtype(dtype, np.floating):
            arrays[spec.name] = rng.standard_normal(spec.shape).astype(dtype)
        elif dtype is np.bool_:
            arrays[spec.name] = rng.integers(0, 2, spec.shape).astype(np.bool_)
        else:
            # small non-negative ints are valid indices for embeddings and labels
            arrays[spec.name] = rng.integers(0, 10, spec.shape).astype(dtype)
    return arrays


def compare(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray],
            rtol: float, atol: float) -> dict[str, Any]:
    """numpy.allclose semantics per output: |actual - expected| <= atol + rtol * |expected|."""
    import numpy as np

    if len(expected) != len(actual):
        return {"passed": False, "reason": f"{len(expected)} source outputs vs {len(actual)} converted",
                "max_abs_error": None, "max_rel_error": None, "outputs": []}
    rows, passed = [], True
    for index, (want, got) in enumerate(zip(expected, actual)):
        want64 = np.asarray(want, dtype=np.float64)
        got64 = np.asarray(got, dtype=np.float64)
        if want64.shape != got64.shape and np.squeeze(want64).shape == np.squeeze(got64).shape:
            # e.g. sklearn predict() gives (n,) where the ONNX graph gives (n, 1)
            want64, got64 = np.squeeze(want64), np.squeeze(got64)
        if want64.shape != got64.shape:
            rows.append({"index": index, "shape_source": list(want64.shape),
                         "shape_converted": list(got64.shape), "passed": False})
            passed = False
            continue
        diff = np.abs(got64 - want64)
        rel = diff / np.maximum(np.abs(want64), np.finfo(np.float64).tiny)
        ok = bool(np.all(diff <= atol + rtol * np.abs(want64)))
        passed = passed and ok
        rows.append({"index": index, "shape": list(want64.shape), "passed": ok,
                     "max_abs_error": float(diff.max(initial=0.0)),
                     "max_rel_error": float(rel.max(initial=0.0))})
    measured = [r for r in rows if "max_abs_error" in r]
    return {
        "passed": passed,
        "max_abs_error": max((r["max_abs_error"] for r in measured), default=None),
        "max_rel_error": max((r["max_rel_error"] for r in measured), default=None),
        "outputs": rows,
    }


def median_latency_ms(fn: Callable[[], object], runs: int = 5) -> float:
    """Median of `runs` timed calls after one warm-up call (first calls pay for allocation)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return round(statistics.median(times), 4)


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
