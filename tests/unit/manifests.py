"""Small manifests for the unit tests, built with the library as `validate` builds them."""
from __future__ import annotations

import textwrap

from ci_gen.manifest import Manifest, load_manifest_text

BASE = """\
version: 1
name: app
image: {name: registry.example.com/ml/app}
"""


def text(*bodies: str, base: str = BASE) -> str:
    """`base` plus each of `bodies` dedented: top-level YAML sections."""
    return base + "".join(textwrap.dedent(body) for body in bodies)


def manifest(*bodies: str, base: str = BASE) -> Manifest:
    """The manifest `text(*bodies)`, validated and modelled."""
    return load_manifest_text(text(*bodies, base=base), "ci-gen.yaml")


TWO_ENVIRONMENTS = """\
deploy:
  strategy: {strategy}
  environments:
    - {{name: staging, kubernetes: {{namespace: ml}}}}
    - {{name: production, kubernetes: {{namespace: ml}}, approval: true, branch: main}}
"""

CANARY = """\
deploy:
  strategy: canary
  canary:
    steps: [10, 50]
    interval: 5m
    analysis: {prometheus: "http://prometheus:9090", max_error_rate: 0.01, max_p90_latency_ms: 250}
  environments:
    - {name: staging, kubernetes: {namespace: ml}}
    - {name: production, kubernetes: {namespace: ml}, approval: true, branch: main}
"""
