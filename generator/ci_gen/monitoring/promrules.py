"""Prometheus recording and alerting rules for one app, built from sli.py's templates.

Recording rules evaluate every SLI per environment (the labels app and environment, which the
scrape configuration attaches); the alerts read the recorded series, so an alert, the dashboard
and the rollout's analysis can never disagree about what the numbers mean. With `infra.drift`,
the infra alerts read what the drift check pushed to the Pushgateway (shared-steps/_events.py).
"""
from __future__ import annotations

import json
from typing import Any

from ..manifest import Environment, Manifest
from . import sli

RUNBOOK_DEFAULT = "docs/monitoring.md"


def environment_selector(app: str, env: str) -> str:
    return f"{sli.label_matcher('app', app)},{sli.label_matcher('environment', env)}"


def pod_selector(app: str, env: Environment) -> str:
    # kube-state-metrics and DCGM series carry namespace and pod, not the app's labels
    # (PromQL regexes are anchored; app names are [a-z0-9-], nothing to escape)
    return f"{sli.label_matcher('namespace', env.namespace)},pod=~{json.dumps(app + '-.*')}"


def rule_groups(manifest: Manifest) -> list[dict[str, Any]]:
    assert manifest.deploy is not None and manifest.monitoring is not None
    groups = [_recording_group(manifest, env) for env in manifest.deploy.environments]
    groups.append({"name": f"{manifest.name}:slo-alerts", "rules": _burn_alerts(manifest)})
    groups.append({"name": f"{manifest.name}:workload-alerts", "rules": _workload_alerts(manifest)})
    if manifest.infra is not None and manifest.infra.drift:
        groups.append({"name": f"{manifest.name}:infra-alerts", "rules": _infra_alerts(manifest)})
    return groups


def _recording_group(manifest: Manifest, env: Environment) -> dict[str, Any]:
    assert manifest.monitoring is not None
    selector = environment_selector(manifest.name, env.name)
    templates = sli.templates(manifest)
    labels = {"app": manifest.name, "environment": env.name}
    rules: list[dict[str, Any]] = []

    def record(name: str, expr: str) -> None:
        rules.append({"record": name, "expr": expr, "labels": labels})

    record("ci_gen:request_rate:rate5m", sli.expand(templates["request_rate"], selector, "5m"))
    for quantile in ("p50", "p90", "p99"):
        record(f"ci_gen:latency_{quantile}_ms:rate5m", sli.expand(templates[f"latency_{quantile}_ms"], selector, "5m"))
    for window in sli.WINDOWS:
        record(f"ci_gen:error_ratio:rate{window}", sli.expand(templates["error_ratio"], selector, window))
        record(f"ci_gen:slow_ratio:rate{window}", sli.expand(templates["slow_ratio"], selector, window))
    if manifest.monitoring.gpu:
        pods = pod_selector(manifest.name, env)
        record("ci_gen:gpu_utilization:avg", f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{pods}}})")
        record("ci_gen:gpu_memory_used:ratio",
               f"sum by (pod) (DCGM_FI_DEV_FB_USED{{{pods}}})"
               f" / (sum by (pod) (DCGM_FI_DEV_FB_USED{{{pods}}}) + sum by (pod) (DCGM_FI_DEV_FB_FREE{{{pods}}}))")
    return {"name": f"{manifest.name}:{env.name}:sli", "rules": rules}


def _severities(manifest: Manifest) -> tuple[dict[str, str], str, str]:
    assert manifest.monitoring is not None
    labels = dict(manifest.monitoring.labels)
    page = labels.pop("severity_page", "critical")
    ticket = labels.pop("severity_ticket", "warning")
    return labels, page, ticket


def runbook(manifest: Manifest, alert: str) -> str:
    assert manifest.monitoring is not None
    return f"{manifest.monitoring.runbook or RUNBOOK_DEFAULT}#{alert.lower()}"


def _alert(manifest: Manifest, name: str, expr: str, severity: str, summary: str, extra: dict[str, str],
           duration: str | None = None, value: str = "humanize") -> dict[str, Any]:
    labels, _, _ = _severities(manifest)
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if duration:
        rule["for"] = duration
    rule["labels"] = {**labels, **extra, "app": manifest.name, "severity": severity}
    # $labels holds the expression's labels only: a rule's own environment label is not in it
    where = extra.get("environment") or "{{ $labels.environment }}"
    rule["annotations"] = {
        "summary": f"{manifest.name}: {summary}",
        "description": f"{manifest.name} in {where}: {summary} (value {{{{ $value | {value} }}}})",
        "runbook_url": runbook(manifest, name),
    }
    return rule


def _burn_alerts(manifest: Manifest) -> list[dict[str, Any]]:
    obj = sli.objectives(manifest)
    _, page, ticket = _severities(manifest)
    app = sli.label_matcher("app", manifest.name)
    rules = []
    for slo, series, budget, alert in (("availability", "error_ratio", obj.error_budget, "ErrorBudgetBurn"),
                                       ("latency", "slow_ratio", obj.latency_budget, "LatencyBudgetBurn")):
        for kind, factor, long_w, short_w in sli.BURN_WINDOWS:
            limit = _num(factor * budget)
            expr = (f"ci_gen:{series}:rate{long_w}{{{app}}} > {limit}"
                    f" and ci_gen:{series}:rate{short_w}{{{app}}} > {limit}")
            summary = f"{slo} SLO error budget burning {factor:g}x too fast over {long_w} and {short_w}"
            rules.append(_alert(manifest, alert, expr, page if kind == "page" else ticket, summary,
                                {"slo": slo, "burn": kind, "long_window": long_w, "short_window": short_w}))
    return rules


def _workload_alerts(manifest: Manifest) -> list[dict[str, Any]]:
    assert manifest.deploy is not None and manifest.monitoring is not None
    _, page, ticket = _severities(manifest)
    rules = []
    for env in manifest.deploy.environments:
        ns = sli.label_matcher("namespace", env.namespace)
        pods = pod_selector(manifest.name, env)
        where = {"environment": env.name}
        rules.append(_alert(manifest, "PodCrashLooping",
                            f"increase(kube_pod_container_status_restarts_total{{{pods}}}[15m]) > 3",
                            page, "a pod restarted more than 3 times in 15 minutes", where, "5m"))
        deployments = f'{ns},deployment=~"{manifest.name}(-canary|-blue|-green)?"'
        rules.append(_alert(manifest, "RolloutStuck",
                            f'kube_deployment_status_condition{{{deployments},condition="Progressing",status="false"}} == 1',
                            page, "a Deployment exceeded its progress deadline", where, "1m"))
    if manifest.monitoring.gpu:
        app = sli.label_matcher("app", manifest.name)
        rules.append(_alert(manifest, "GpuSaturated", f"ci_gen:gpu_utilization:avg{{{app}}} > 95",
                            ticket, "GPU utilisation of a pod above 95% for 15 minutes", {}, "15m"))
        rules.append(_alert(manifest, "GpuMemoryNearFull", f"ci_gen:gpu_memory_used:ratio{{{app}}} > 0.95",
                            page, "GPU memory of a pod more than 95% used", {}, "5m"))
    return rules


# A clock change moves a cron run by up to an hour, and a check may wait for a runner.
STALE_SLACK_S = 3600


def stale_after_seconds(cron: str) -> int | None:
    """Two of the schedule's longest intervals and the slack; None when the cron is not read."""
    from .cron import longest_gap_minutes

    gap = longest_gap_minutes(cron)
    return None if gap is None else 2 * gap * 60 + STALE_SLACK_S


def _infra_alerts(manifest: Manifest) -> list[dict[str, Any]]:
    infra = manifest.infra
    assert infra is not None and infra.drift is not None
    _, _, ticket = _severities(manifest)
    # only the environments the manifest still has: a Pushgateway keeps a removed one's group forever
    selector = (f"{sli.label_matcher('app', manifest.name)},"
                f"environment=~{json.dumps('|'.join(infra.environments))}")
    rules = [_alert(manifest, "InfraDrift", f"ci_gen_infra_drift{{{selector}}} == 1", ticket,
                    "the real infrastructure differs from the code (the drift check's plan is not empty)", {})]
    stale = stale_after_seconds(infra.drift)
    if stale is not None:
        rules.append(_alert(manifest, "InfraDriftCheckStale",
                            f"time() - ci_gen_infra_drift_check_timestamp_seconds{{{selector}}} > {stale}", ticket,
                            f"no drift check completed for more than two intervals of {infra.drift!r}",
                            {}, value="humanizeDuration"))
    return rules


def _num(value: float) -> str:
    return f"{value:.10g}"


def rules_yaml(manifest: Manifest) -> str:
    from .yamlemit import dump

    return dump({"groups": rule_groups(manifest)})
