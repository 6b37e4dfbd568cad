"""The benchmarks in `benchmarks/` still run, at their smallest sizes.

Their numbers are for people to read side by side (benchmarks/README.md); nothing here times
anything. A refactor that breaks a benchmark's imports or its inputs (the example manifests, the
emulators) fails here instead of on the day someone wants the numbers.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SMALLEST = {
    "bench_parse_limits.py": (["--rounds", "2"], "| fraud-detector |"),
    "bench_render_fleet.py": (["--sizes", "2", "--repeats", "1"], "|         2 |"),
    "sync_bench.py": (["--quick", "--only", "multibranch"], "multibranch"),
}


def test_every_benchmark_is_listed_here_or_too_slow_for_the_suite() -> None:
    slow = {"bench_precommit.py", "report_bench.py"}  # 25-30 s each even at their smallest
    assert {p.name for p in (REPO / "benchmarks").glob("*.py")} == set(SMALLEST) | slow


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_benchmark_runs_at_its_smallest_size(script: str) -> None:
    args, expected = SMALLEST[script]
    env = dict(os.environ, PYTHONPATH=str(REPO / "generator"))
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
