"""Signature verification before a deploy: `sign` signs, `rollout deploy` verifies, then applies.

No cosign can be installed here (no Debian package, no PyPI wheel that ships the CLI), so cosign
is `tests/steps/data/cosign/cosign`, a stand-in on PATH that follows cosign 2.x's documented
exit codes (10 unsigned, 12 no matching signature) and output (JSON payloads naming the
docker-manifest-digest). What is real: the steps' own logic, the real kubectl against the fake
API server, and what reaches the cluster (nothing, when the check fails).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.steps.conftest import DATA, render_k8s

pytestmark = pytest.mark.heavy
APP = "fraud-detector"
NAME = "reg.example.com/ml/fraud-detector"
SIGNED, OTHER = f"{NAME}@sha256:{'1' * 64}", f"{NAME}@sha256:{'2' * 64}"
ISSUER = "https://gitlab.example.com"
IDENTITY = "https://gitlab.example.com/ml/fraud-detector//.gitlab-ci.yml@refs/heads/main"


@pytest.fixture
def cosign(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "cosign.key").write_text("pair: team\n(private half)\n")
    (tmp_path / "cosign.pub").write_text("pair: team\n(public half)\n")
    (tmp_path / "other.pub").write_text("pair: someone-else\n")
    return {"PATH": f"{DATA / 'cosign'}{os.pathsep}{os.environ['PATH']}",
            "COSIGN_STUB_STORE": str(tmp_path / "signatures.json"),
            "COSIGN_STUB_IDENTITY": IDENTITY, "COSIGN_STUB_ISSUER": ISSUER}


@pytest.fixture
def deploy(run_step, kube_env, tmp_path: Path, cosign):
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)

    def run(image: str, *args: str, **extra: str):
        env = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "staging", "CI_GEN_IMAGE_REF": image,
               "CI_GEN_ROLLOUT_TIMEOUT": "3", "CI_GEN_VERIFY_SIGNATURE": "1", **kube_env, **cosign, **extra}
        return run_step("rollout", *args, timeout=120, **env)
    return run


def sign(run_step, cosign, image: str, **extra: str):
    result = run_step("sign", CI_GEN_IMAGE_REF=image, **cosign, **extra)
    assert result.returncode == 0, result.stderr
    return result


def applied(fake_kube) -> list[tuple[str, str]]:
    return [(m, p) for m, p in fake_kube.store.requests if m in ("POST", "PUT", "PATCH", "DELETE")]


def test_a_key_signed_digest_is_verified_then_deployed(run_step, deploy, cosign, fake_kube) -> None:
    sign(run_step, cosign, SIGNED, COSIGN_KEY="cosign.key")
    result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub")
    assert result.returncode == 0, result.stderr
    assert f"+ cosign verify --output json --key cosign.pub {SIGNED}" in result.stdout
    assert f"signature of sha256:{'1' * 64} verified (the key cosign.pub)" in result.stdout
    assert applied(fake_kube)


def test_the_registry_credential_reaches_cosign_through_stdin(run_step, deploy, cosign, fake_kube) -> None:
    sign(run_step, cosign, SIGNED, COSIGN_KEY="cosign.key")
    result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub", CI_GEN_REGISTRY_USER="robot",
                    CI_GEN_REGISTRY_PASSWORD="s3cret-pass")
    assert result.returncode == 0, result.stderr
    assert "+ cosign login reg.example.com -u robot --password-stdin" in result.stdout
    assert "s3cret-pass" not in result.stdout + result.stderr
    assert Path(cosign["COSIGN_STUB_STORE"] + ".login").read_text() == "reg.example.com robot s3cret-pass"


def test_an_unsigned_digest_fails_before_anything_is_applied(deploy, fake_kube) -> None:
    result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"ci-gen rollout: error: signature check failed for {SIGNED}: the image is not signed")
    assert applied(fake_kube) == []


def test_a_signature_by_another_key_fails(run_step, deploy, cosign, fake_kube) -> None:
    sign(run_step, cosign, SIGNED, COSIGN_KEY="cosign.key")
    result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="other.pub")
    assert result.returncode == 1
    assert (f"signature check failed for {SIGNED}: no signature matches the key other.pub "
            "(Error: no matching signatures:)") in result.stderr
    assert applied(fake_kube) == []


def test_keyless_identity_and_issuer_must_both_match(run_step, deploy, cosign, fake_kube) -> None:
    sign(run_step, cosign, SIGNED)  # keyless: the job's OIDC identity
    ok = deploy(SIGNED, CI_GEN_COSIGN_IDENTITY=IDENTITY, CI_GEN_COSIGN_OIDC_ISSUER=ISSUER)
    assert ok.returncode == 0, ok.stderr
    fork = deploy(SIGNED, CI_GEN_COSIGN_IDENTITY_REGEXP="^https://gitlab.example.com/forks/",
                  CI_GEN_COSIGN_OIDC_ISSUER=ISSUER)
    assert fork.returncode == 1 and "no signature matches an identity matching ^https://gitlab.example.com/forks/" in fork.stderr
    other_issuer = deploy(SIGNED, CI_GEN_COSIGN_IDENTITY=IDENTITY, CI_GEN_COSIGN_OIDC_ISSUER="https://gitlab.com")
    assert other_issuer.returncode == 1 and "issued by https://gitlab.com" in other_issuer.stderr


def test_a_payload_for_another_digest_is_refused(deploy, cosign, fake_kube) -> None:
    # cosign said yes, but the signed payload names a different image: never deploy on that
    Path(cosign["COSIGN_STUB_STORE"]).write_text(json.dumps(
        {f"sha256:{'1' * 64}": [{"pair": "team", "claims": f"sha256:{'2' * 64}"}]}))
    result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub")
    assert result.returncode == 1
    assert f"the verified signatures are for sha256:{'2' * 64}, not sha256:{'1' * 64}" in result.stderr
    assert applied(fake_kube) == []


def test_a_tag_is_not_verified(deploy, fake_kube) -> None:
    result = deploy(f"{NAME}:v1", CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub")
    assert result.returncode == 1
    assert "a tag can move, verify the digest that build-image pushed" in result.stderr
    assert applied(fake_kube) == []


def test_the_rollback_after_a_refused_deploy_keeps_the_live_release(run_step, deploy, cosign, fake_kube) -> None:
    sign(run_step, cosign, SIGNED, COSIGN_KEY="cosign.key")
    assert deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub").returncode == 0
    assert deploy(OTHER, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub").returncode == 1  # unsigned
    # the pipeline's rollback job runs after the failed deploy: the live release is not this one
    back = deploy(OTHER, "rollback")
    assert back.returncode == 0, back.stderr
    assert "does not run this release: nothing to undo" in back.stdout
    image = fake_kube.get("deployments", "ml", APP)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == SIGNED


def test_the_dry_run_rehearses_the_check_with_a_placeholder_digest(deploy) -> None:
    result = deploy("", "--dry-run", CI_GEN_IMAGE_NAME=NAME, CI_GEN_GIT_SHA="a" * 40,
                    CI_GEN_COSIGN_IDENTITY=IDENTITY, CI_GEN_COSIGN_OIDC_ISSUER=ISSUER)
    assert result.returncode == 0, result.stderr
    assert (f"+ cosign verify --output json --certificate-identity {IDENTITY} --certificate-oidc-issuer "
            f"{ISSUER} {NAME}@sha256:\\<digest\\>") in result.stdout


def test_a_silent_cosign_failure_and_an_empty_payload_still_give_one_line(deploy, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("silent", "exit 3"), ("empty", "echo '[]'")):
        (bin_dir / "cosign").write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / "cosign").chmod(0o755)
        result = deploy(SIGNED, CI_GEN_COSIGN_PUBLIC_KEY="cosign.pub", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        assert result.returncode == 1, name
        last = result.stderr.strip().splitlines()[-1]
        expected = ("cosign verify exited with 3" if name == "silent"
                    else f"the verified signatures are for no digest, not sha256:{'1' * 64}")
        assert last == f"ci-gen rollout: error: signature check failed for {SIGNED}: {expected}", result.stderr
