"""The Grafana dashboard of one app, built with grafana-foundation-sdk.

Panel queries are sli.py's templates with Grafana's variables as the selector, so the
dashboard plots exactly what the alerts and the rollout judge. The SDK is imported here only:
`render` needs it, `validate` and `render --check` never import this module.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..manifest import Manifest
from . import sli

RATE = "$__rate_interval"


@dataclass(frozen=True)
class PanelSpec:
    """One panel: what the docs and the live test need to know without the SDK."""

    title: str
    kind: str  # timeseries | stat | heatmap
    unit: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    source: str  # app (the app's own metrics) | kube-state-metrics | dcgm | pushgateway
    query_units: tuple[str, ...] = ()  # a unit per query, over `unit`, where the queries differ


def selector(manifest: Manifest) -> str:
    return f'{sli.label_matcher("app", manifest.name)},environment="$environment",pod=~"$pod"'


def panels(manifest: Manifest) -> list[PanelSpec]:
    assert manifest.monitoring is not None
    t, sel = sli.templates(manifest), selector(manifest)
    budget = sli.objectives(manifest).error_budget
    app = json.dumps(manifest.name)
    specs = [
        PanelSpec("p90 latency", "timeseries", "ms", (
            (sli.expand(t["latency_p90_ms"], sel, RATE), "p90"),
            (sli.expand(t["latency_p50_ms"], sel, RATE), "p50"),
            (sli.expand(t["latency_p99_ms"], sel, RATE), "p99"),
        ), "app"),
        PanelSpec("Request rate", "timeseries", "reqps", ((sli.expand(t["request_rate"], sel, RATE), "requests/s"),), "app"),
        PanelSpec("Error ratio (5xx)", "timeseries", "percentunit", ((sli.expand(t["error_ratio"], sel, RATE), "5xx share"),), "app"),
        PanelSpec("Error budget remaining (30 d)", "stat", "percentunit",
                  ((f"1 - ({sli.expand(t['error_ratio'], sel, '30d')}) / {budget:.10g}", "remaining"),), "app"),
        PanelSpec("Replicas and autoscaler", "timeseries", "short", (
            (f'sum(kube_deployment_status_replicas_available{{deployment=~{json.dumps(manifest.name + "(-canary)?")}}})', "available"),
            (f"kube_horizontalpodautoscaler_status_desired_replicas{{horizontalpodautoscaler={app}}}", "desired (HPA)"),
            (f"kube_horizontalpodautoscaler_spec_max_replicas{{horizontalpodautoscaler={app}}}", "max (HPA)"),
        ), "kube-state-metrics"),
    ]
    heatmap = sli.heatmap_template(manifest)
    if heatmap is not None:  # after "Error budget remaining", where it always stood
        specs.insert(4, PanelSpec("Latency heatmap", "heatmap", "s", ((sli.expand(heatmap, sel, RATE), "{{le}}"),), "app"))
    if manifest.monitoring.gpu:
        pods = 'pod=~"$pod"'
        specs += [
            PanelSpec("GPU utilisation per pod", "timeseries", "percent",
                      ((f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{pods}}})", "{{pod}}"),), "dcgm"),
            PanelSpec("GPU memory used per pod", "timeseries", "decmbytes",
                      ((f"sum by (pod) (DCGM_FI_DEV_FB_USED{{{pods}}})", "{{pod}}"),), "dcgm"),
        ]
    return specs + drift_panels(manifest)


def drift_panels(manifest: Manifest) -> list[PanelSpec]:
    """One panel per infra environment with `infra.drift`: what the drift check last pushed.

    The environment is fixed, not `$environment`: infra environments need not be deploy ones."""
    if manifest.infra is None or manifest.infra.drift is None:
        return []
    specs = []
    for env in manifest.infra.environments:
        where = f"{sli.label_matcher('app', manifest.name)},{sli.label_matcher('environment', env)}"
        specs.append(PanelSpec(f"Infra drift: {env}", "stat", "none", (
            (f"ci_gen_infra_drift{{{where}}}", "drift (1: the plan was not empty)"),
            (f"time() - ci_gen_infra_drift_check_timestamp_seconds{{{where}}}", "since the last completed check"),
        ), "pushgateway", ("none", "s")))
    return specs


def annotation_expr(manifest: Manifest) -> str:
    # a Deployment's observed generation changes exactly when a rollout starts
    return (f"changes(kube_deployment_status_observed_generation"
            f"{{deployment=~{json.dumps(manifest.name + '(-canary)?')}}}[2m]) > 0")


def pipeline_annotation_expr(manifest: Manifest) -> str:
    # the rollout step's events in the Pushgateway (CI_GEN_PUSHGATEWAY_URL)
    return (f"changes(ci_gen_deploy_start_timestamp_seconds"
            f'{{app={json.dumps(manifest.name)},environment="$environment"}}[2m]) > 0')


def build(manifest: Manifest) -> dict[str, Any]:
    from grafana_foundation_sdk.builders import dashboard as gd
    from grafana_foundation_sdk.builders import heatmap, prometheus, stat, timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DataSourceRef, DynamicConfigValue, VariableRefresh
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat

    source = DataSourceRef(type_val="prometheus", uid="${datasource}")
    app = json.dumps(manifest.name)
    board = (
        gd.Dashboard(f"{manifest.name} (ci-gen)").uid(_uid(manifest.name)).tags(["ci-gen", manifest.name])
        .refresh("30s").time("now-6h", "now").timezone("utc")
        .with_variable(gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_variable(gd.QueryVariable("environment").label("environment").datasource(source)
                       .query(f"label_values(http_requests_total{{app={app}}}, environment)").refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))
        .with_variable(gd.QueryVariable("pod").label("pod").datasource(source).include_all(True).multi(True)
                       .all_value(".*")
                       .query(f'label_values(http_requests_total{{app={app},environment="$environment"}}, pod)').refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))
        .annotation(gd.AnnotationQuery().name("Deployments").datasource(source).enable(True)
                    .icon_color("blue").expr(annotation_expr(manifest)))
        .annotation(gd.AnnotationQuery().name("Pipeline deployments").datasource(source).enable(True)
                    .icon_color("purple").expr(pipeline_annotation_expr(manifest)))
    )
    builders: dict[str, Any] = {"timeseries": timeseries.Panel, "stat": stat.Panel, "heatmap": heatmap.Panel}
    for spec in panels(manifest):
        panel = builders[spec.kind]().title(spec.title).unit(spec.unit).datasource(source).height(8).span(12)
        for ref, (expr, legend) in enumerate(spec.queries):
            query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id("ABCDEFGH"[ref])
            if spec.kind == "heatmap":
                query = query.format(PromQueryFormat.HEATMAP)
            panel = panel.with_target(query)
        for ref, unit in enumerate(spec.query_units):
            if unit != spec.unit:
                panel = panel.override_by_query("ABCDEFGH"[ref], [DynamicConfigValue(id_val="unit", value=unit)])
        board = board.with_panel(panel)
    built: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return built


def _uid(name: str) -> str:
    import hashlib

    return "ci-gen-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def dashboard_json(manifest: Manifest) -> str:
    return json.dumps(build(manifest), indent=2, sort_keys=True) + "\n"
