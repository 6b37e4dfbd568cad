"""Fixtures for the monitoring tests: the fraud-detector example rendered in full."""
from __future__ import annotations

from pathlib import Path

import pytest

from ci_gen.manifest import Manifest, load_manifest, load_manifest_text
from ci_gen.generated import render_manifest
from tests.steps.conftest import fake_kube, kube_env, run_step  # noqa: F401 - fixtures the live test shares

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "fraud-detector" / "ci-gen.yaml"
APP = "fraud-detector"


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.fixture(scope="session")
def files(manifest: Manifest) -> dict[str, bytes]:
    return render_manifest(manifest, EXAMPLE.read_bytes()).files


def text(files: dict[str, bytes], path: str) -> str:
    return files[path].decode("utf-8")


def manifest_from(yaml_text: str) -> Manifest:
    return load_manifest_text(yaml_text)
