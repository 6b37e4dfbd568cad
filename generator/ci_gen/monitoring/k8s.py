"""Kubernetes objects of the Operate feature, per environment, under .ci-gen/k8s/<env>/.

hpa.yaml and pdb.yaml with `deploy.autoscale`; with `monitoring.operator` the
prometheus-operator ServiceMonitor and PrometheusRule (the same rules as rules.yml) and the
dashboard as a ConfigMap the Grafana sidecar loads. The rollout step applies whatever lies in
the folder with the Deployment; its canary copy leaves these objects out.
"""
from __future__ import annotations

import json
from typing import Any

from ..manifest import Environment, Manifest

# Pods metrics the HPA asks the custom metrics API for; prometheus_adapter_rules serves them.
RPS_METRIC = "ci_gen_http_requests_per_second"
GPU_METRIC = "ci_gen_gpu_utilization"


def _meta(manifest: Manifest, env: Environment, name: str | None = None, **labels: str) -> dict[str, Any]:
    return {"name": name or manifest.name, "namespace": env.namespace,
            "labels": {"app": manifest.name, "app.kubernetes.io/managed-by": "ci-gen",
                       "ci-gen/environment": env.name, **labels}}


def hpa(manifest: Manifest, env: Environment) -> dict[str, Any]:
    assert manifest.deploy is not None and manifest.deploy.autoscale is not None
    scale = manifest.deploy.autoscale
    metrics: list[dict[str, Any]] = [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": scale.cpu_percent}}}]
    if scale.requests_per_second is not None:
        metrics.append(_pods_metric(RPS_METRIC, _quantity(scale.requests_per_second)))
    if scale.gpu_percent is not None:
        metrics.append(_pods_metric(GPU_METRIC, str(scale.gpu_percent)))
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(manifest, env),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": manifest.name},
            "minReplicas": scale.min, "maxReplicas": scale.max, "metrics": metrics,
            # model servers load slowly: scale up at once, down only after 5 calm minutes
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def _pods_metric(name: str, value: str) -> dict[str, Any]:
    return {"type": "Pods", "pods": {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": value}}}


def _quantity(value: float) -> str:
    # Kubernetes quantities: whole numbers plain, fractions in milli-units (12.5 -> 12500m)
    return str(int(value)) if value == int(value) else f"{int(round(value * 1000))}m"


def pdb(manifest: Manifest, env: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(manifest, env),
        # one pod at a time: node drains never take the service below capacity minus one
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": manifest.name}}},
    }


def service_monitor(manifest: Manifest, env: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": _meta(manifest, env),
        "spec": {
            "selector": {"matchLabels": {"app": manifest.name}},
            "namespaceSelector": {"matchNames": [env.namespace]},
            "endpoints": [{"port": "http", "interval": "15s", "path": "/metrics", "relabelings": [
                {"targetLabel": "app", "replacement": manifest.name},
                {"targetLabel": "environment", "replacement": env.name},
                {"sourceLabels": ["__meta_kubernetes_pod_label_track"], "regex": "(.+)", "targetLabel": "track"},
            ]}],
        },
    }


def prometheus_rule(manifest: Manifest, env: Environment) -> dict[str, Any]:
    from .promrules import rule_groups

    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": _meta(manifest, env),
            "spec": {"groups": rule_groups(manifest)}}


def dashboard_configmap(manifest: Manifest, env: Environment, dashboard: str) -> dict[str, Any]:
    # grafana_dashboard="1" is the Grafana Helm chart's sidecar default label
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(manifest, env, f"{manifest.name}-dashboard", grafana_dashboard="1"),
            "data": {f"{manifest.name}.json": dashboard}}


def objects(manifest: Manifest, env: Environment, dashboard: str | None) -> dict[str, dict[str, Any]]:
    """File name -> object for one environment."""
    assert manifest.deploy is not None
    out: dict[str, dict[str, Any]] = {}
    if manifest.deploy.autoscale is not None:
        out["hpa.yaml"] = hpa(manifest, env)
        out["pdb.yaml"] = pdb(manifest, env)
    if manifest.monitoring is not None and manifest.monitoring.operator:
        out["servicemonitor.yaml"] = service_monitor(manifest, env)
        out["prometheusrule.yaml"] = prometheus_rule(manifest, env)
        if dashboard is not None:
            out["dashboard-configmap.yaml"] = dashboard_configmap(manifest, env, dashboard)
    return out


def prometheus_adapter_rules(manifest: Manifest) -> dict[str, Any]:
    """The prometheus-adapter `rules:` that serve the HPA's Pods metrics."""
    app = json.dumps(manifest.name)
    # Triton: successful requests (failed ones are a separate counter the adapter cannot add in)
    counter = ("nv_inference_request_success" if manifest.monitoring is not None
               and manifest.monitoring.metrics == "triton" else "http_requests_total")
    rules = [{
        "seriesQuery": f'{counter}{{app={app},namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{counter}$", "as": RPS_METRIC},
        "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
    }]
    if manifest.monitoring is not None and manifest.monitoring.gpu:
        rules.append({
            "seriesQuery": 'DCGM_FI_DEV_GPU_UTIL{namespace!="",pod!=""}',
            "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
            "name": {"matches": "^DCGM_FI_DEV_GPU_UTIL$", "as": GPU_METRIC},
            "metricsQuery": "avg(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
        })
    return {"rules": rules}
