"""Rehearsals: each example's generated .gitlab-ci.yml runs to the end in gitlab-ci-local.

Every job runs its real step script with CI_GEN_DRY_RUN=1 (commands printed, nothing changed)
on gitlab-ci-local's shell executor; the PyTorch example's ONNX conversion job then runs for
real, exporting a tiny TorchScript model and checking parity in onnxruntime.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.tools import require, require_module

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/ci-gen.yaml"))
pytestmark = pytest.mark.heavy


def checkout(example: str, tmp_path: Path) -> Path:
    """A git repository holding the example and its rendered files, as a user would commit it
    (only examples/fraud-detector commits its steps: render writes them for the others)."""
    work = tmp_path / example
    shutil.copytree(REPO / "examples" / example, work, ignore=shutil.ignore_patterns(".gitlab-ci-local"))
    subprocess.run([sys.executable, "-m", "ci_gen", "render"], cwd=work, check=True, capture_output=True)
    git = ["git", "-C", str(work), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(git + ["remote", "add", "origin", f"https://gitlab.example.com/ml/{example}.git"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "example"], check=True)
    return work


def gitlab_ci_local(work: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    binary = require("gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0")
    require("rsync", "apt-get install rsync")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_"))}
    return subprocess.run(
        [binary, "--force-shell-executor", "--shell-isolation", "--no-color", *args],
        cwd=work, capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )


def job_results(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r"^\s*(PASS|FAIL|WARN)\s+(\S+)", output, re.M)}


@pytest.mark.parametrize("example", EXAMPLES)
def test_whole_pipeline_rehearses_in_dry_run(example: str, tmp_path: Path) -> None:
    work = checkout(example, tmp_path)
    gitlab = (work / ".gitlab-ci.yml").read_text()
    jobs = [name for name in re.findall(r"^([a-z0-9-]+):$", gitlab, re.M)
            if name not in ("stages", "variables") and not name.startswith("rollback-")]
    # Approval gates are manual jobs: approve each one, as a person would, to rehearse them too.
    approvals = [arg for name in jobs if _is_manual(gitlab, name) for arg in ("--manual", name)]
    proc = gitlab_ci_local(work, "--variable", "CI_GEN_DRY_RUN=1", *approvals)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    results = job_results(output)
    assert jobs, "the example has jobs"
    assert {name: results.get(name) for name in jobs} == {name: "PASS" for name in jobs}, output[-6000:]
    assert not [name for name in results if name.startswith("rollback-")], "no rollback after a success"
    if "sign-image" in jobs:  # signing, and the signature check of every deploy, rehearsed too
        assert "+ cosign sign --yes" in output and "@sha256:\\<digest\\>" in output, output[-6000:]
        deploys = [name for name in jobs if name.startswith("deploy-")]
        assert output.count("+ cosign verify --output json") >= len(deploys) > 0, output[-6000:]
    for name in (n for n in jobs if n.startswith("deploy-")):  # each deploy leaves its record (docs/report.md)
        record = f".ci-gen/reports/deploy-{name.removeprefix('deploy-')}.json"
        assert f"+ write {record} (deploy record)" in output, name
        assert record in gitlab.split(f"\n{name}:\n", 1)[1].split("\n\n", 1)[0], f"{name} does not archive {record}"


def _is_manual(gitlab: str, job: str) -> bool:
    block = gitlab.split(f"\n{job}:\n", 1)[1].split("\n\n", 1)[0]
    return "when: manual" in block


def test_pytorch_conversion_job_runs_for_real(tmp_path: Path) -> None:
    torch = require_module("torch", "pip install torch==2.13.0 (the steps extra)")
    require_module("onnxruntime", "pip install onnxruntime (the steps extra)")
    work = checkout("fraud-detector", tmp_path)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
    model.eval()
    (work / "models").mkdir()
    with warnings.catch_warnings():  # TorchScript is deprecated upstream yet still what many repos ship
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.trace(model, torch.randn(1, 3, 224, 224)).save(str(work / "models" / "detector.pt"))
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.email=ci@example.com", "-c", "user.name=ci",
                    "commit", "-q", "-m", "model"], check=True)
    proc = gitlab_ci_local(work, "--job", "convert-onnx")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and job_results(output).get("convert-onnx") == "PASS", output[-6000:]
    report = json.loads((work / ".ci-gen" / "reports" / "convert-onnx.json").read_text())
    assert report["passed"] is True, report
    assert (work / ".ci-gen" / "out" / "model.onnx").stat().st_size > 0
