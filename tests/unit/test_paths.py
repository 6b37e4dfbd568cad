"""paths.py, the reading side of the repository boundary: which paths stay inside the repository
(symlinks resolved the way the OS opens them), which files a render could have generated, and
reading a generated file without hanging, following a link out, or reading too much."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci_gen.errors import UserError
from ci_gen.paths import (could_be_generated, is_executable, is_within, manifest_escape_reason, path_escape_reason,
                          read_file, resolve_inside)

TARGET_FILES = frozenset({".gitlab-ci.yml", "Jenkinsfile"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "models" / "m.onnx").write_bytes(b"model")
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", root / "leak")
    os.symlink(tmp_path, root / "up")
    os.symlink("models", root / "inner")
    return root


@pytest.mark.parametrize("value, words", [
    ("/etc/passwd", "is absolute"), ("\\\\server\\share", "is absolute"), ("C:\\x", "is absolute"),
    ("..", "leaves the repository"), ("../x", "leaves the repository"), ("a/../../x", "leaves the repository"),
    ("a\\..\\..\\x", "leaves the repository"),
])
def test_paths_that_leave_the_repository_by_spelling(value: str, words: str) -> None:
    reason = path_escape_reason(value, None)
    suffix = "; paths are relative to the repository root" if "absolute" in words else ""
    assert reason == f"'{value}' {words}{suffix}"


@pytest.mark.parametrize("value", ["models/m.onnx", ".", "a/../b", "inner/m.onnx", "not/there/yet"])
def test_paths_inside_the_repository(repo: Path, value: str) -> None:
    assert path_escape_reason(value, repo) is None


@pytest.mark.parametrize("value", ["leak", "up/secret", "up", "inner/../up/secret"])
def test_paths_that_leave_through_a_symlink(repo: Path, value: str) -> None:
    reason = path_escape_reason(value, repo)
    assert reason is not None and "resolves outside the repository" in reason


def test_dotdot_after_a_symlink_counts_from_where_the_link_leads(repo: Path) -> None:
    """`up/../x` is `<parent of where up leads>/x` to the OS, not `x` in the repository."""
    (repo / "x").write_text("inside")
    assert path_escape_reason("up/../x", repo) is not None
    assert path_escape_reason("inner/../x", repo) is None  # inner leads to models/, inside


def test_is_within_compares_whole_components() -> None:
    assert is_within(Path("/r"), Path("/r")) and is_within(Path("/r"), Path("/r/a/b"))
    assert not is_within(Path("/r"), Path("/rx")) and not is_within(Path("/r/a"), Path("/r"))


def test_resolve_inside_names_the_link_that_leads_out(repo: Path) -> None:
    assert resolve_inside(repo, "inner/m.onnx") == Path(os.path.realpath(repo / "models" / "m.onnx"))
    with pytest.raises(UserError, match=r"^up: a symlink leading outside the repository"):
        resolve_inside(repo, "up/secret")


def test_a_manifest_symlink_may_not_lead_out_of_its_repository(repo: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "secret", repo / "ci-gen.yaml")
    reason = manifest_escape_reason(repo, repo / "ci-gen.yaml")
    assert reason is not None and "outside the repository" in reason
    (repo / "sub").mkdir()
    (repo / "sub" / "ci-gen.yaml").write_text("version: 1\n")
    assert manifest_escape_reason(repo, repo / "sub" / "ci-gen.yaml") is None
    assert manifest_escape_reason(repo, tmp_path / "secret") is None  # named outside on purpose: the caller's choice


def test_read_file_reads_regular_files_and_none_for_missing(repo: Path) -> None:
    assert read_file(repo, "models/m.onnx") == b"model"
    assert read_file(repo, "inner/m.onnx") == b"model"
    assert read_file(repo, "nothing/here") is None


def test_read_file_refuses_what_it_must_not_read(repo: Path) -> None:
    with pytest.raises(UserError, match="symlink leading outside"):
        read_file(repo, "leak")
    with pytest.raises(UserError, match="models: is a directory"):
        read_file(repo, "models")
    os.mkfifo(repo / "fifo")  # opening a FIFO for reading would block until a writer came
    with pytest.raises(UserError, match="fifo: is a FIFO"):
        read_file(repo, "fifo")
    with pytest.raises(UserError, match=r"models/m.onnx: 5 bytes, more than ci-gen generates \(limit 4\)"):
        read_file(repo, "models/m.onnx", limit=4)
    assert read_file(repo, "models/m.onnx", limit=5) == b"model"


@pytest.mark.parametrize("path, executable", [
    (".ci-gen/steps/rollout", True), (".ci-gen/steps/_canary.py", True), (".ci-gen/steps/README.md", False),
    (".ci-gen/steps/data/x.json", False), (".ci-gen/k8s/staging/deployment.yaml", False), ("Jenkinsfile", False),
    (".ci-gen/stepsx/rollout", False),
])
def test_only_step_scripts_are_executable(path: str, executable: bool) -> None:
    assert is_executable(path) is executable


@pytest.mark.parametrize("path", [
    ".gitlab-ci.yml", "Jenkinsfile", ".ci-gen/steps/rollout", ".ci-gen/k8s/staging/service.yaml",
    ".ci-gen/monitoring/sli.json", ".ci-gen/future-folder/file_1.txt",
])
def test_what_a_render_could_have_generated(path: str) -> None:
    assert could_be_generated(path, TARGET_FILES)


@pytest.mark.parametrize("path", [
    ".ci-gen/lock.json",  # the lock lists files; it is never obsolete itself
    ".ci-gen/out/image.env", ".ci-gen/reports/trivy.sarif",  # written by jobs at run time
    ".github/workflows/ci-gen.yml",  # a target this render does not have
    "README.md", "/etc/passwd", "../x", ".ci-gen/../x", ".ci-gen/./x", ".ci-gen//x", ".ci-gen/.hidden",
    ".ci-gen/steps/.x", ".ci-gen/a b", ".ci-gen/",
])
def test_what_no_render_generates(path: str) -> None:
    assert not could_be_generated(path, TARGET_FILES)


def test_a_forged_lock_entry_that_is_not_a_string_is_never_generated() -> None:
    assert not could_be_generated(["Jenkinsfile"], TARGET_FILES)  # type: ignore[arg-type,unused-ignore]
