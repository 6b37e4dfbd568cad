"""rollout pushes deployment events to a real Pushgateway (Debian prometheus-pushgateway)."""
from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.steps.conftest import render_k8s

pytestmark = pytest.mark.heavy
APP = "fraud-detector"
NAME = "reg.example.com/ml/fraud-detector"
GOOD = f"{NAME}@sha256:{'1' * 64}"
BROKEN = f"{NAME}:broken"



def pushed(url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("ci_gen_deploy_") and 'app="fraud-detector"' in line:
            name = line.split("{", 1)[0]
            values[name] = line.rsplit(" ", 1)[1]
            if name == "ci_gen_deploy_info":
                values["info"] = line
    return values


def test_rollout_pushes_start_end_result_duration_and_image(run_step, kube_env, fake_kube, pushgateway,
                                                             tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    env = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "staging", "CI_GEN_ROLLOUT_TIMEOUT": "3",
           "CI_GEN_PUSHGATEWAY_URL": pushgateway, "CI_GEN_GIT_SHA": "abc123", **kube_env}
    ok = run_step("rollout", CI_GEN_IMAGE_REF=GOOD, **env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    values = pushed(pushgateway)
    assert values["ci_gen_deploy_success"] == "1"
    assert float(values["ci_gen_deploy_end_timestamp_seconds"]) >= float(values["ci_gen_deploy_start_timestamp_seconds"])
    assert float(values["ci_gen_deploy_duration_seconds"]) >= 0
    assert f'image="{GOOD}"' in values["info"] and 'revision="abc123"' in values["info"]
    assert 'action="deploy"' in values["info"] and 'strategy="rolling"' in values["info"]
    assert 'environment="staging"' in values["info"] and 'job="ci-gen-deploy"' in values["info"]
    failed = run_step("rollout", CI_GEN_IMAGE_REF=BROKEN, **env)
    assert failed.returncode == 1
    assert pushed(pushgateway)["ci_gen_deploy_success"] == "0"


def test_an_unreachable_pushgateway_only_warns(run_step, kube_env, fake_kube, tmp_path: Path) -> None:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    result = run_step("rollout", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="staging", CI_GEN_IMAGE_REF=GOOD,
                      CI_GEN_PUSHGATEWAY_URL="http://127.0.0.1:9", **kube_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not push the deployment event" in result.stderr
