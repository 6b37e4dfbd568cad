"""Benchmark rendering a fleet in one process, through the library, as `ci-gen sync` does.

Generates distinct, valid manifests (strategies, targets, models, environments and tests vary
from one to the next), then for fleets of 10, 100 and 1,000 times
`ci_gen.manifest.load_manifest_bytes` + `ci_gen.generated.render_manifest` for each, and reports ms
per manifest, split into load (parse + validate + model) and render (plan + templates + steps +
lock). The first manifest of the process is timed apart: it pays for imports and for compiling
the templates once. Target: under 5 ms per manifest at 1,000.

    python benchmarks/bench_render_fleet.py [--sizes 10,100,1000] [--repeats 3] [--profile]

--profile runs the largest fleet once more under cProfile and prints where the time goes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

TARGET_MS = 5.0

STRATEGIES = ("rolling", "blue-green", "canary")
TARGETS = ("[gitlab, jenkins]", "[gitlab]", "[jenkins]")


def manifest_text(index: int) -> str:
    """A valid manifest; `index` picks one combination of the features that change the output."""
    strategy = STRATEGIES[index % 3]
    gpu = index % 4 == 0
    lines = [
        "version: 1",
        f"name: app-{index:05d}",
        f"targets: {TARGETS[(index // 3) % 3]}",
    ]
    if index % 2 == 0:
        lines += [
            "model:",
            f"  path: models/model-{index}.pt",
            "  framework: pytorch",
            "  inputs:",
            f"    - {{name: input, shape: [1, 3, {64 + index % 5 * 32}, {64 + index % 5 * 32}], dtype: float32}}",
            "  convert:",
            "    - {format: onnx, opset: 17}",
        ]
        if gpu:
            lines.append("    - {format: tensorrt, precision: fp16}")
    lines += [
        "image:",
        f"  name: registry.example.com/fleet/app-{index:05d}",
        "  build_args: {PYTHON_VERSION: \"3.11\"}",
        "test:",
    ]
    for t in range(1 + index % 3):
        lines.append(f"  - {{name: suite-{t}, run: \"pytest -q tests/suite_{t} -k 'not slow'\", gpu: {str(gpu and t == 0).lower()}}}")
    lines += ["deploy:", f"  strategy: {strategy}"]
    if strategy == "canary":
        lines += [
            "  canary:",
            "    steps: [10, 50]",
            "    analysis: {prometheus: \"http://prometheus.monitoring:9090\", max_error_rate: 0.02}",
        ]
    lines.append("  environments:")
    for e, env in enumerate(("staging", "preprod", "production")[: 1 + index % 3]):
        # production's own kubeconfig: the others may not inherit a production credential
        extra = ", approval: true, branch: main, credentials: {kubeconfig: kube-prod}" if env == "production" else ""
        lines.append(f"    - {{name: {env}, kubernetes: {{namespace: ns-{index % 17}}}, replicas: {e + 1}"
                     f"{', gpu: 1' if gpu and env == 'production' else ''}{extra}}}")
    lines += [
        "runners:",
        "  gitlab: {default: [docker], gpu: [gpu]}",
        "  jenkins: {default: linux, gpu: gpu}",
        "jenkins: {folder: fleet, credentials: {registry: registry-creds, kubeconfig: kube}}",
        f"variables: {{TEAM: team-{index % 7}, RELEASE: '{index}'}}",
        "secrets: [REGISTRY_PASSWORD]",
        "schedules:",
        f"  - {{name: nightly, cron: \"{index % 60} 3 * * *\"}}",
    ]
    return "\n".join(lines) + "\n"


def render_one(raw: bytes) -> tuple[float, float]:
    from ci_gen.manifest import load_manifest_bytes
    from ci_gen.generated import render_manifest

    start = time.perf_counter()
    manifest = load_manifest_bytes(raw, "ci-gen.yaml")
    loaded = time.perf_counter()
    rendered = render_manifest(manifest, raw)
    done = time.perf_counter()
    assert rendered.files  # keep the result alive until timed
    return loaded - start, done - loaded


def fleet(first: int, size: int) -> list[bytes]:
    return [manifest_text(first + i).encode() for i in range(size)]


def run_fleet(manifests: list[bytes], one: Callable[[bytes], tuple[float, float]] = render_one) -> tuple[float, float, float]:
    """Wall ms per manifest over the whole fleet, and its load and render parts."""
    load = render = 0.0
    start = time.perf_counter()
    for raw in manifests:
        a, b = one(raw)
        load += a
        render += b
    wall = time.perf_counter() - start
    n = len(manifests)
    return wall / n * 1000, load / n * 1000, render / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="fleet sizes (default 10,100,1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is reported (default 3)")
    parser.add_argument("--profile", action="store_true", help="profile the largest fleet with cProfile")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import_start = time.perf_counter()
    import ci_gen.manifest  # noqa: F401
    import ci_gen.generated  # noqa: F401
    imported = time.perf_counter() - import_start
    cold_load, cold_render = render_one(manifest_text(999_999).encode())

    load_before = os.getloadavg()[0]
    rows = []
    first = 0
    for size in sizes:
        runs = []
        for _ in range(args.repeats):
            runs.append(run_fleet(fleet(first, size)))
            first += size  # fresh manifests every run: nothing is reused by content
        wall = statistics.median(r[0] for r in runs)
        rows.append((size, wall, statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)))
    load_after = os.getloadavg()[0]

    print(f"one process, {args.repeats} runs per size (median); load average {load_before:.2f} before, "
          f"{load_after:.2f} after; {os.cpu_count()} CPUs; {sys.version.split()[0]}")
    print(f"imports {imported * 1000:.0f} ms; first manifest {(cold_load + cold_render) * 1000:.1f} ms "
          f"(load {cold_load * 1000:.1f}, render {cold_render * 1000:.1f}: templates compiled once)\n")
    print("| manifests | ms / manifest | load ms | render ms | total s |")
    print("| --------: | ------------: | ------: | --------: | ------: |")
    for size, wall, load, render in rows:
        print(f"| {size:>9,} | {wall:13.2f} | {load:7.2f} | {render:9.2f} | {wall * size / 1000:7.2f} |")
    largest = rows[-1]
    met = largest[1] < TARGET_MS
    print(f"\ntarget: under {TARGET_MS:g} ms per manifest at {largest[0]:,}: {'met' if met else 'NOT met'}")

    if args.profile:
        import cProfile
        import pstats

        manifests = fleet(first, sizes[-1])
        profiler = cProfile.Profile()
        profiler.enable()
        run_fleet(manifests)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
