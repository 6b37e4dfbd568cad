"""Report handling of the scan step on recorded reports: the severity gate and GitLab formats."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.steps.conftest import DATA, STEPS, step_module

reports = step_module("_reports")
TRIVY = json.loads((DATA / "trivy-image.json").read_text())


@pytest.mark.parametrize("severity, ignore_unfixed, expected", [
    ("CRITICAL", False, {"CVE-2023-45853"}),
    ("CRITICAL", True, set()),                       # the CRITICAL one has no fix
    ("HIGH", True, {"CVE-2024-2511"}),
    ("high", False, {"CVE-2024-2511", "CVE-2023-45853"}),
    ("MEDIUM", True, {"CVE-2024-2511", "CVE-2024-28085", "GHSA-9wx4-h78v-vm56"}),
    ("UNKNOWN", False, {"CVE-2024-2511", "CVE-2023-45853", "CVE-2024-28085", "GHSA-9wx4-h78v-vm56"}),
])
def test_gate_fails_at_or_above_the_severity(severity: str, ignore_unfixed: bool, expected: set[str]) -> None:
    assert {v["VulnerabilityID"] for v in reports.gate(TRIVY, severity, ignore_unfixed)} == expected


def test_gate_rejects_an_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        reports.gate(TRIVY, "SEVERE", False)


def test_gitlab_container_scanning_report_shape() -> None:
    doc = reports.trivy_to_gitlab(TRIVY, "reg/app@sha256:ab")
    assert doc["version"].startswith("15.")
    assert doc["scan"]["type"] == "container_scanning" and doc["scan"]["status"] == "success"
    assert doc["scan"]["scanner"] == {"id": "trivy", "name": "Trivy", "version": "0.58.1",
                                      "vendor": {"name": "Aqua Security"}}
    assert len(doc["scan"]["start_time"]) == 19  # GitLab wants YYYY-MM-DDTHH:MM:SS
    vulns = doc["vulnerabilities"]
    assert len(vulns) == 4, "the duplicated finding must be reported once"
    ssl = next(v for v in vulns if v["identifiers"][0]["value"] == "CVE-2024-2511")
    assert ssl["severity"] == "High"
    assert ssl["identifiers"][0]["type"] == "cve"
    assert ssl["location"] == {"dependency": {"package": {"name": "libssl3"}, "version": "3.0.2-0ubuntu1.14"},
                               "operating_system": "ubuntu 22.04", "image": "reg/app@sha256:ab"}
    assert ssl["solution"] == "Upgrade libssl3 to 3.0.2-0ubuntu1.15"
    ghsa = next(v for v in vulns if v["identifiers"][0]["value"].startswith("GHSA"))
    assert ghsa["identifiers"][0]["type"] == "ghsa"
    # ids are stable across runs, so GitLab tracks a finding from pipeline to pipeline
    assert [v["id"] for v in reports.trivy_to_gitlab(TRIVY, "x")["vulnerabilities"]] == [v["id"] for v in vulns]


def test_secret_report_merges_tools_and_honours_the_baseline() -> None:
    detect = {"results": {"config.py": [
        {"type": "AWS Access Key", "filename": "config.py", "hashed_secret": "aa", "line_number": 1},
        {"type": "Secret Keyword", "filename": "config.py", "hashed_secret": "bb", "line_number": 2}]}}
    baseline = {"results": {"config.py": [{"filename": "config.py", "hashed_secret": "bb"}]}}
    gitleaks = json.loads((DATA / "gitleaks.json").read_text())
    findings = reports.secret_findings(detect, gitleaks, baseline)
    assert [(f["tool"], f["file"], f["line"]) for f in findings] == [
        ("detect-secrets", "config.py", 1), ("gitleaks", "deploy/settings.env", 3)]
    doc = reports.secrets_to_gitlab(findings, "c0ffee")
    assert doc["scan"]["type"] == "secret_detection"
    assert doc["vulnerabilities"][0]["location"] == {"file": "config.py", "start_line": 1, "end_line": 1,
                                                     "commit": {"sha": "c0ffee"}}
    assert "REDACTED" not in json.dumps(doc)


def test_command_line_gate_exit_codes(tmp_path: Path) -> None:
    script = str(STEPS / "_reports.py")
    fail = subprocess.run([sys.executable, script, "trivy-gate", str(DATA / "trivy-image.json"),
                           "--severity", "HIGH", "--ignore-unfixed"], capture_output=True, text=True, check=False)
    assert fail.returncode == 1
    assert fail.stderr.strip() == "1 vulnerabilities at or above HIGH: CVE-2024-2511"
    ok = subprocess.run([sys.executable, script, "trivy-gate", str(DATA / "trivy-image.json"),
                         "--severity", "CRITICAL", "--ignore-unfixed"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    out = tmp_path / "gl.json"
    conv = subprocess.run([sys.executable, script, "trivy-gitlab", str(DATA / "trivy-image.json"), str(out),
                           "--image", "reg/app@sha256:ab"], capture_output=True, text=True, check=False)
    assert conv.returncode == 0 and json.loads(out.read_text())["version"] == reports.GITLAB_SCHEMA_VERSION


def test_scan_image_dry_run_command_lines(run_step) -> None:
    result = run_step("scan", "image", "--dry-run", CI_GEN_IMAGE_REF="reg/app@sha256:ab",
                      CI_GEN_SCAN_SEVERITY="CRITICAL", CI_GEN_SCAN_IGNORE_UNFIXED="0",
                      CI_GEN_REGISTRY_USER="robot", CI_GEN_REGISTRY_PASSWORD="pa55word")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert lines[0] == "+ trivy image --quiet --format json --output .ci-gen/reports/trivy.json reg/app@sha256:ab"
    assert lines[1] == ("+ trivy convert --format sarif --output .ci-gen/reports/trivy.sarif "
                        ".ci-gen/reports/trivy.json")
    assert lines[3].endswith("trivy-gate .ci-gen/reports/trivy.json --severity CRITICAL")
    assert "pa55word" not in result.stdout
