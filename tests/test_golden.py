"""Golden files: each case's rendered output must match the committed bytes.

Cases are found automatically: every `examples/<app>/ci-gen.yaml` (whose committed output is
the whole rendered tree, steps included) and every `tests/golden/<case>/ci-gen.yaml` (compared
on the pipeline and Kubernetes files). Refresh with `CI_GEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py`.
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
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/ci-gen.yaml"))
GOLDEN = sorted(p.parent for p in (REPO / "tests" / "golden").glob("*/ci-gen.yaml"))
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


@pytest.mark.parametrize("case", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_output_is_committed_and_current(case: Path) -> None:
    files = rendered(case)
    if UPDATE:
        write(render_manifest(load_manifest(case / "ci-gen.yaml"), (case / "ci-gen.yaml").read_bytes()), case)
    for path, data in sorted(files.items()):
        assert_same(case, path, data)


@pytest.mark.parametrize("case", GOLDEN, ids=[p.name for p in GOLDEN])
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
    assert len(EXAMPLES) >= 3 and len(GOLDEN) >= 3
