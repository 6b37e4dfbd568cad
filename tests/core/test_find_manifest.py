"""The manifest is found like git finds .git: from the working directory up to the repository root."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tests.core.helpers import EXAMPLES, run_process


def _git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_commands_in_a_subdirectory_use_the_repository_manifest(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo")
    (repo / "ci-gen.yaml").write_bytes((EXAMPLES / "fraud-detector" / "ci-gen.yaml").read_bytes())
    for path in ("models/detector.pt",):  # what the example's rules check exists
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(b"model")
    deep = repo / "src" / "app"
    deep.mkdir(parents=True)
    validated = run_process(["validate"], cwd=deep)
    assert validated.code == 0, validated
    assert run_process(["render"], cwd=deep).code == 0
    assert (repo / ".gitlab-ci.yml").is_file() and not (deep / ".gitlab-ci.yml").exists()
    assert run_process(["render", "--check"], cwd=deep).code == 0
    text = (repo / "ci-gen.yaml").read_text(encoding="utf-8")
    (repo / "ci-gen.yaml").write_text(text.replace("name: fraud-detector", "name: Fraud_Detector", 1), encoding="utf-8")
    problems = run_process(["validate"], cwd=deep).err_lines
    assert problems and problems[0].startswith("../../ci-gen.yaml:3:1: name: 'Fraud_Detector'")  # a path from here


def test_not_found_names_every_folder_searched_and_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_text("version: 1\n", encoding="utf-8")  # above the repository: ignored
    repo = _git_repo(tmp_path / "repo")
    deep = repo / "a" / "b"
    deep.mkdir(parents=True)
    outcome = run_process(["validate"], cwd=deep)
    assert outcome.code == 1
    assert outcome.err_lines == [
        f"ci-gen.yaml:1:1: file not found in {deep}, {repo / 'a'}, {repo} (up to the repository root); "
        "`ci-gen init` writes a starter, -C DIR / -f FILE point elsewhere"]


def test_outside_a_repository_only_the_working_directory_is_searched(tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_text("version: 1\n", encoding="utf-8")
    inner = tmp_path / "inner"
    inner.mkdir()
    outcome = run_process(["validate"], cwd=inner)
    assert outcome.code == 1
    assert f"file not found in {inner} (not inside a git repository" in outcome.err
