"""Renderers, one per CI system, each turning the target-neutral Pipeline into one file."""
from __future__ import annotations

from typing import Callable

from ..plan import Pipeline
from . import gitlab, jenkins

Renderer = Callable[[Pipeline], str]

# target name -> (output file, renderer, comment prefix for the header)
TARGETS: dict[str, tuple[str, Renderer, str]] = {
    "gitlab": (".gitlab-ci.yml", gitlab.render, "#"),
    "jenkins": ("Jenkinsfile", jenkins.render, "//"),
}
