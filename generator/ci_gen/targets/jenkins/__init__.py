"""Jenkins: a declarative Jenkinsfile (renderer.py) and its offline lint with Groovy (lint.py)."""
from __future__ import annotations

from .lint import lint
from .renderer import render

__all__ = ["lint", "render"]
