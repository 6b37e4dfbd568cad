"""Benchmark what the parser limits cost on the fast path: the nesting pre-scan beside the load.

For each committed example manifest, times in one process, interleaved round by round:
`yamllimits.nesting_bound(text)` (the linear pre-scan), `yamlio._fast_load(text)` (the C loader
and the conversion that bounds alias expansion) and `yamlio.parse(text)` (both, as every reader
calls it). Reports medians in microseconds and the scan's share of `parse`, a ratio that a loaded
machine distorts far less than the absolute figures.

    python benchmarks/bench_parse_limits.py [--rounds 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "generator"))

from ci_gen import yamlio  # noqa: E402
from ci_gen.yamllimits import nesting_bound  # noqa: E402


def timed(call: Callable[[], object], repeat: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - started) / repeat * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print("| manifest | bytes | bound | scan µs | C load µs | parse µs | scan / parse |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in sorted(REPO.glob("examples/*/ci-gen.yaml")):
        text = path.read_text(encoding="utf-8")
        calls = {"scan": lambda: nesting_bound(text), "load": lambda: yamlio._fast_load(text, "x"),
                 "parse": lambda: yamlio.parse(text, "x")}
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for round_ in range(args.rounds):
            names = list(calls)
            names = names[round_ % 3:] + names[:round_ % 3]  # rotate, so load bursts hit all alike
            for name in names:
                samples[name].append(timed(calls[name]))
        scan, load, parse = (statistics.median(samples[n]) for n in ("scan", "load", "parse"))
        print(f"| {path.parent.name} | {len(text.encode()):,} | {nesting_bound(text)} | {scan:.1f} | {load:.1f} "
              f"| {parse:.1f} | {scan / parse:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
