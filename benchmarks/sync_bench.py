"""Benchmark `ci-gen sync` against the emulators, side by side with Jenkins Job Builder.

    python benchmarks/sync_bench.py                      # full run: 10/100/1000 Jenkins, 10/100/300 GitLab, JJB at 1000
    python benchmarks/sync_bench.py --quick              # 10/100 only, JJB at 100
    python benchmarks/sync_bench.py --only gitlab-mr     # just the merge-request-waiting rows
    python benchmarks/sync_bench.py --only multibranch   # just the Multibranch project rows

Requests are counted by the emulators (every HTTP request that reached them); wall time is the
whole command, manifest reading and rendering included. JJB runs as its real CLI
(`jenkins-jobs update`), once with its local cache (its default) and once with `--ignore-cache`
(what it costs when the cache is not trusted: a new CI runner, or a job edited in the UI).
"restores" says whether a plain rerun puts back a job someone deleted in the Jenkins UI.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "generator")]

from ci_gen.sync.main import run_sync  # noqa: E402
from ci_gen.sync.options import SyncOptions  # noqa: E402
from tests.emulators.gitlab import GitLabEmulator  # noqa: E402
from tests.emulators.jenkins import JenkinsEmulator  # noqa: E402
from tests.sync.helpers import local_fleet, manifest, write  # noqa: E402

JOBS = 8


def _timed(call: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    code = call()
    return code, time.perf_counter() - started


def _env(**values: str) -> None:
    for name in ("CI_GEN_JENKINS_URL", "CI_GEN_JENKINS_USER", "CI_GEN_JENKINS_TOKEN",
                 "CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(values)


def _quiet_sync(fleet: Path) -> int:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return run_sync(SyncOptions(fleet=fleet, jobs=JOBS, progress=False, output="json"))


def jenkins_ci_gen(size: int, work: Path, kind: str = "pipeline") -> dict[str, Any]:
    """Pipeline jobs, or (kind multibranch) Multibranch projects on a git branch source."""
    extra = "jenkins: {folder: ml, kind: multibranch}\n" if kind == "multibranch" else ""
    folder = None if extra else "ml"
    fleet = local_fleet(work / f"jk{kind}{size}", {f"app{i}": manifest(f"app{i}", folder=folder, extra=extra)
                                                  for i in range(size)})
    with JenkinsEmulator() as emu:
        _env(CI_GEN_JENKINS_URL=emu.url, CI_GEN_JENKINS_USER=emu.user, CI_GEN_JENKINS_TOKEN=emu.token)
        tool = "ci-gen" if kind == "pipeline" else "ci-gen (multibranch)"
        row: dict[str, Any] = {"tool": tool, "server": "jenkins", "projects": size}
        for phase in ("first", "unchanged"):
            emu.clear_log()
            code, seconds = _timed(lambda: _quiet_sync(fleet))
            assert code == 0, f"ci-gen sync failed ({phase})"
            row[f"{phase}_requests"], row[f"{phase}_seconds"] = len(emu.requests), round(seconds, 2)
        jobs = [n for n in emu.job_names() if n.startswith("ml/")]
        assert len(jobs) == size, (len(jobs), size)
        row["restores_deleted_job"] = _restores_deleted_job(emu, lambda: _quiet_sync(fleet))
    return row


def _restores_deleted_job(emu: JenkinsEmulator, sync: Callable[[], int]) -> bool:
    """Someone deletes a job in the UI; does the next plain run put it back?"""
    emu.item("ml").children.pop("app0")
    sync()
    return emu.item("ml/app0") is not None


def gitlab_ci_gen(size: int) -> dict[str, Any]:
    with GitLabEmulator() as emu:
        for i in range(size):
            text = manifest(f"app{i}", variables={"MODEL_VARIANT": "large"})
            emu.add_project(f"bench/app{i}", files={"ci-gen.yaml": text, "README.md": "# app\n"})
        _env(CI_GEN_GITLAB_URL=emu.url, CI_GEN_GITLAB_TOKEN=emu.token)
        fleet = write(Path(tempfile.mkdtemp()) / "fleet.yaml",
                      "version: 1\ndefaults: {gitlab: {mode: commit}}\ndiscover:\n  - {gitlab_group: bench}\n")
        row: dict[str, Any] = {"tool": "ci-gen", "server": "gitlab", "projects": size}
        for phase in ("first", "unchanged"):
            emu.clear_log()
            code, seconds = _timed(lambda: _quiet_sync(fleet))
            assert code == 0, f"ci-gen sync failed ({phase})"
            row[f"{phase}_requests"], row[f"{phase}_seconds"] = len(emu.requests), round(seconds, 2)
        global_requests = 1 + -(-size // 100)  # /user + the group listing pages
        row["unchanged_requests_per_project"] = round((row["unchanged_requests"] - global_requests) / size, 2)
    return row


def gitlab_mr_waiting(size: int) -> dict[str, Any]:
    """Merge-request mode while the sync MRs wait for review: each project's default branch holds
    an older `.ci-gen/` (an update, not a first adoption), the first run opens the MRs, the
    "unchanged" run is the rerun that finds them waiting. No project declares any setting."""
    with GitLabEmulator() as emu:
        for i in range(size):
            emu.add_project(f"bench/app{i}", files={"ci-gen.yaml": manifest(f"app{i}"), "README.md": "# app\n",
                                                    ".ci-gen/steps/old-step": "#!/bin/sh\necho old\n"})
        _env(CI_GEN_GITLAB_URL=emu.url, CI_GEN_GITLAB_TOKEN=emu.token)
        fleet = write(Path(tempfile.mkdtemp()) / "fleet.yaml",
                      "version: 1\ndefaults: {gitlab: {mode: merge-request}}\ndiscover:\n  - {gitlab_group: bench}\n")
        row: dict[str, Any] = {"tool": "ci-gen (MR waiting)", "server": "gitlab", "projects": size}
        for phase in ("first", "unchanged"):
            emu.clear_log()
            code, seconds = _timed(lambda: _quiet_sync(fleet))
            assert code == 0, f"ci-gen sync failed ({phase})"
            row[f"{phase}_requests"], row[f"{phase}_seconds"] = len(emu.requests), round(seconds, 2)
        assert all(len(emu.project(f"bench/app{i}").merge_requests) == 1 for i in range(size))
        global_requests = 1 + -(-size // 100)
        row["unchanged_requests_per_project"] = round((row["unchanged_requests"] - global_requests) / size, 2)
    return row


JJB_TEMPLATE = """\
- job-template:
    name: 'ml/{app}'
    project-type: pipeline
    description: 'Generated by Jenkins Job Builder'
    triggers: []
    pipeline-scm:
      scm:
        - git:
            url: 'https://git.example.com/{app}.git'
            branches: ['*/main']
      script-path: Jenkinsfile
      lightweight-checkout: true

- project:
    name: bench
    name_list: []
    jobs: []
"""


def _jjb_yaml(size: int, path: Path) -> Path:
    apps = "\n".join(f"      - 'app{i}'" for i in range(size))
    text = (JJB_TEMPLATE.replace("    name_list: []\n    jobs: []\n",
                                   f"    app:\n{apps}\n    jobs:\n      - 'ml/{{app}}'\n"))
    return write(path, text)


def _run(command: list[str], env: dict[str, str]) -> int:
    return subprocess.run(command, env=env, capture_output=True, check=False).returncode


def jenkins_jjb(size: int, work: Path) -> list[dict[str, Any]]:
    jjb = shutil.which("jenkins-jobs")
    if jjb is None:
        return [{"tool": "jenkins-job-builder", "skipped": "pip install jenkins-job-builder 'setuptools<81'"}]
    jobs_yaml = _jjb_yaml(size, work / f"jjb{size}" / "jobs.yaml")
    rows = []
    for cache in ("cache", "ignore-cache"):
        home = Path(tempfile.mkdtemp())  # JJB's cache lives under $HOME/.cache: start empty
        with JenkinsEmulator() as emu:
            # JJB creates folders and their jobs in parallel workers and races itself, so the
            # folder exists beforehand (ci-gen creates its own, one request more for it).
            emu.create_folder("ml")
            ini = write(home / "jjb.ini", f"[job_builder]\nupdate=all\n\n[jenkins]\nurl={emu.url}\n"
                                          f"user={emu.user}\npassword={emu.token}\n")
            command = [jjb, "--conf", str(ini)] + (["--ignore-cache"] if cache == "ignore-cache" else []) \
                + ["update", "--workers", str(JOBS), str(jobs_yaml)]
            row: dict[str, Any] = {"tool": f"jenkins-job-builder ({cache})", "server": "jenkins", "projects": size}
            for phase in ("first", "unchanged"):
                emu.clear_log()
                env = dict(os.environ, HOME=str(home), PYTHONWARNINGS="ignore")
                done, seconds = _timed(functools.partial(_run, command, env))
                assert done == 0, f"jenkins-jobs update failed ({phase})"
                row[f"{phase}_requests"], row[f"{phase}_seconds"] = len(emu.requests), round(seconds, 2)
            assert len([n for n in emu.job_names() if n.startswith("ml/")]) == size
            row["restores_deleted_job"] = _restores_deleted_job(
                emu, functools.partial(_run, command, env))
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--only", choices=["gitlab-mr", "multibranch"], help="run one group of rows only")
    args = parser.parse_args(argv)
    if args.only:
        sizes = [10, 100] if args.quick else [10, 100, 1000]
        rows = [gitlab_mr_waiting(n) for n in sizes[:2] + ([300] if not args.quick else [])] \
            if args.only == "gitlab-mr" else \
            [jenkins_ci_gen(n, Path(tempfile.mkdtemp(prefix="ci-gen-bench-")), "multibranch") for n in sizes]
        _print(rows)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    quick = ([10, 100], [10, 100], 100)
    jenkins_sizes, gitlab_sizes, jjb_size = quick if args.quick else ([10, 100, 1000], [10, 100, 300], 1000)
    work = Path(tempfile.mkdtemp(prefix="ci-gen-bench-"))
    rows = [jenkins_ci_gen(n, work) for n in jenkins_sizes]
    rows += [jenkins_ci_gen(n, work, "multibranch") for n in jenkins_sizes]
    rows += [gitlab_ci_gen(n) for n in gitlab_sizes]
    rows += [gitlab_mr_waiting(n) for n in gitlab_sizes]
    rows += jenkins_jjb(jjb_size, work)
    if jjb_size not in jenkins_sizes:
        rows.append(jenkins_ci_gen(jjb_size, work))
    _print(rows)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _print(rows: list[dict[str, Any]]) -> None:
    header = (f"{'tool':34} {'server':8} {'projects':>8} {'first req':>10} {'first s':>8} {'same req':>9} "
              f"{'same s':>7} {'restores':>8}")
    print(header)
    for r in rows:
        if "skipped" in r:
            print(f"{r['tool']:34} skipped: {r['skipped']}")
            continue
        print(f"{r['tool']:34} {r['server']:8} {r['projects']:>8} {r['first_requests']:>10} "
              f"{r['first_seconds']:>8} {r['unchanged_requests']:>9} {r['unchanged_seconds']:>7} "
              f"{str(r.get('restores_deleted_job', '')):>8}"
              + (f"   ({r['unchanged_requests_per_project']} req/project unchanged)"
                 if "unchanged_requests_per_project" in r else ""))


if __name__ == "__main__":
    sys.exit(main())
