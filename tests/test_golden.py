"""Golden files: each case's rendered output must match the committed bytes.

`examples/fraud-detector` is the picture of a user's repository: its whole rendered tree is
committed (pipelines, `.ci-gen/steps/`, Kubernetes and monitoring files, the lock) and compared.
The other examples and every `tests/golden/<case>/ci-gen.yaml`, found automatically, are compared
on the pipeline, Kubernetes and monitoring files only, and must commit nothing else: no copies of
`shared-steps/`. Refresh with `CI_GEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py`.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from ci_gen.manifest import load_manifest
from ci_gen.generated import render_manifest, write
from ci_gen.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
FULL_EXAMPLE = REPO / "examples" / "fraud-detector"
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/ci-gen.yaml"))
GOLDEN = sorted(p.parent for p in (REPO / "tests" / "golden").glob("*/ci-gen.yaml"))
PIPELINE_CASES = [p for p in EXAMPLES if p != FULL_EXAMPLE] + GOLDEN
UPDATE = os.environ.get("CI_GEN_UPDATE_GOLDEN") == "1"
PIPELINE_FILES = tuple(t.output for t in TARGETS.values()) + (".ci-gen/k8s/", ".ci-gen/monitoring/")


def rendered(case: Path) -> dict[str, bytes]:
    manifest_path = case / "ci-gen.yaml"
    return render_manifest(load_manifest(manifest_path), manifest_path.read_bytes()).files


def assert_same(case: Path, path: str, expected: bytes) -> None:
    actual_path = case / path
    actual = actual_path.read_bytes() if actual_path.is_file() else b""
    if actual == expected:
        return
    diff = "".join(difflib.unified_diff(
        actual.decode("utf-8", "replace").splitlines(True), expected.decode("utf-8", "replace").splitlines(True),
        f"committed/{path}", f"rendered/{path}"))
    pytest.fail(f"{case.name}/{path} differs from what ci-gen renders "
                f"(CI_GEN_UPDATE_GOLDEN=1 to accept):\n{diff[:6000]}")


def test_the_full_example_commits_its_whole_rendered_tree() -> None:
    case = FULL_EXAMPLE
    files = rendered(case)
    assert any(p.startswith(".ci-gen/steps/") for p in files)
    if UPDATE:
        write(render_manifest(load_manifest(case / "ci-gen.yaml"), (case / "ci-gen.yaml").read_bytes()), case)
    for path, data in sorted(files.items()):
        assert_same(case, path, data)


@pytest.mark.parametrize("case", PIPELINE_CASES, ids=[p.relative_to(REPO).as_posix() for p in PIPELINE_CASES])
def test_golden_pipelines(case: Path) -> None:
    files = {p: d for p, d in rendered(case).items() if p.startswith(PIPELINE_FILES)}
    assert files, "a golden case renders at least one pipeline file"
    if UPDATE:
        for path, data in files.items():
            (case / path).parent.mkdir(parents=True, exist_ok=True)
            (case / path).write_bytes(data)
    expected_files = {p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file()} - {"ci-gen.yaml"}
    assert expected_files == set(files), "committed golden files and rendered files differ in name"
    for path, data in sorted(files.items()):
        assert_same(case, path, data)


def test_there_are_cases() -> None:
    assert FULL_EXAMPLE in EXAMPLES and len(EXAMPLES) >= 3 and len(GOLDEN) >= 3
