"""fingerprint.py: the digest of everything a render depends on is stable (across processes, install
locations and the order files are found in) and changes when any input changes: the manifest
bytes, a template, a shared step, a schema, a file's name, ci-gen's version."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_gen.data import data_root
from ci_gen.fingerprint import generator_digest, inputs_digest

PACKAGE = Path(__file__).resolve().parents[2] / "generator" / "ci_gen"
PRINT_DIGEST = "from ci_gen.fingerprint import generator_digest; print(generator_digest())"


def digest_in(site: Path) -> str:
    """generator_digest() of the ci_gen installed under `site`, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", PRINT_DIGEST], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def wheel_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package laid out as the wheel installs it (data folders in `ci_gen/_data/`)."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(PACKAGE, site / "ci_gen", ignore=shutil.ignore_patterns("__pycache__", "_data"))
    for folder in ("pipelines", "shared-steps", "schemas"):
        shutil.copytree(data_root() / folder, site / "ci_gen" / "_data" / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_the_digest_is_the_same_in_another_process_and_another_install_location(wheel_like: Path) -> None:
    assert digest_in(wheel_like) == generator_digest()
    assert len(generator_digest()) == 64 and int(generator_digest(), 16) >= 0


def test_every_data_file_and_the_version_go_into_the_digest(wheel_like: Path) -> None:
    data = wheel_like / "ci_gen" / "_data"
    baseline = digest_in(wheel_like)
    seen = {baseline}

    def changed_by(path: Path, new: bytes) -> None:
        old = path.read_bytes()
        path.write_bytes(new)
        try:
            digest = digest_in(wheel_like)
        finally:
            path.write_bytes(old)
        assert digest not in seen, f"changing {path.relative_to(wheel_like)} left the digest as it was"
        seen.add(digest)

    template = data / "pipelines" / "gitlab" / "gitlab-ci.yml.j2"
    changed_by(template, template.read_bytes() + b"\n")
    step = data / "shared-steps" / "rollout"
    changed_by(step, step.read_bytes().replace(b"kubectl", b"kubectI", 1))
    schema = data / "schemas" / "manifest.schema.json"
    changed_by(schema, schema.read_bytes() + b" ")
    version = wheel_like / "ci_gen" / "__init__.py"
    changed_by(version, version.read_bytes().replace(b'__version__ = "', b'__version__ = "9', 1))
    assert digest_in(wheel_like) == baseline  # every change undone: back where it started

    # the same bytes under another name are another input
    step.rename(step.with_name("rollout2"))
    try:
        assert digest_in(wheel_like) not in seen
    finally:
        step.with_name("rollout2").rename(step)


def test_caches_and_python_code_do_not_change_the_digest(wheel_like: Path) -> None:
    """Byte-compiled files appear at run time; ci-gen's own code is covered by its version."""
    baseline = digest_in(wheel_like)
    cache = wheel_like / "ci_gen" / "_data" / "shared-steps" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.cpython-312.pyc").write_bytes(b"\0" * 16)
    (wheel_like / "ci_gen" / "plan.py").write_text("# changed\n" + (PACKAGE / "plan.py").read_text())
    try:
        assert digest_in(wheel_like) == baseline
    finally:
        shutil.rmtree(cache)
        shutil.copy(PACKAGE / "plan.py", wheel_like / "ci_gen" / "plan.py")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_inputs_digest_is_a_function_of_the_manifest_bytes(one: bytes, other: bytes) -> None:
    assert inputs_digest(one) == inputs_digest(bytes(one))
    assert (inputs_digest(one) == inputs_digest(other)) == (one == other)
    assert inputs_digest(one) != generator_digest()


def test_a_reordered_manifest_is_another_input() -> None:
    """The header names the manifest's bytes: reordering keys is a change `render --check` sees."""
    one = b"version: 1\nname: app\nimage: {name: r/app}\n"
    other = b"name: app\nversion: 1\nimage: {name: r/app}\n"
    assert inputs_digest(one) != inputs_digest(other)
