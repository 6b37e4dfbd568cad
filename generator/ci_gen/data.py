"""Where ci-gen's data folders (templates, shared steps, schemas) are at run time.

An installed wheel carries them inside the package (`ci_gen/_data/`); a source checkout or an
editable install has them at the repository's top level. Both must work.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_FOLDERS = ("pipelines", "shared-steps", "schemas")


@lru_cache(maxsize=None)
def data_root() -> Path:
    """The folder holding `pipelines/`, `shared-steps/` and `schemas/`."""
    for candidate in (_PACKAGE_DIR / "_data", _PACKAGE_DIR.parent.parent):
        if all((candidate / name).is_dir() for name in _FOLDERS):
            return candidate
    raise RuntimeError(f"ci-gen data folders not found near {_PACKAGE_DIR}; broken install")


def templates_dir() -> Path:
    return data_root() / "pipelines"


def steps_dir() -> Path:
    return data_root() / "shared-steps"


def schema_path(name: str = "manifest") -> Path:
    return data_root() / "schemas" / f"{name}.schema.json"
