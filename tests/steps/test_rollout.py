"""rollout with the real kubectl against the fake API server (tests/steps/fake_kube.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.steps.conftest import render_k8s, write_sli

pytestmark = pytest.mark.heavy
APP = "fraud-detector"
NAME = "reg.example.com/ml/fraud-detector"
GOOD1, GOOD2 = f"{NAME}@sha256:{'1' * 64}", f"{NAME}@sha256:{'2' * 64}"
BROKEN = f"{NAME}:broken"  # the fake never makes pods of a "broken" image available


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    render_k8s(tmp_path / ".ci-gen" / "k8s" / "staging", app=APP, image_name=NAME)
    write_sli(tmp_path)  # the canary analysis reads its PromQL from it
    return tmp_path / ".ci-gen" / "k8s" / "staging"


@pytest.fixture
def rollout(run_step, kube_env, manifests):
    def run(image: str, *args: str, **extra: str):
        env = {"CI_GEN_APP": APP, "CI_GEN_ENVIRONMENT": "staging", "CI_GEN_IMAGE_REF": image,
               "CI_GEN_ROLLOUT_TIMEOUT": "3", **kube_env, **extra}
        return run_step("rollout", *args, timeout=120, **env)
    return run


def image(kube, name: str) -> str:
    return kube.get("deployments", "ml", name)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_rolling_deploy_then_failure_rolls_back(rollout, fake_kube) -> None:
    first = rollout(GOOD1)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f'deployment "{APP}" successfully rolled out' in first.stdout
    assert image(fake_kube, APP) == GOOD1
    assert fake_kube.get("services", "ml", APP) is not None
    policy = fake_kube.get("networkpolicies", "ml", APP)  # applied with the app, re-applied unchanged
    assert policy is not None and policy["spec"]["podSelector"] == {"matchLabels": {"app": APP}}
    assert rollout(GOOD2).returncode == 0
    failed = rollout(BROKEN)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        f"ci-gen rollout: error: rollout of {BROKEN} did not become available within 3s; "
        "rolled back to the previous revision")
    assert image(fake_kube, APP) == GOOD2
    assert any(m == "PATCH" and "/deployments/" in p for m, p in fake_kube.store.requests)


def test_replicas_variable_overrides_the_manifests(rollout, fake_kube) -> None:
    assert rollout(GOOD1, CI_GEN_REPLICAS="5").returncode == 0
    assert fake_kube.get("deployments", "ml", APP)["spec"]["replicas"] == 5


def test_rolling_rollback_action_undoes(rollout, fake_kube) -> None:
    assert rollout(GOOD1).returncode == 0 and rollout(GOOD2).returncode == 0
    result = rollout(GOOD2, "rollback")
    assert result.returncode == 0, result.stderr
    assert image(fake_kube, APP) == GOOD1
    # the undo reused revision 1's ReplicaSet and made it revision 3, as Kubernetes does
    sets = fake_kube.controller.owned_sets(fake_kube.get("deployments", "ml", APP))
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in sets)
    assert revisions == ["2", "3"]
    active = [rs for rs in sets if rs["spec"]["replicas"] > 0]
    assert [rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in active] == [GOOD1]


def test_blue_green_switches_and_rolls_back(rollout, fake_kube) -> None:
    bg = {"CI_GEN_STRATEGY": "blue-green", "CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY": "0"}
    assert rollout(GOOD1, **bg).returncode == 0
    service = fake_kube.get("services", "ml", APP)
    assert service["spec"]["selector"] == {"app": APP, "color": "blue"}
    second = rollout(GOOD2, **bg)
    assert second.returncode == 0, second.stderr
    assert fake_kube.get("services", "ml", APP)["spec"]["selector"]["color"] == "green"
    assert image(fake_kube, f"{APP}-green") == GOOD2
    assert fake_kube.get("deployments", "ml", f"{APP}-blue")["spec"]["replicas"] == 0  # scaled down
    # rolling back the live release brings blue back up and switches to it
    back = rollout(GOOD2, "rollback", **bg)
    assert back.returncode == 0, back.stdout + back.stderr
    assert fake_kube.get("services", "ml", APP)["spec"]["selector"]["color"] == "blue"
    assert fake_kube.get("deployments", "ml", f"{APP}-blue")["spec"]["replicas"] == 2
    # a broken release goes to the idle colour and never takes traffic
    broken = rollout(BROKEN, **bg)
    assert broken.returncode == 1 and "traffic stays on blue" in broken.stderr
    assert fake_kube.get("services", "ml", APP)["spec"]["selector"]["color"] == "blue"
    # its rollback only stops the idle colour
    undo = rollout(BROKEN, "rollback", **bg)
    assert undo.returncode == 0 and "traffic never moved" in undo.stdout
    assert fake_kube.get("services", "ml", APP)["spec"]["selector"]["color"] == "blue"
    assert fake_kube.get("deployments", "ml", f"{APP}-green")["spec"]["replicas"] == 0


@pytest.mark.parametrize("healthy", [True, False])
def test_canary_promotes_or_rolls_back_on_prometheus(healthy: bool, rollout, fake_kube, prometheus) -> None:
    url = prometheus(healthy)
    canary = {"CI_GEN_STRATEGY": "canary", "CI_GEN_PROMETHEUS_URL": url, "CI_GEN_CANARY_STEPS": "50",
              "CI_GEN_CANARY_INTERVAL": "5s", "CI_GEN_MAX_ERROR_RATE": "0.01", "CI_GEN_MAX_P90_LATENCY_MS": "250"}
    first = rollout(GOOD1, **canary)
    assert first.returncode == 0 and "first release goes out as a rolling deploy" in first.stdout
    result = rollout(GOOD2, **canary)
    assert fake_kube.get("deployments", "ml", f"{APP}-canary") is None, "the canary must be gone either way"
    if healthy:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "canary healthy: promote" in result.stdout
        assert image(fake_kube, APP) == GOOD2
    else:
        assert result.returncode == 1
        assert result.stderr.strip().splitlines()[-1] == (
            "ci-gen rollout: error: canary at 50% failed analysis; removed, stable fraud-detector untouched")
        assert "error rate" in result.stderr
        assert image(fake_kube, APP) == GOOD1
    created = [p for m, p in fake_kube.store.requests if m == "POST" and p.split("?")[0].endswith("/deployments")]
    assert len(created) == 2  # the stable, then the canary beside it


def test_dry_run_prints_the_canary_flow_without_a_cluster(run_step, manifests) -> None:
    result = run_step("rollout", "--dry-run", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="staging", CI_GEN_IMAGE_REF=GOOD2,
                      CI_GEN_STRATEGY="canary", CI_GEN_PROMETHEUS_URL="http://prom:9090", CI_GEN_REPLICAS="6",
                      CI_GEN_CANARY_STEPS="10 50", CI_GEN_KUBE_CONTEXT="prod", CI_GEN_KUBE_NAMESPACE="ml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "canary step 10%: 1 canary beside 6 stable replicas" in out
    assert "canary step 50%: 3 canary beside 6 stable replicas" in out
    assert "+ kubectl --context prod --namespace ml rollout status deployment/fraud-detector-canary --timeout=600s" in out
    assert "+ sleep 5m" in out
    assert "+ kubectl --context prod --namespace ml delete deployment fraud-detector-canary --ignore-not-found" in out


def test_app_manifests_get_digest_replicas_and_gpus(run_step, kube_env, fake_kube, tmp_path: Path) -> None:
    """deploy.manifests: the app's own files (.yml and .yaml) naming a tagged image."""
    own = tmp_path / "deploy" / "k8s"
    render_k8s(own, app=APP, image_name=f"{NAME}:dev")
    (own / "deployment.yaml").rename(own / "app.yml")
    result = run_step("rollout", CI_GEN_APP=APP, CI_GEN_MANIFESTS="deploy/k8s", CI_GEN_IMAGE_REF=GOOD1,
                      CI_GEN_REPLICAS="3", CI_GEN_GPU="1", CI_GEN_ROLLOUT_TIMEOUT="5", **kube_env)
    assert result.returncode == 0, result.stdout + result.stderr
    dep = fake_kube.get("deployments", "ml", APP)
    assert dep["spec"]["replicas"] == 3
    [container] = dep["spec"]["template"]["spec"]["containers"]
    assert container["image"] == GOOD1
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}


def test_missing_manifests_fail_with_one_line(run_step, kube_env) -> None:
    result = run_step("rollout", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="prod", CI_GEN_IMAGE_REF=GOOD1, **kube_env)
    assert result.returncode == 1
    assert result.stderr.strip() == ("ci-gen rollout: error: manifest folder .ci-gen/k8s/prod does not exist "
                                     "(CI_GEN_MANIFESTS)")


def test_rollback_job_knowing_only_the_tag_finds_the_release(rollout, fake_kube) -> None:
    """GitLab's rollback job gets no dotenv from build-image: it has the name and the commit only."""
    bg = {"CI_GEN_STRATEGY": "blue-green", "CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY": "never"}
    assert rollout(GOOD1, CI_GEN_GIT_SHA="a" * 40, **bg).returncode == 0
    assert rollout(GOOD2, CI_GEN_GIT_SHA="b" * 40, **bg).returncode == 0
    dep = fake_kube.get("deployments", "ml", f"{APP}-green")
    assert dep["metadata"]["annotations"]["ci-gen/revision"] == "b" * 40
    result = rollout("", "rollback", CI_GEN_IMAGE_NAME=NAME, CI_GEN_GIT_SHA="b" * 40, **bg)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_kube.get("services", "ml", APP)["spec"]["selector"]["color"] == "blue"


def test_an_environment_pulls_with_its_own_registry_account(rollout, fake_kube) -> None:
    import base64
    import json

    password = "s3cr3t-pull-password"
    done = rollout(GOOD1, CI_GEN_PULL_SECRET=f"{APP}-registry", CI_GEN_REGISTRY_USER="prod-puller",
                   CI_GEN_REGISTRY_PASSWORD=password)
    assert done.returncode == 0, done.stdout + done.stderr
    assert password not in done.stdout + done.stderr
    secret = fake_kube.get("secrets", "ml", f"{APP}-registry")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"]["reg.example.com"]["username"] == "prod-puller"
    assert config["auths"]["reg.example.com"]["password"] == password
    pod_spec = fake_kube.get("deployments", "ml", APP)["spec"]["template"]["spec"]
    assert pod_spec["imagePullSecrets"] == [{"name": f"{APP}-registry"}]


def test_a_pull_secret_without_the_registry_account_fails_in_one_line(rollout, fake_kube) -> None:
    failed = rollout(GOOD1, CI_GEN_PULL_SECRET=f"{APP}-registry", CI_GEN_REGISTRY_USER="", CI_GEN_REGISTRY_PASSWORD="")
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1].startswith("ci-gen rollout: error: a pull secret needs CI_GEN_REGISTRY_USER")
    assert fake_kube.get("deployments", "ml", APP) is None  # nothing applied


def test_dry_run_shows_the_pull_secret_without_needing_the_account(run_step, manifests) -> None:
    result = run_step("rollout", "--dry-run", CI_GEN_APP=APP, CI_GEN_ENVIRONMENT="staging", CI_GEN_IMAGE_REF=GOOD2,
                      CI_GEN_PULL_SECRET=f"{APP}-registry", CI_GEN_KUBE_NAMESPACE="ml")
    assert result.returncode == 0, result.stderr
    assert f"_pull_secret.py {APP}-registry reg.example.com/ml/fraud-detector | kubectl --namespace ml apply -f -" \
        in result.stdout
    assert "imagePullSecrets:" in result.stdout  # the printed kustomization sets it on the Deployment
