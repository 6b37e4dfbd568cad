"""`ci-gen run` against a real dockerd (tests/run/conftest.py starts one per session).

What runs for real: every container, volume, copy in and out, log stream and cleanup below is
a real Engine API call. The bundled examples' step scripts run in the busybox + bash + python
image with CI_GEN_DRY_RUN=1, because their tools (buildah, trivy, syft, cosign, onnx, kubectl) are
not in an image we can build without a registry; the run-test step runs for real (its test
commands are plain shell here); the probe checkouts (tests/run/probe.py)
replace the steps by a shell script so that artifacts, dotenv reports, failures and Ctrl-C are
exercised for real. Each test checks, through the `run_env` fixture, that nothing labelled by a
run is left on the daemon.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.run.conftest import leftovers
from tests.run.probe import checkout, probe_report

pytestmark = pytest.mark.heavy
EXAMPLES = ["minimal", "churn-sklearn", "fraud-detector"]


def run(work: Path, env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ci_gen", "run", "--network", "none", *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)


def results(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    return {job["name"]: job for job in json.loads(proc.stdout)["jobs"]}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_jobs_run_in_containers_with_steps_in_dry_run(example: str, tmp_path: Path, tools: str,
                                                               run_env: dict[str, str]) -> None:
    work = checkout(example, tmp_path)
    before = subprocess.run(["git", "-C", str(work), "status", "--porcelain"], capture_output=True, text=True).stdout
    proc = run(work, run_env, "--var", "CI_GEN_DRY_RUN=1", "--image", tools, "--built-image", tools,
               "--skip-gpu", "-o", "json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = results(proc)
    for name, job in jobs.items():
        expected = "skipped" if "GPU" in str(job["reason"]) else "passed"
        assert job["result"] == expected, (name, job, proc.stderr[-3000:])
    assert any(job["result"] == "passed" for job in jobs.values())
    assert re.search(r"^build-image +\| == ci-gen build-image", proc.stderr, re.M)  # live, prefixed
    after = subprocess.run(["git", "-C", str(work), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert after == before  # the working tree is copied, never changed


def test_artifacts_dotenv_and_environment_pass_as_the_needs_say(tmp_path: Path, shell_image: str,
                                                               run_env: dict[str, str]) -> None:
    work = checkout("churn-sklearn", tmp_path, probe=True)
    secret = "probe-secret-value-42"
    (tmp_path / "secrets.env").write_text(f"PROBE_SECRET={secret}\n")
    kept = tmp_path / "kept"
    proc = run(work, run_env, "--image", shell_image, "--built-image", shell_image, "--artifacts", str(kept),
               "--secret-file", str(tmp_path / "secrets.env"), "--var", "MODEL_VARIANT=small")
    output = proc.stdout
    assert proc.returncode == 0, output[-4000:] + proc.stderr[-2000:]
    started, env, has = probe_report(output)
    assert started == ["convert-onnx", "build-image", "test-unit", "scan-image", "scan-secrets", "sbom",
                       "scan-model", "sign-image"]
    # Artifacts come from the jobs named in `needs`, not from every earlier job.
    assert has["convert-onnx"] == set()
    assert has["build-image"] == {"from-convert-onnx"}
    # build-image's artifact is the whole of .ci-gen/out, so it carries what it received too.
    assert has["test-unit"] == {"from-convert-onnx", "from-build-image", "image.env"}
    assert has["scan-secrets"] == set()
    assert has["sign-image"] == has["test-unit"]  # scan-image's artifact holds only reports
    # The dotenv report of build-image reaches the jobs that need it, as in GitLab.
    assert env["test-unit"]["CI_GEN_IMAGE_REF"].startswith("probe.example/app@")
    assert "CI_GEN_IMAGE_REF" not in env["scan-secrets"]
    assert env["convert-onnx"]["LOG_LEVEL"] == "info" and env["convert-onnx"]["CI_GEN_CONVERT_FORMAT"] == "onnx"
    # The secret reached the job, and no output shows it.
    assert env["scan-secrets"]["PROBE_SECRET"] == "***"
    assert secret not in output + proc.stderr
    assert (kept / "build-image" / ".ci-gen" / "out" / "image.env").is_file()
    assert (kept / "scan-image" / ".ci-gen" / "reports" / "from-scan-image.json").is_file()
    assert "passed" in output and "ci-gen run" in output  # the summary table


def test_a_failing_job_stops_its_dependants_and_its_exit_code_is_kept(tmp_path: Path, shell_image: str,
                                                                     run_env: dict[str, str]) -> None:
    work = checkout("churn-sklearn", tmp_path, probe=True)
    proc = run(work, run_env, "--image", shell_image, "--built-image", shell_image, "--var", "PROBE_FAIL=build-image",
               "-o", "json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    jobs = results(proc)
    assert jobs["build-image"]["result"] == "failed" and jobs["build-image"]["exit_code"] == 5
    for name in ("test-unit", "scan-image", "sbom", "sign-image"):
        assert jobs[name]["result"] == "skipped" and jobs[name]["reason"] == "needs build-image, which failed", name
    for name in ("convert-onnx", "scan-secrets", "scan-model"):
        assert jobs[name]["result"] == "passed", name
    assert "build-image  | failing on purpose" in proc.stderr  # the log, live and prefixed, on stderr in json mode


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_mid_job_leaves_nothing_behind(signum: int, tmp_path: Path, shell_image: str,
                                                    run_env: dict[str, str], docker_client: object) -> None:
    work = checkout("minimal", tmp_path, probe=True)
    proc = subprocess.Popen([sys.executable, "-m", "ci_gen", "run", "--network", "none", "--image", shell_image,
                             "--var", "PROBE_SLEEP=build-image"], cwd=work, env=run_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        seen.append(line)
        if line.rstrip().endswith("| started") or time.monotonic() > deadline:
            break
    assert seen and seen[-1].rstrip().endswith("| started"), "".join(seen)
    assert leftovers(docker_client)["containers"]  # the job's container is there, running
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in out
    assert "PROBE-END build-image" not in out  # it did not run to the end


def test_clean_removes_what_a_killed_run_left(tmp_path: Path, shell_image: str, run_env: dict[str, str],
                                              docker_client: object) -> None:
    labels = {"dev.ci-gen.run": "killed0001", "dev.ci-gen.job": "build-image"}
    docker_client.volumes.create("ci-gen-killed0001-build-image", labels=labels)  # type: ignore[attr-defined]
    docker_client.containers.create(shell_image, ["sleep", "60"], name="ci-gen-killed0001-build-image",  # type: ignore[attr-defined]
                                    labels=labels, network_mode="none")
    docker_client.containers.create(shell_image, ["true"], name="not-ours-" + tmp_path.name[-8:],  # type: ignore[attr-defined]
                                    network_mode="none")
    proc = run(tmp_path, run_env, "--clean", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["removed"] == {"containers": 1, "volumes": 1, "networks": 0}
    other = docker_client.containers.get("not-ours-" + tmp_path.name[-8:])  # type: ignore[attr-defined]
    other.remove()  # an unlabelled container is never touched


def test_gpu_jobs_stop_the_run_before_it_starts_without_an_nvidia_runtime(tmp_path: Path, shell_image: str,
                                                                           run_env: dict[str, str]) -> None:
    work = checkout("fraud-detector", tmp_path, probe=True)
    proc = run(work, run_env, "--image", shell_image, "--built-image", shell_image)
    assert proc.returncode == 1
    assert "convert-tensorrt, test-gpu-smoke need a GPU, but the Docker daemon has no NVIDIA runtime" in proc.stderr
    assert "PROBE-START" not in proc.stdout


def test_a_job_whose_image_cannot_be_had_fails_with_the_reason(tmp_path: Path, shell_image: str,
                                                               run_env: dict[str, str]) -> None:
    work = checkout("minimal", tmp_path, probe=True)
    proc = run(work, run_env, "--image", "ci-gen-test/absent:1", "--only", "scan-secrets", "-o", "json")
    assert proc.returncode == 1
    job = results(proc)["scan-secrets"]
    assert job["result"] == "failed" and "ci-gen-test/absent:1 is not on the Docker daemon" in str(job["reason"])


def test_bind_mounts_the_working_tree_instead_of_a_copy(tmp_path: Path, shell_image: str,
                                                        run_env: dict[str, str]) -> None:
    work = checkout("minimal", tmp_path, probe=True)
    proc = run(work, run_env, "--image", shell_image, "--bind", "--only", "scan-secrets")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (work / ".ci-gen" / "out" / "from-scan-secrets").read_text() == "scan-secrets\n"  # written in place


def test_the_real_run_test_step_keeps_the_tests_exit_code_and_output(tmp_path: Path, shell_image: str,
                                                                    run_env: dict[str, str]) -> None:
    """No dry run here: the shared run-test step runs each test command for real, in the image
    that stands in for the built app image."""
    work = tmp_path / "app"
    work.mkdir()
    (work / "ci-gen.yaml").write_text(
        "version: 1\nname: app\nimage: {name: registry.example.com/app}\n"
        "test:\n  - {name: unit, run: 'echo unit-ok from $CI_JOB_NAME; test -f ci-gen.yaml'}\n"
        "  - {name: broken, run: 'echo broken-out >&2; exit 7'}\n")
    proc = run(work, run_env, "--built-image", shell_image, "--only", "test-unit", "test-broken", "-o", "json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    jobs = results(proc)
    assert jobs["test-unit"]["result"] == "passed" and jobs["test-unit"]["exit_code"] == 0
    assert jobs["test-broken"]["result"] == "failed" and jobs["test-broken"]["exit_code"] == 7
    assert re.search(r"^test-unit +\| unit-ok from test-unit$", proc.stderr, re.M), proc.stderr
    assert re.search(r"^test-broken +\| broken-out$", proc.stderr, re.M), proc.stderr
