"""Benchmark `ci-gen report` against the emulators: requests and time of a first report (empty
cache), a daily rerun (10% of the projects deployed once more) and a rerun with nothing new.

    python benchmarks/report_bench.py                 # 300 GitLab projects, 1,000 Jenkins jobs
    python benchmarks/report_bench.py --quick         # 30 and 100

Requests are counted by the emulators (every HTTP request that reached them); wall time is the
whole in-process run (fleet and manifests read, history fetched, cache written, metrics, the
OLS fit, JSON output). Each project holds `--deploys` deployments inside the 30-day window, each
with its deploy record artifact.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "generator")]

from ci_gen.report.main import run_report  # noqa: E402
from ci_gen.report.options import ReportOptions  # noqa: E402
from tests.emulators.gitlab import GitLabEmulator  # noqa: E402
from tests.emulators.jenkins import JenkinsEmulator  # noqa: E402
from tests.report.history import history, manifest, seed_gitlab, seed_jenkins  # noqa: E402

JOBS = 8
DAY = 86400.0


def _env(**values: str) -> None:
    for name in ("CI_GEN_JENKINS_URL", "CI_GEN_JENKINS_USER", "CI_GEN_JENKINS_TOKEN",
                 "CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(values)


def _run(fleet: Path, cache: Path, now: float) -> tuple[int, float, dict[str, Any]]:
    options = ReportOptions(fleet=fleet, since=now - 30 * DAY, until=now + DAY, jobs=JOBS, cache=cache,
                            output="json", json_file=cache.with_suffix(".json"))
    started = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = run_report(options)
    seconds = time.perf_counter() - started
    return code, seconds, json.loads(cache.with_suffix(".json").read_text())


def _three_runs(emu: Any, fleet: Path, work: Path, add_new: Any) -> dict[str, Any]:
    cache, now = work / "cache.sqlite", time.time()
    rows: dict[str, Any] = {}
    for phase in ("first", "daily", "unchanged"):
        if phase == "daily":
            add_new()
        emu.clear_log()
        code, seconds, data = _run(fleet, cache, now)
        assert code == 0, (phase, data["skipped"], [p["error"] for p in data["projects"] if p["error"]])
        rows[phase] = {"requests": len(emu.requests), "seconds": round(seconds, 2),
                       "deploys": data["fleet"]["deployments"]}
    return rows


def gitlab_fleet(size: int, deploys: int, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    with GitLabEmulator() as emu:
        _env(CI_GEN_GITLAB_URL=emu.url, CI_GEN_GITLAB_TOKEN=emu.token)
        now = time.time()
        for i in range(size):
            path = f"ml/app{i}"
            emu.add_project(path, files={"ci-gen.yaml": manifest(f"app{i}", targets="[gitlab]")})
            seed_gitlab(emu, path, history(deploys, now - 3600, seed=i, every_hours=24 * 28 / deploys, app=f"app{i}"))
        fleet = work / "gitlab-fleet.yaml"
        fleet.write_text("version: 1\nprojects:\n" + "".join(f"  - gitlab: ml/app{i}\n" for i in range(size)))

        def add_new() -> None:
            for i in range(0, size, 10):
                seed_gitlab(emu, f"ml/app{i}", history(1, time.time() - 60, seed=10_000 + i, app=f"app{i}"))
        return _three_runs(emu, fleet, work, add_new)


def jenkins_fleet(size: int, deploys: int, work: Path) -> dict[str, Any]:
    with JenkinsEmulator() as emu:
        _env(CI_GEN_JENKINS_URL=emu.url, CI_GEN_JENKINS_USER=emu.user, CI_GEN_JENKINS_TOKEN=emu.token)
        now = time.time()
        emu.create_folder("ml")
        entries = []
        for i in range(size):
            repo = work / "repos" / f"app{i}"
            repo.mkdir(parents=True)
            (repo / "ci-gen.yaml").write_text(manifest(f"app{i}", targets="[jenkins]"))
            entries.append(f"  - path: repos/app{i}\n")
            emu.create_job(f"ml/app{i}", script="pipeline {}")
            seed_jenkins(emu, f"ml/app{i}", history(deploys, now - 3600, seed=i, every_hours=24 * 28 / deploys,
                                                   app=f"app{i}"))
        fleet = work / "jenkins-fleet.yaml"
        fleet.write_text("version: 1\nprojects:\n" + "".join(entries))

        def add_new() -> None:
            for i in range(0, size, 10):
                seed_jenkins(emu, f"ml/app{i}", history(1, time.time() - 60, seed=10_000 + i, app=f"app{i}"))
        return _three_runs(emu, fleet, work, add_new)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--deploys", type=int, default=20, help="deploys per project in the window")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    gitlab_size, jenkins_size = (30, 100) if args.quick else (300, 1000)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["gitlab"] = {"projects": gitlab_size, **gitlab_fleet(gitlab_size, args.deploys, Path(tmp) / "gl")}
        results["jenkins"] = {"projects": jenkins_size, **jenkins_fleet(jenkins_size, args.deploys, Path(tmp) / "jk")}
    print("| server | projects | run | requests | requests / project | seconds | deploys |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for server, row in results.items():
        for phase in ("first", "daily", "unchanged"):
            r = row[phase]
            print(f"| {server} | {row['projects']:,} | {phase} | {r['requests']:,} | "
                  f"{r['requests'] / row['projects']:.2f} | {r['seconds']:.2f} | {r['deploys']:,} |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
