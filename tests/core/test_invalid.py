"""Invalid manifests: `tests/invalid/<case>/ci-gen.yaml` and the exact lines `ci-gen validate` prints.

Cases are found automatically. `CI_GEN_UPDATE_GOLDEN=1` rewrites each `expected.txt` from the
current output (review the diff before committing it).
"""
from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.core.helpers import (
    INVALID,
    PROBLEM_LINE,
    UPDATE_GOLDEN,
    assert_no_traceback,
    run_main,
    sort_key,
)

CASES = sorted(p.name for p in INVALID.iterdir() if (p / "ci-gen.yaml").is_file())


def _models_link_outside(repo: Path) -> None:
    # A symlink committed into a repository can point anywhere; git would carry it, so must we.
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "detector.onnx").write_bytes(b"onnx")
    (repo / "models").symlink_to(outside, target_is_directory=True)


# Cases whose point cannot be committed as plain files: prepared in the test's copy of the case.
SETUP: dict[str, Callable[[Path], None]] = {"path-symlink-outside": _models_link_outside}


def test_setup_names_existing_cases() -> None:
    assert set(SETUP) <= set(CASES)
    assert len(CASES) >= 20


@pytest.fixture
def repo_of(tmp_path: Path) -> Callable[[str], Path]:
    def copy(case: str) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        shutil.copy(INVALID / case / "ci-gen.yaml", repo / "ci-gen.yaml")
        SETUP.get(case, lambda _: None)(repo)
        return repo
    return copy


@pytest.mark.parametrize("case", CASES)
def test_invalid_manifest(case: str, repo_of: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_of(case)
    outcome = run_main(["validate", "-C", str(repo)], capsys)
    assert_no_traceback(outcome)
    assert outcome.code == 1, outcome
    assert outcome.out == ""
    expected_file = INVALID / case / "expected.txt"
    if UPDATE_GOLDEN:
        expected_file.write_text(outcome.err, encoding="utf-8")
    assert expected_file.is_file(), f"{expected_file} missing; run with CI_GEN_UPDATE_GOLDEN=1"
    expected = expected_file.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), outcome.err.splitlines(True),
                                        "expected.txt", "ci-gen validate"))
    assert outcome.err == expected, f"{case}: output differs (CI_GEN_UPDATE_GOLDEN=1 rewrites):\n{diff}"
    lines = outcome.err_lines
    assert lines and all(PROBLEM_LINE.match(line)["file"] == "ci-gen.yaml" for line in lines)  # type: ignore[index]
    assert lines == sorted(lines, key=sort_key), "problems are reported sorted by position"


@pytest.mark.parametrize("case", CASES)
def test_json_output_carries_the_same_problems(case: str, repo_of: Callable[[str], Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_of(case)
    outcome = run_main(["validate", "-C", str(repo), "--output", "json"], capsys)
    assert outcome.code == 1
    assert outcome.err == ""
    payload = json.loads(outcome.out)
    assert payload["valid"] is False
    as_text = [f"{p['file']}:{p['line']}:{p['column']}: " + (f"{p['path']}: " if p["path"] else "") + p["message"]
               for p in payload["problems"]]
    assert as_text == (INVALID / case / "expected.txt").read_text(encoding="utf-8").splitlines()
