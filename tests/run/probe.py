"""A checkout whose step scripts are replaced by a probe, to watch what a job is given.

The probe (POSIX sh, runs in the busybox image and on gitlab-ci-local's shell executor) prints
`PROBE-START job`, one `PROBE-ENV job NAME=VALUE` line per variable the pipelines set (CI_GEN_*,
the manifest's variables, the predefined commit, branch, job and stage variables), one `PROBE-HAS job FILE` line per file it received in
.ci-gen/out, then leaves an artifact of its own (and, for build-image, the dotenv report).
PROBE_FAIL=<job> makes that job exit 5; PROBE_SLEEP=<job> makes it print `started` and sleep.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STEPS = ("build-image", "convert-model", "run-test", "scan", "sign", "rollout")

PROBE = r"""#!/bin/sh
set -eu
job="$CI_JOB_NAME"
echo "PROBE-START $job"
env | grep -E '^(CI_GEN_[A-Z0-9_]*|MODEL_VARIANT|LOG_LEVEL|PROBE_SECRET|CI_COMMIT_SHA|CI_COMMIT_BRANCH|CI_COMMIT_REF_NAME|CI_JOB_NAME|CI_JOB_STAGE|CI_PIPELINE_SOURCE)=' | sort | sed "s/^/PROBE-ENV $job /"
if [ -d .ci-gen/out ]; then ls .ci-gen/out | sed "s/^/PROBE-HAS $job /"; fi
mkdir -p .ci-gen/out .ci-gen/reports
echo "$job" > ".ci-gen/out/from-$job"
echo "{}" > ".ci-gen/reports/from-$job.json"
if [ "$job" = build-image ]; then echo "CI_GEN_IMAGE_REF=probe.example/app@$CI_COMMIT_SHA" > .ci-gen/out/image.env; fi
if [ "${PROBE_FAIL:-}" = "$job" ]; then echo "failing on purpose"; exit 5; fi
if [ "${PROBE_SLEEP:-}" = "$job" ]; then echo started; sleep 120; fi
echo "PROBE-END $job"
"""


def git(work: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(work), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                   check=True, capture_output=True)


def checkout(example: str, tmp_path: Path, probe: bool = False) -> Path:
    """The example, rendered, committed on branch main (optionally with probe steps)."""
    work = tmp_path / example
    shutil.copytree(REPO / "examples" / example, work, ignore=shutil.ignore_patterns(".gitlab-ci-local"))
    subprocess.run([sys.executable, "-m", "ci_gen", "render"], cwd=work, check=True, capture_output=True)
    if probe:
        for step in STEPS:
            (work / ".ci-gen" / "steps" / step).write_text(PROBE)
            (work / ".ci-gen" / "steps" / step).chmod(0o755)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    git(work, "remote", "add", "origin", f"https://gitlab.example.com/ml/{example}.git")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "example")
    return work


def probe_report(output: str) -> tuple[list[str], dict[str, dict[str, str]], dict[str, set[str]]]:
    """(jobs in start order, each job's variables, each job's received files) from a log."""
    started = re.findall(r"PROBE-START (\S+)", output)
    env: dict[str, dict[str, str]] = {job: {} for job in started}
    for job, name, value in re.findall(r"PROBE-ENV (\S+) ([A-Z0-9_]+)=(.*?)\s*$", output, re.M):
        env.setdefault(job, {})[name] = value
    has: dict[str, set[str]] = {job: set() for job in started}
    for job, name in re.findall(r"PROBE-HAS (\S+) (\S+)", output):
        has.setdefault(job, set()).add(name)
    return started, env, has
