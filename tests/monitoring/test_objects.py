"""The generated Kubernetes objects and dashboard, checked against schemas where a maintained
package has them (kubernetes-validate for HPA, PDB, Deployment, ConfigMap; the grafana-foundation-sdk
models for the dashboard) and structurally for the prometheus-operator CRDs, which no offline
package here ships."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ci_gen.monitoring import dashboard, promrules, sli
from ci_gen.plan import build_plan
from tests.monitoring.conftest import APP, manifest_from, text
from tests.tools import require

ENVS = ("staging", "production")


@pytest.mark.heavy
def test_core_objects_pass_kubernetes_validate(files, tmp_path: Path) -> None:
    exe = require("kubernetes-validate", "pip install kubernetes-validate")
    paths = []
    for env in ENVS:
        for name in ("hpa.yaml", "pdb.yaml", "deployment.yaml", "service.yaml", "dashboard-configmap.yaml"):
            path = tmp_path / f"{env}-{name}"
            path.write_bytes(files[f".ci-gen/k8s/{env}/{name}"])
            paths.append(str(path))
    result = subprocess.run([exe, "--strict", "-k", "1.30", *paths], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(paths), result.stdout


def test_hpa_and_deployment_sizing(files) -> None:
    hpa = yaml.safe_load(text(files, ".ci-gen/k8s/production/hpa.yaml"))
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"] if m["type"] == "Resource"}
    assert metrics["Resource"]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    pods = {m["pods"]["metric"]["name"]: m["pods"]["target"]["averageValue"]
            for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
    assert pods == {"ci_gen_http_requests_per_second": "50", "ci_gen_gpu_utilization": "80"}
    adapter = yaml.safe_load(text(files, ".ci-gen/monitoring/prometheus-adapter.yaml"))
    assert {r["name"]["as"] for r in adapter["rules"]} == set(pods)
    container = yaml.safe_load(text(files, ".ci-gen/k8s/production/deployment.yaml"))["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"},
                                      "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}}


def test_operator_objects_hold_the_same_rules(files) -> None:
    rules = yaml.safe_load(text(files, ".ci-gen/monitoring/rules.yml"))
    for env in ENVS:
        rule = yaml.safe_load(text(files, f".ci-gen/k8s/{env}/prometheusrule.yaml"))
        assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
        assert rule["spec"]["groups"] == rules["groups"]
        monitor = yaml.safe_load(text(files, f".ci-gen/k8s/{env}/servicemonitor.yaml"))
        assert monitor["spec"]["selector"] == {"matchLabels": {"app": APP}}
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["ml"]}
        endpoint = monitor["spec"]["endpoints"][0]
        assert endpoint["port"] == "http"  # the Service's port name (pipelines/k8s/service.yaml.j2)
        assert {"targetLabel": "environment", "replacement": env} in endpoint["relabelings"]
        config_map = yaml.safe_load(text(files, f".ci-gen/k8s/{env}/dashboard-configmap.yaml"))
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(config_map["data"][f"{APP}.json"]) == json.loads(text(files, ".ci-gen/monitoring/dashboard.json"))


def test_dashboard_parses_with_the_sdk_models_and_has_every_panel(files) -> None:
    from grafana_foundation_sdk.models.dashboard import Dashboard

    raw = json.loads(text(files, ".ci-gen/monitoring/dashboard.json"))
    parsed = Dashboard.from_json(raw)
    assert parsed.title == f"{APP} (ci-gen)"
    titles = [p["title"] for p in raw["panels"]]
    assert titles == ["p90 latency", "Request rate", "Error ratio (5xx)", "Error budget remaining (30 d)",
                      "Latency heatmap", "Replicas and autoscaler", "GPU utilisation per pod", "GPU memory used per pod"]
    assert [v["name"] for v in raw["templating"]["list"]] == ["datasource", "environment", "pod"]
    assert [a["name"] for a in raw["annotations"]["list"]] == ["Deployments", "Pipeline deployments"]
    for panel in raw["panels"]:
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])


def test_the_drift_panels_parse_with_the_sdk_models() -> None:
    """With infra.drift: one stat panel per infra environment, the check's age in seconds."""
    from grafana_foundation_sdk.cog.runtime import register_dataquery_variant
    from grafana_foundation_sdk.models import prometheus
    from grafana_foundation_sdk.models.dashboard import Dashboard

    from ci_gen.manifest import load_manifest

    register_dataquery_variant(prometheus.variant_config())  # targets parse into the Prometheus query model

    case = Path(__file__).resolve().parents[2] / "tests" / "golden" / "infra-drift-alert" / "ci-gen.yaml"
    raw = json.loads(dashboard.dashboard_json(load_manifest(case)))
    parsed = Dashboard.from_json(raw)
    drift = [p for p in parsed.panels if p.title.startswith("Infra drift: ")]
    assert [p.title for p in drift] == ["Infra drift: staging", "Infra drift: production", "Infra drift: shared"]
    for panel, env in zip(drift, ("staging", "production", "shared")):
        assert panel.type_val == "stat"
        assert all(isinstance(t, prometheus.Dataquery) for t in panel.targets)
        assert [t.expr for t in panel.targets] == [
            f'ci_gen_infra_drift{{app="ranker",environment="{env}"}}',
            f'time() - ci_gen_infra_drift_check_timestamp_seconds{{app="ranker",environment="{env}"}}']
        assert panel.field_config.defaults.unit == "none"
        [override] = panel.field_config.overrides
        assert (override.matcher.id_val, override.matcher.options) == ("byFrameRefID", "B")
        assert [(p.id_val, p.value) for p in override.properties] == [("unit", "s")]


@pytest.mark.parametrize("sections, titles", [
    ("monitoring: {}\ninfra: {state: backend, environments: [prod, shared], drift: '0 5 * * *'}\n",
     ["Infra drift: prod", "Infra drift: shared"]),
    ("monitoring: {}\ninfra: {state: backend, environments: [prod]}\n", []),  # no drift schedule
    ("monitoring: {}\n", []),
])
def test_which_manifests_get_drift_panels(sections: str, titles: list[str]) -> None:
    manifest = manifest_from(BASE + sections)
    assert [s.title for s in dashboard.panels(manifest) if s.source == "pushgateway"] == titles


def test_one_definition_of_healthy(files, manifest) -> None:
    """Rules, dashboard and the steps' sli.json all carry sli.py's templates, expanded."""
    doc = json.loads(text(files, ".ci-gen/monitoring/sli.json"))
    assert doc["templates"] == sli.templates(manifest)
    rules = text(files, ".ci-gen/monitoring/rules.yml")
    sel = promrules.environment_selector(APP, "production")
    for name in ("error_ratio", "slow_ratio", "latency_p90_ms"):
        window = "5m"
        assert json.dumps(sli.expand(doc["templates"][name], sel, window)) in rules
    board = text(files, ".ci-gen/monitoring/dashboard.json")
    assert json.dumps(sli.expand(doc["templates"]["latency_p90_ms"], dashboard.selector(manifest), "$__rate_interval")) in board
    assert doc["objectives"] == {"error_budget": 0.001, "latency_budget": 0.01, "latency_threshold_ms": 250, "period": "30d"}


def test_verify_jobs_follow_each_deploy_and_the_last_one_watches(manifest) -> None:
    names = [j.name for j in build_plan(manifest).jobs]
    assert names[-4:] == ["deploy-staging", "verify-staging", "deploy-production", "verify-production"]
    plan = build_plan(manifest)
    staging, production = dict(plan.job("verify-staging").env), dict(plan.job("verify-production").env)
    assert (staging["CI_GEN_WATCH"], production["CI_GEN_WATCH"]) == ("0s", "10m")
    assert production["CI_GEN_PROMETHEUS_URL"] == "http://prometheus.monitoring:9090"  # the canary's, by default
    assert production["CI_GEN_SERVICE_URL"] == "http://fraud-detector.ml.svc.cluster.local:8080"
    assert plan.job("deploy-production").needs[-1] == "verify-staging"  # production waits for staging's verdict
    assert plan.job("verify-production").branch == "main"


BASE = """\
version: 1
name: plain
image: {name: reg.example.com/plain}
deploy:
  environments: [{name: prod, kubernetes: {namespace: web}}]
"""


def test_without_monitoring_only_the_sli_file_is_added() -> None:
    from ci_gen.generated import render_manifest

    files = render_manifest(manifest_from(BASE), BASE.encode()).files
    assert [p for p in files if p.startswith(".ci-gen/monitoring/")] == [".ci-gen/monitoring/sli.json"]
    assert not any(p.endswith(("hpa.yaml", "pdb.yaml")) for p in files)
    assert not any(j.name.startswith("verify-") for j in build_plan(manifest_from(BASE)).jobs)


def test_watch_zero_and_no_smoke_means_no_verify_job() -> None:
    text_ = BASE + "monitoring: {watch: 0s}\n"
    assert not any(j.name.startswith("verify-") for j in build_plan(manifest_from(text_)).jobs)
    smoke = BASE.replace("deploy:\n", "deploy:\n  smoke: curl -fsS $CI_GEN_SERVICE_URL\n")
    jobs = build_plan(manifest_from(smoke)).jobs
    assert [j.name for j in jobs if j.name.startswith("verify-")] == ["verify-prod"]


def test_label_values_cannot_break_the_rules_yaml(tmp_path: Path) -> None:
    hostile = BASE + 'monitoring: {labels: {team: "x\\"]\\n- alert: Evil", severity_page: "crit: $x"}}\n'
    from ci_gen.monitoring.promrules import rules_yaml

    loaded = yaml.safe_load(rules_yaml(manifest_from(hostile)))
    alerts = [r for g in loaded["groups"] for r in g["rules"] if "alert" in r]
    assert all(r["labels"]["team"] == 'x"]\n- alert: Evil' for r in alerts)
    assert not any(r["alert"] == "Evil" for r in alerts)


def test_braces_in_label_values_are_refused() -> None:
    """Prometheus expands {{ }} in alert labels as templates: a manifest may not inject one."""
    from ci_gen.errors import ManifestError

    with pytest.raises(ManifestError, match="monitoring.labels.team"):
        manifest_from(BASE + 'monitoring: {labels: {team: "{{ query \\"up\\" }}"}}\n')


def test_a_hostile_smoke_command_reaches_both_pipelines_verbatim() -> None:
    from ruamel.yaml import YAML

    from ci_gen.generated import render_manifest
    from ci_gen.templating import groovy_str

    smoke = """curl "$CI_GEN_SERVICE_URL" '; rm -rf / # ${env.X} {{ x }} $(id) `id`"""
    text_ = BASE.replace("deploy:\n", f"deploy:\n  smoke: {json.dumps(smoke)}\n")
    files = render_manifest(manifest_from(text_), text_.encode()).files
    gitlab = YAML(typ="safe", pure=True).load(files[".gitlab-ci.yml"].decode())
    assert gitlab["verify-prod"]["variables"]["CI_GEN_SMOKE"] == {"value": smoke, "expand": False}
    assert f"CI_GEN_SMOKE = {groovy_str(smoke)}" in files["Jenkinsfile"].decode()


def test_operator_objects_need_the_generated_manifests(tmp_path: Path) -> None:
    from ci_gen.errors import ManifestError
    from ci_gen.manifest import load_manifest_text

    (tmp_path / "deploy").mkdir()
    text_ = BASE.replace("deploy:\n", "deploy:\n  manifests: deploy\n") + "monitoring: {operator: true}\n"
    with pytest.raises(ManifestError, match=r"ci-gen.yaml:7:14: monitoring.operator: operator objects go into"):
        load_manifest_text(text_, repo_root=tmp_path)
