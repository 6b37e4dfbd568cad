"""prometheus.yml: Kubernetes pod discovery per environment, labels the SLIs rely on.

Each environment is one scrape job limited to its namespace and the app's pods; relabelling
attaches app, environment, namespace, pod and track (canary pods carry track=canary), which
the recording rules and the canary analysis select on.
"""
from __future__ import annotations

from typing import Any

from ..manifest import Manifest

RULES_FILE = "rules.yml"


def scrape_config(manifest: Manifest) -> dict[str, Any]:
    assert manifest.deploy is not None and manifest.monitoring is not None
    jobs = [_app_job(manifest, env.name, env.namespace) for env in manifest.deploy.environments]
    if manifest.monitoring.gpu:
        namespaces = sorted({env.namespace for env in manifest.deploy.environments})
        jobs.append({
            "job_name": f"{manifest.name}-dcgm",
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "regex": "dcgm-exporter",
                 "action": "keep"},
            ],
            # DCGM's own namespace/pod labels name the GPU's consumer; keep them over the exporter's
            "honor_labels": True,
            "metric_relabel_configs": [
                {"source_labels": ["namespace"], "regex": "|".join(namespaces), "action": "keep"},
            ],
        })
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [RULES_FILE],
        "scrape_configs": jobs,
    }


def _app_job(manifest: Manifest, env: str, namespace: str) -> dict[str, Any]:
    assert manifest.deploy is not None
    return {
        "job_name": f"{manifest.name}-{env}",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_label_app"], "regex": manifest.name, "action": "keep"},
            {"source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(manifest.deploy.port),
             "action": "keep"},
            {"target_label": "app", "replacement": manifest.name},
            {"target_label": "environment", "replacement": env},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_label_track"], "regex": "(.+)", "target_label": "track"},
            *_metrics_port(manifest),
        ],
    }


TRITON_METRICS_PORT = 8002  # tritonserver --metrics-port default; its /metrics is not on the HTTP port


def _metrics_port(manifest: Manifest) -> list[dict[str, Any]]:
    if manifest.monitoring is None or manifest.monitoring.metrics != "triton":
        return []
    return [{"source_labels": ["__address__"], "regex": "(.+?)(?::\\d+)?",
             "replacement": f"$1:{TRITON_METRICS_PORT}", "target_label": "__address__"}]


def prometheus_yaml(manifest: Manifest) -> str:
    from .yamlemit import dump

    return dump(scrape_config(manifest))
