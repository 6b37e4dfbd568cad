"""The README's second command, `scripts/test.sh`, on machines unlike CI's: its dependencies go
into a virtual environment it makes or reuses (never the interpreter first on PATH), and without
root `.ci/install-steps.sh` runs no apt-get but names what is missing. The scripts run for real;
nothing is installed from the network: the venv gets a wheel built here, and the installers run
with `--dry-run` / CI_GEN_DRY_RUN=1, which say what they would run."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
# What the scripts need besides the tools under test: a machine with none of the system tools.
BASICS = ("bash", "env", "id", "cat", "grep", "sed", "dirname", "basename", "printf", "dpkg-query", "rm", "mkdir")


def wheel(tmp_path: Path) -> Path:
    """A one-module wheel, `cigen_tiny`, built by hand: pip installs it with --no-index."""
    path = tmp_path / "cigen_tiny-1.0-py3-none-any.whl"
    files = {
        "cigen_tiny.py": b"VALUE = 42\n",
        "cigen_tiny-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: cigen-tiny\nVersion: 1.0\n",
        "cigen_tiny-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("cigen_tiny-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("cigen_tiny-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def venv_state(venv: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(["bash", "-c", '. scripts/venv.sh && ci_gen_venv "$1" && echo "$CI_GEN_VENV_STATE $CI_GEN_VENV_DIR"',
                           "-", str(venv)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_venv_is_created_then_reused_and_isolated(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["CI_GEN_BASE_PYTHON"] = sys.executable
    venv = tmp_path / "venv"
    assert venv_state(venv, env) == f"created {venv}"
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check",
                              str(wheel(tmp_path))], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    assert venv_state(venv, env) == f"reused {venv}"  # the second run keeps what the first installed
    probe = "import cigen_tiny; print(cigen_tiny.VALUE)"
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True).stdout == "42\n"
    outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert outside.returncode != 0 and "No module named 'cigen_tiny'" in outside.stderr
    # An active virtualenv is the user's choice: used as it is, nothing created.
    assert venv_state(tmp_path / "unused", {**env, "VIRTUAL_ENV": str(venv)}) == f"active {venv}"
    assert not (tmp_path / "unused").exists()


@pytest.fixture
def bare_path() -> Iterator[Path]:
    """A PATH folder holding only BASICS: every tool the suite needs is missing. World-readable,
    for the non-root run; apt-get there is a tripwire that records being called."""
    folder = Path(tempfile.mkdtemp(prefix="ci-gen-bare-path-"))
    os.chmod(folder, 0o755)
    for name in BASICS:
        found = shutil.which(name)
        if found:
            (folder / name).symlink_to(found)
    tripwire = folder / "apt-get"
    tripwire.write_text(f"#!/bin/sh\necho called >> {folder}/apt-get.called\nexit 1\n", encoding="utf-8")
    tripwire.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def as_non_root() -> list[str]:
    """The command prefix that drops root (to `nobody`), or nothing when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv or not os.stat(REPO / "scripts" / "test.sh").st_mode & stat.S_IROTH:
        pytest.skip("as root, dropping to nobody needs setpriv and a world-readable checkout")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def script(prefix: list[str], args: list[str], path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(path), "HOME": "/nonexistent", "LANG": "C.UTF-8", **extra}
    return subprocess.run([*prefix, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_install_steps_without_root_runs_no_apt_get_and_names_what_is_missing(bare_path: Path) -> None:
    proc = script(as_non_root(), ["bash", ".ci/install-steps.sh"], bare_path, CI_GEN_DRY_RUN="1")
    assert proc.returncode == 0, proc.stderr
    warning = next(line for line in proc.stderr.splitlines() if "warning: missing" in line)
    for package in ("buildah", "skopeo", "shellcheck", "kubernetes-client", "prometheus"):
        assert f" {package}" in warning
    assert "not root: no apt-get" in warning and "will skip" in warning
    assert "apt-get install" not in proc.stdout and not (bare_path / "apt-get.called").exists()
    # Run on its own, its pip tools go into the checkout's .venv too, never the system's python3.
    assert f"would run: {REPO}/.venv/bin/python -m pip install" in proc.stdout


def test_install_steps_as_root_would_apt_get_the_missing_packages(bare_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the root path needs root")
    proc = script([], ["bash", ".ci/install-steps.sh"], bare_path, CI_GEN_DRY_RUN="1")
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("would run: apt-get install"))
    assert "shellcheck" in line and "buildah" in line and "kubernetes-client" in line


def test_test_sh_without_root_or_npm_warns_and_installs_into_the_venv(bare_path: Path) -> None:
    # An active virtualenv (a folder whose bin/python runs): test.sh installs into it, creates none.
    venv = Path(tempfile.mkdtemp(prefix="ci-gen-venv-"))
    try:
        os.chmod(venv, 0o755)
        (venv / "bin").mkdir(mode=0o755)
        # nobody cannot run an interpreter under /root (pyenv, say): Debian's, when there is one.
        python = "/usr/bin/python3" if os.geteuid() == 0 and os.path.exists("/usr/bin/python3") else sys.executable
        (venv / "bin" / "python").symlink_to(python)
        proc = script(as_non_root(), ["bash", "scripts/test.sh", "--dry-run", "-x", "tests/core"], bare_path,
                      VIRTUAL_ENV=str(venv))
    finally:
        shutil.rmtree(venv)
    assert proc.returncode == 0, proc.stderr
    assert f"python packages go into the virtual environment {venv} (active)" in proc.stdout
    assert "warning: missing groovy default-jdk-headless shellcheck git rsync chromium (not root: no apt-get)" in proc.stderr
    assert "warning: npm not found: gitlab-ci-local not installed" in proc.stderr
    assert f"would run: {venv}/bin/python -m pip install -q --disable-pip-version-check -e .[test,steps,run,report,datadog]" in proc.stdout
    assert f"would run: {venv}/bin/python -m pytest -x tests/core" in proc.stdout
    assert "pip install torch==2.13.0 onnx" in proc.stdout and f"({venv}/bin/python)" in proc.stdout


def test_dry_run_creates_no_venv(bare_path: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    proc = script([], ["bash", "scripts/test.sh", "--dry-run"], bare_path, CI_GEN_VENV=str(venv))
    assert proc.returncode == 0, proc.stderr
    assert f"virtual environment {venv} (would be created with python3 -m venv)" in proc.stdout
    assert not venv.exists()
    assert not (bare_path / "apt-get.called").exists()


def test_the_cpu_torch_index_is_one_variable(bare_path: Path) -> None:
    proc = script([], ["bash", ".ci/install-steps.sh"], bare_path, CI_GEN_DRY_RUN="1", CI_GEN_PYTHON="/venv/bin/python",
                  CI_GEN_TORCH_INDEX="https://download.pytorch.org/whl/cpu")
    assert proc.returncode == 0, proc.stderr
    assert ("would run: /venv/bin/python -m pip install -q --disable-pip-version-check --index-url "
            "https://download.pytorch.org/whl/cpu torch==2.13.0") in proc.stdout


def test_no_python_to_make_the_venv_is_one_clear_error(bare_path: Path, tmp_path: Path) -> None:
    proc = script(as_non_root(), ["bash", "scripts/test.sh"], bare_path, CI_GEN_VENV=str(tmp_path / "venv"),
                  CI_GEN_BASE_PYTHON="/nonexistent/python3")
    assert proc.returncode == 1
    assert proc.stderr == ("error: /nonexistent/python3 not found: install Python 3.10 or newer "
                           "(Debian: apt-get install python3 python3-venv)\n")
