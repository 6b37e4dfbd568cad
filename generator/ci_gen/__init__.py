"""ci-gen: one manifest per model repository -> Jenkinsfile and .gitlab-ci.yml."""
from __future__ import annotations

__version__ = "0.1.0"
