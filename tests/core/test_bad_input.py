"""Hostile or broken input files, each through the real CLI in its own process.

Each must end in exit 1 and exactly one `file:line:col: message` line, quickly, and never a
Python traceback. The subprocess timeout is the only time limit; durations are recorded.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.core.helpers import EXAMPLES, PROBLEM_LINE, assert_no_traceback, run_process

MB = 1024 * 1024


def billion_laughs() -> bytes:
    # 10 levels of 10 aliases each: 10**9 strings once expanded; a few hundred bytes on disk.
    lines = ["version: 1", "name: lol", "image: {name: registry.example.com/lol}",
             'variables: &a0 {L: ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]}']
    for level in range(1, 10):
        lines.append(f"x{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


def write(content: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(content)


def fifty_megabytes(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"version: 1\nname: big\n# " + b"x" * (50 * MB) + b"\n")


def fifty_gigabytes_sparse(path: Path) -> None:
    # Costs no disk; reading it all would take minutes and 50 GB of memory, so passing in the
    # subprocess timeout shows the size is checked before reading.
    path.touch()
    os.truncate(path, 50 * 1024 * MB)


# case -> (how to make ci-gen.yaml, words the one message must contain)
CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "alias-bomb": (write(billion_laughs()), "alias expansion"),
    "fifty-megabytes": (fifty_megabytes, "the limit is 1,048,576"),
    "fifty-gigabytes-sparse": (fifty_gigabytes_sparse, "the limit is 1,048,576"),
    "binary": (write(bytes(range(256)) * 64), "binary file"),
    "empty": (write(b""), "empty file"),
    "comments-only": (write(b"# ci-gen.yaml\n# nothing here yet\n"), "empty file"),
    "top-level-list": (write(b"- version: 1\n- name: x\n"), "expected a YAML mapping at the top level"),
    "top-level-scalar": (write(b"just some words\n"), "expected a YAML mapping at the top level"),
    "directory": (lambda path: path.mkdir(), "is a directory"),
    "missing": (lambda path: None, "file not found"),
    "not-utf8": (write("version: 1\nname: caf\xe9\n".encode("latin-1")), "not UTF-8"),
    # 50,000 levels: refused by the pre-scan at once (ruamel alone takes seconds past a few thousand)
    "deep-flow-nesting": (write(b"version: 1\nx: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"), "nested more than 64 levels deep"),
    "deep-block-nesting": (write(b"x:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 1200))), "nested more than 64 levels deep"),
    "non-string-key": (write(b"version: 1\nname: x\nimage: {name: x}\nvariables: {0x1F: a}\n"), "is not a string"),
    "two-documents": (write(b"version: 1\n---\nversion: 2\n"), "expected a single document"),
    "dev-zero-symlink": (lambda path: path.symlink_to("/dev/zero"), "outside the repository"),
    "fifo": (lambda path: os.mkfifo(path), "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line(case: str, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    make, words = CASES[case]
    make(tmp_path / "ci-gen.yaml")
    started = time.perf_counter()
    outcome = run_process(["validate"], cwd=tmp_path, timeout=10)
    record_property("seconds", round(time.perf_counter() - started, 3))
    assert_no_traceback(outcome)
    assert outcome.code == 1, outcome
    assert outcome.out == ""
    lines = outcome.err_lines
    assert len(lines) == 1, lines
    match = PROBLEM_LINE.match(lines[0])
    assert match and match["file"] == "ci-gen.yaml", lines[0]
    assert words in match["rest"], lines[0]


@pytest.mark.parametrize("command", [["render"], ["render", "--check"], ["lint"]])
def test_other_commands_refuse_bad_input_the_same_way(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_bytes(billion_laughs())
    outcome = run_process(command, cwd=tmp_path, timeout=10)
    assert_no_traceback(outcome)
    assert outcome.code == 1, outcome
    assert [line for line in outcome.err_lines if PROBLEM_LINE.match(line)] == outcome.err_lines != []
    assert not (tmp_path / ".gitlab-ci.yml").exists()


def test_lint_reads_a_hand_edited_gitlab_file_with_non_string_keys(tmp_path: Path) -> None:
    # lint reads committed files people may have extended; YAML allows a `1:` job, JSON Schema only
    # string keys (this used to end in an internal error). GitLab takes "1" as a job name.
    (tmp_path / "ci-gen.yaml").write_bytes((EXAMPLES / "minimal" / "ci-gen.yaml").read_bytes())
    (tmp_path / ".gitlab-ci.yml").write_text("stages: [build]\n1: {stage: build, script: [echo]}\n", encoding="utf-8")
    outcome = run_process(["lint", "-o", "json"], cwd=tmp_path, timeout=30)
    assert_no_traceback(outcome)
    assert outcome.code == 0, outcome
    results = {r["file"]: r for r in json.loads(outcome.out)["results"]}
    assert results[".gitlab-ci.yml"]["problems"] == []
