"""A digest of everything a render depends on: the manifest bytes and ci-gen's own data files.

Kept free of heavy imports: `render --check` calls it on the pre-commit path.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

from . import __version__
from .data import data_root

LOCK_FILE = ".ci-gen/lock.json"  # lists every generated file with its hash, and inputs_digest
STEPS_DIR = ".ci-gen/steps"  # the shared step scripts, copied into the repository
K8S_DIR = ".ci-gen/k8s"  # Kubernetes manifests, one folder per environment
OUT_DIR = ".ci-gen/out"  # what pipeline jobs pass on to later jobs (at run time, never rendered)
REPORT_DIR = ".ci-gen/reports"  # reports the steps write at run time


@lru_cache(maxsize=None)
def generator_digest() -> str:
    """sha256 over ci-gen's version, templates, shared steps and schemas.

    ci-gen's own Python code is covered by its version, not hashed: hashing it costs the
    pre-commit path about 2 ms on every run. A development checkout that changes a renderer
    without bumping the version is caught by the golden tests, which always render in full."""
    digest = hashlib.sha256(__version__.encode())
    root = data_root()
    for folder in ("pipelines", "shared-steps", "schemas"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def inputs_digest(manifest_bytes: bytes) -> str:
    return hashlib.sha256(generator_digest().encode() + b"\0" + manifest_bytes).hexdigest()
