"""The one interface every step shares: header, --help, --dry-run, masking, bad input."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.steps.conftest import STEPS
from tests.tools import require

STEP_NAMES = ("convert-model", "build-image", "run-test", "scan", "sign", "rollout", "verify", "infra")
SHELL_SCRIPTS = ("build-image", "run-test", "scan", "sign", "rollout", "verify", "infra",
                 "_common.sh", "_build_backends.sh", "_kustomize.sh", "_rollout_strategies.sh", "_cosign.sh")


def header(name: str) -> list[str]:
    """What `ci-gen steps show NAME` prints: the comment block after the shebang."""
    lines = (STEPS / name).read_text().splitlines()[1:]
    block = []
    for line in lines:
        if not line.startswith("#"):
            break
        block.append(line)
    return block


@pytest.mark.parametrize("name", STEP_NAMES)
def test_step_is_executable_with_a_summary_header(name: str) -> None:
    path = STEPS / name
    assert path.stat().st_mode & 0o111, f"{name} is not executable"
    first = path.read_text().splitlines()[0]
    assert first in ("#!/usr/bin/env bash", "#!/usr/bin/env python3", "#!/bin/sh")
    block = header(name)
    assert block[0].startswith(f"# {name}: ") and len(block[0]) < 100
    assert any("CI_GEN_DRY_RUN" in line for line in block)
    assert any(line.startswith("# Exit:") for line in block)


@pytest.mark.parametrize("name", STEP_NAMES)
def test_help_prints_the_header(name: str, run_step) -> None:
    result = run_step(name, "--help")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == header(name)[0][2:]


@pytest.mark.parametrize("name, args", [("scan", ["bogus"]), ("sign", ["bogus"]), ("infra", ["bogus"]), ("rollout", ["bogus"]),
                                        ("verify", ["bogus"]),
                                        ("build-image", ["--frobnicate"]), ("run-test", ["extra"]),
                                        ("convert-model", ["--frobnicate"])])
def test_bad_arguments_fail_with_one_line_and_exit_2(name: str, args: list[str], run_step) -> None:
    result = run_step(name, *args, CI_GEN_APP="app", CI_GEN_IMAGE_REF="r/a@sha256:1")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"ci-gen {name}: error:")


def test_missing_variable_names_it(run_step) -> None:
    result = run_step("build-image", "--dry-run")
    assert result.returncode == 2
    assert "CI_GEN_IMAGE_NAME is required" in result.stderr


def test_dry_run_masks_secrets_and_changes_nothing(run_step, tmp_path: Path) -> None:
    result = run_step("build-image", CI_GEN_DRY_RUN="1", CI_GEN_IMAGE_NAME="reg.example.com/ml/app",
                      CI_GEN_GIT_SHA="abc123", CI_GEN_REGISTRY_USER="robot",
                      CI_GEN_REGISTRY_PASSWORD="s3cret-pa55", CI_GEN_BUILD_ARGS='{"TOKEN_HINT": "s3cret-pa55"}')
    assert result.returncode == 0, result.stderr
    assert "s3cret-pa55" not in result.stdout + result.stderr
    assert "buildah login --tls-verify=true -u robot --password-stdin reg.example.com" in result.stdout
    assert "--build-arg TOKEN_HINT=\\*\\*\\*" in result.stdout or "TOKEN_HINT=***" in result.stdout
    assert not any(tmp_path.iterdir()), "a dry run wrote files"


def test_shell_steps_pass_shellcheck() -> None:
    exe = require("shellcheck", "apt-get install shellcheck")
    repo = STEPS.parent
    files = [f"shared-steps/{n}" for n in SHELL_SCRIPTS] + [".ci/install-steps.sh"]
    result = subprocess.run([exe, "-x", "-S", "warning", *files],
                            cwd=repo, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_run_test_in_place_passes_and_fails(run_step) -> None:
    ok = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_COMMAND="test 2 -gt 1 && echo fine")
    assert ok.returncode == 0 and "fine" in ok.stdout and "unit passed" in ok.stdout
    bad = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_COMMAND="echo boom; exit 3")
    assert bad.returncode == 3
    assert bad.stderr.strip() == "ci-gen run-test: error: test unit failed with exit code 3"


def test_run_test_runs_under_posix_sh(run_step, tmp_path: Path) -> None:
    dash = require("dash", "apt-get install dash")
    result = subprocess.run([dash, str(STEPS / "run-test")], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "CI_GEN_TEST_NAME": "t",
                                 "CI_GEN_TEST_COMMAND": "echo $((1+1))"}, check=False)
    assert result.returncode == 0 and "2" in result.stdout.splitlines()


def test_run_test_in_an_image_uses_docker_run(run_step, tmp_path: Path) -> None:
    result = run_step("run-test", "--dry-run", CI_GEN_TEST_NAME="gpu-smoke", CI_GEN_TEST_GPU="1",
                      CI_GEN_TEST_IMAGE="reg/app@sha256:ab", CI_GEN_TEST_COMMAND="python -m app.smoke")
    assert result.returncode == 0
    assert (f"+ 'docker' 'run' '--rm' '--gpus' 'all' '-e' 'PYTEST_ADDOPTS' '-v' '{tmp_path}:/workspace' '-w' '/workspace' "
            "'reg/app@sha256:ab' 'sh' '-c' 'python -m app.smoke'") in result.stdout


def test_sign_dry_run_key_and_keyless(run_step) -> None:
    keyed = run_step("sign", "--dry-run", CI_GEN_IMAGE_REF="reg/app@sha256:ab",
                     COSIGN_KEY="env://COSIGN_PRIVATE", COSIGN_PASSWORD="hunter22")
    assert keyed.returncode == 0
    assert "+ cosign sign --yes --key *** reg/app@sha256:ab" in keyed.stdout
    keyless = run_step("sign", "verify", "--dry-run", CI_GEN_IMAGE_REF="reg/app@sha256:ab",
                       CI_GEN_COSIGN_IDENTITY_REGEXP="^https://gitlab.example.com/ml/",
                       CI_GEN_COSIGN_OIDC_ISSUER="https://gitlab.example.com")
    assert ("+ cosign verify --output json --certificate-identity-regexp \\^https://gitlab.example.com/ml/ "
            "--certificate-oidc-issuer https://gitlab.example.com reg/app@sha256:ab") in keyless.stdout
    # no default identity: "any identity" would accept anyone's keyless signature
    anyone = run_step("sign", "verify", "--dry-run", CI_GEN_IMAGE_REF="reg/app@sha256:ab")
    assert anyone.returncode == 2 and "nothing to verify against" in anyone.stderr


def test_sign_refuses_a_tag(run_step) -> None:
    result = run_step("sign", CI_GEN_IMAGE_NAME="reg/app", CI_GEN_GIT_SHA="abc")
    assert result.returncode == 1
    assert "sign a digest" in result.stderr


def test_sign_rehearses_with_a_placeholder_digest(run_step) -> None:
    # A rehearsed build-image pushed nothing; the dry run still shows the digest-pinned command.
    result = run_step("sign", "--dry-run", CI_GEN_IMAGE_NAME="reg/app", CI_GEN_GIT_SHA="abc")
    assert result.returncode == 0, result.stderr
    assert "+ cosign sign --yes reg/app@sha256:\\<digest\\>" in result.stdout  # printf %q quoting


def test_sign_takes_the_digest_from_image_env(run_step, tmp_path: Path) -> None:
    out = tmp_path / ".ci-gen" / "out"
    out.mkdir(parents=True)
    (out / "image.env").write_text("CI_GEN_IMAGE_REF=reg/app@sha256:feed\nCI_GEN_IMAGE_DIGEST=sha256:feed\n")
    result = run_step("sign", "--dry-run")
    assert "+ cosign sign --yes reg/app@sha256:feed" in result.stdout


def test_convert_dry_run_needs_no_numpy(run_step, tmp_path: Path) -> None:
    """Rehearsals dry-run every job on a bare shell runner: no framework may be imported."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    for module in ("numpy", "torch", "onnx", "onnxruntime"):
        (blocker / f"{module}.py").write_text(f"raise ImportError('{module} is not installed here')\n")
    result = run_step("convert-model", "--dry-run", PYTHONPATH=str(blocker), CI_GEN_CONVERT_FORMAT="onnx",
                      CI_GEN_MODEL_SOURCE="models/m.pt", CI_GEN_MODEL_FRAMEWORK="pytorch",
                      CI_GEN_MODEL_INPUTS='[{"name": "input", "shape": [1, 3], "dtype": "float32"}]',
                      CI_GEN_CONVERT_OUTPUT=".ci-gen/out/model.onnx")
    assert result.returncode == 0, result.stderr
    assert "+ torch.onnx.export models/m.pt -> .ci-gen/out/model.onnx (opset 17)" in result.stdout
