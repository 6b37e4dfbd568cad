"""CircleCI: `.circleci/config.yml` (renderer.py) and its offline lint (lint.py)."""
from __future__ import annotations

from .lint import lint
from .renderer import render

__all__ = ["lint", "render"]
