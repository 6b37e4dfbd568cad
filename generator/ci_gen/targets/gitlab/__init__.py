"""GitLab CI: `.gitlab-ci.yml` (renderer.py), its YAML dialect (dialect.py), offline lint (lint.py)."""
from __future__ import annotations

from .lint import lint
from .renderer import render

__all__ = ["lint", "render"]
