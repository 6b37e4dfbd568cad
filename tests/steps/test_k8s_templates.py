"""Default Kubernetes manifests (pipelines/k8s/*.j2): valid, escaped, GPU-aware."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.steps.conftest import STEPS, EnvContext, render_k8s
from ruamel.yaml import YAML

from tests.tools import require_module

TEMPLATES = STEPS.parent / "pipelines" / "k8s"


def load(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def test_every_expression_is_escaped() -> None:
    """The lead's environment refuses unfiltered strings: each {{ }} ends in yaml_str or int."""
    for template in TEMPLATES.glob("*.j2"):
        for expr in re.findall(r"{{(.*?)}}", template.read_text()):
            last = expr.split("|")[-1].strip()
            assert last in ("yaml_str", "int"), f"{template.name}: {{{{{expr}}}}} is not escaped"


@pytest.mark.heavy
@pytest.mark.parametrize("gpu", [0, 2])
def test_rendered_manifests_validate_against_kubernetes(gpu: int, tmp_path: Path) -> None:
    kv = require_module("kubernetes_validate", "pip install kubernetes-validate")
    for path in render_k8s(tmp_path, env=EnvContext("production", "ml", 6, gpu)):
        kv.validate(load(path), kv.latest_version(), strict=True)


def test_deployment_shape(tmp_path: Path) -> None:
    render_k8s(tmp_path, env=EnvContext("production", "ml-prod", 6, 1), port=9000, health_path="/ready")
    dep = load(tmp_path / "deployment.yaml")
    assert dep["metadata"] == {"name": "fraud-detector", "namespace": "ml-prod", "labels": dep["metadata"]["labels"]}
    assert dep["spec"]["replicas"] == 6
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "fraud-detector"}
    [container] = dep["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "fraud-detector"  # rollout updates the container named after the app
    assert container["image"] == "reg.example.com/ml/fraud-detector"  # digest set at apply time
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert container["ports"] == [{"name": "http", "containerPort": 9000}]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/ready", "port": "http"}
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert dep["spec"]["template"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    service = load(tmp_path / "service.yaml")
    assert service["spec"]["selector"] == {"app": "fraud-detector"}


def test_no_gpu_means_no_gpu_limits(tmp_path: Path) -> None:
    render_k8s(tmp_path, env=EnvContext(gpu=0))
    spec = load(tmp_path / "deployment.yaml")["spec"]["template"]["spec"]
    assert "resources" not in spec["containers"][0] and "tolerations" not in spec


def test_hostile_values_stay_values(tmp_path: Path) -> None:
    path = '/h"ealth\n{{ 7 }}: x'
    render_k8s(tmp_path, env=EnvContext(name="st'ag$e"), health_path=path)
    dep = load(tmp_path / "deployment.yaml")
    assert dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == path
    assert dep["metadata"]["labels"]["ci-gen/environment"] == "st'ag$e"
