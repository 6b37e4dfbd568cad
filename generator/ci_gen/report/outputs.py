"""The report's text outputs: the terminal table (printed by ci_gen.output), JSON, CSV files and
OpenMetrics text. The data was scrubbed when the report was built (build.py); files are written
atomically (paths.py)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterator

from ..paths import write_named_file
from .build import Report

ENV_COLUMNS = ("environment", "deployments", "successes", "failed", "rolled_back", "success_rate",
               "error_rate", "change_failure_rate", "duration_p50", "duration_p90", "duration_max",
               "deploys_per_week", "lead_time_hours", "time_to_restore_hours", "without_record")
DEPLOY_COLUMNS = ("server", "project", "id", "environment", "result", "started_at", "finished_at",
                  "duration", "commit", "commit_time", "strategy", "code_size", "image_size",
                  "model_size", "env_complexity", "has_record")


def to_json_text(report: Report) -> str:
    return json.dumps(report.data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: Path, report: Report) -> None:
    write_named_file(path, to_json_text(report).encode("utf-8"))


def _csv(rows: Iterator[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # a cell starting with = + - @ is a formula to a spreadsheet: quote it as text
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    return buffer.getvalue()


def write_csv(folder: Path, report: Report) -> None:
    """environments.csv (one row per project x environment), deploys.csv, model.csv."""
    envs = ({"app": p["app"], "server": p["server"], "project": p["project"], "band": p["band"], **e}
            for p in report.data["projects"] for e in p["environments"])
    files = {"environments.csv": _csv(envs, ("app", "server", "project", "band") + ENV_COLUMNS),
             "deploys.csv": _csv((d.to_row() for d in report.deploys), DEPLOY_COLUMNS),
             "model.csv": _csv(_model_rows(report.data["model"]),
                               ("scope", "term", "coefficient", "low", "high", "standardized", "r2", "n"))}
    for name, text in files.items():
        write_named_file(folder / name, text.encode("utf-8"))


def _model_rows(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for fit in model["per_env"].values() if "per_env" in model else [model]:
        for term, value in fit["coefficients"].items():
            low, high = fit["conf_int"][term]
            yield {"scope": fit["scope"], "term": term, "coefficient": value, "low": low, "high": high,
                   "standardized": fit["standardized"].get(term), "r2": fit["r2"], "n": fit["n"]}


# (metric, key in the environment's metrics, help)
GAUGES = (
    ("ci_gen_deploy_deployments", "deployments", "Finished deployments in the report window."),
    ("ci_gen_deploy_success_ratio", "success_rate", "Successful deployments / all deployments."),
    ("ci_gen_deploy_error_ratio", "error_rate", "Failed deployments / all deployments."),
    ("ci_gen_deploy_change_failure_ratio", "change_failure_rate", "(Failed + rolled back) / all deployments."),
    ("ci_gen_deploy_duration_p50_seconds", "duration_p50", "Median deployment time."),
    ("ci_gen_deploy_duration_p90_seconds", "duration_p90", "90th percentile deployment time."),
    ("ci_gen_deploy_duration_max_seconds", "duration_max", "Longest deployment time."),
    ("ci_gen_deploy_frequency_per_week", "deploys_per_week", "Successful deployments per week."),
    ("ci_gen_deploy_lead_time_seconds", "lead_time_hours", "Median commit-to-deploy time."),
    ("ci_gen_deploy_time_to_restore_seconds", "time_to_restore_hours", "Median failure-to-recovery time."),
)


def _labels(**labels: Any) -> str:
    def escape(value: Any) -> str:
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def openmetrics_text(report: Report) -> str:
    """Prometheus/OpenMetrics text: gauges only, so a textfile collector or a Pushgateway
    reads it as well as an OpenMetrics parser."""
    lines: list[str] = []
    for name, key, text in GAUGES:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        scale = 3600 if key.endswith("_hours") else 1
        for project in report.data["projects"]:
            for env in project["environments"]:
                value = env[key]
                if value is not None:
                    labels = _labels(app=project["app"], server=project["server"], project=project["project"],
                                     environment=env["environment"])
                    lines.append(f"{name}{labels} {float(value) * scale:.6g}")
    lines += ["# HELP ci_gen_deploy_dora_band DORA performance band of the project (1 for its band).",
              "# TYPE ci_gen_deploy_dora_band gauge"]
    for project in report.data["projects"]:
        if project["band"]:
            lines.append("ci_gen_deploy_dora_band" + _labels(app=project["app"], server=project["server"],
                                                             project=project["project"], band=project["band"]) + " 1")
    model = report.data["model"]
    fits = model["per_env"].values() if "per_env" in model else [model]
    lines += ["# HELP ci_gen_deploy_model_coefficient Deployment-time model coefficient (seconds per unit).",
              "# TYPE ci_gen_deploy_model_coefficient gauge"]
    for fit in fits:
        for term, value in fit["coefficients"].items():
            lines.append(f"ci_gen_deploy_model_coefficient{_labels(scope=fit['scope'], term=term)} {value:.6g}")
    lines += ["# HELP ci_gen_deploy_model_r2 R squared of the deployment-time model.",
              "# TYPE ci_gen_deploy_model_r2 gauge"]
    for fit in fits:
        if fit["r2"] is not None:
            lines.append(f"ci_gen_deploy_model_r2{_labels(scope=fit['scope'])} {fit['r2']:.6g}")
    return "\n".join(lines) + "\n# EOF\n"


def write_openmetrics(path: Path, report: Report) -> None:
    write_named_file(path, openmetrics_text(report).encode("utf-8"))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}s" if value < 120 else f"{value / 60:.1f}m" if value < 7200 else f"{value / 3600:.1f}h"


def _hours(value: float | None) -> str:
    return "-" if value is None else _secs(value * 3600)


def table_blocks(report: Report) -> list[Any]:
    """The terminal report: a rich table, then its lines (output.emit_rich prints them)."""
    from rich.table import Table

    data = report.data
    blocks: list[Any] = []
    table = Table(title=f"Deployments {data['window']['since']} .. {data['window']['until']}")
    for column in ("project", "server", "environment", "deploys", "success", "CFR", "p50", "p90", "max",
                   "per week", "lead time", "restore", "band"):
        table.add_column(column, justify="left" if column in ("project", "server", "environment", "band") else "right")
    for p in data["projects"]:
        if p["error"]:
            table.add_row(p["project"], p["server"], "", "", "", "", "", "", "", "", "", "", f"failed: {p['error']}")
            continue
        for e in p["environments"] or [None]:
            if e is None:
                table.add_row(p["project"], p["server"], "-", "0", *["-"] * 8, "-")
                continue
            table.add_row(p["project"], p["server"], e["environment"], str(e["deployments"]), _pct(e["success_rate"]),
                          _pct(e["change_failure_rate"]), _secs(e["duration_p50"]), _secs(e["duration_p90"]),
                          _secs(e["duration_max"]), f"{e['deploys_per_week']:.1f}", _hours(e["lead_time_hours"]),
                          _hours(e["time_to_restore_hours"]), p["band"] or "-")
    blocks.append(table)
    fleet = data["fleet"]
    blocks.append(f"fleet: {fleet['deployments']} deploys, success {_pct(fleet['success_rate'])}, "
                  f"change failure {_pct(fleet['change_failure_rate'])}, {fleet['deploys_per_week']:.1f}/week; "
                  "bands " + ", ".join(f"{k} {v}" for k, v in fleet["bands"].items()))
    blocks += _model_lines(data["model"])
    if "prediction" in data:
        for env in data["prediction"]["environments"]:
            text = env.get("note") or f"{_secs(env['seconds'])} (95% interval {_secs(env['low'])} .. {_secs(env['high'])})"
            blocks.append(f"predicted deploy time, {env['environment']}: {text}")
    for p in data["projects"]:
        for note in p["notes"]:
            blocks.append(f"note: {p['server']} {p['project']}: {note}")
    for line in data["skipped"]:
        blocks.append(f"skipped: {line}")
    blocks.append(f"{data['seconds']:.1f}s, HTTP requests: "
                  + (", ".join(f"{k} {v}" for k, v in data["requests"].items()) or "none (cache only)"))
    return blocks


def _model_lines(model: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for fit in model["per_env"].values() if "per_env" in model else [model]:
        if fit.get("note"):
            lines.append(f"model ({fit['scope']}): {fit['note']}")
            continue
        terms = ", ".join(f"{k} {v:.3g} [{fit['conf_int'][k][0]:.3g}, {fit['conf_int'][k][1]:.3g}]"
                          for k, v in fit["coefficients"].items())
        lines.append(f"model ({fit['scope']}, n={fit['n']}, R²={fit['r2']:.3f}): deploy_time = {terms}")
        for a in fit["anomalies"][:20]:
            lines.append(f"anomaly: {a['project']} {a['environment']} {a['id']}: {_secs(a['seconds'])} "
                          f"> {_secs(a['predicted_high'])} predicted at most")
    return lines
