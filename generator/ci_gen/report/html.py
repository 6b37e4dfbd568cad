"""`--html FILE`: one self-contained page for a team lead. Charts are made with altair
(Vega-Lite) and rendered to inline SVG by vl-convert, offline: the page loads nothing, runs no
script, and its Content-Security-Policy forbids both."""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..paths import write_named_file
from .build import Report
from .deploy_time import FEATURES
from .outputs import _hours, _pct, _secs

MAX_POINTS = 5000  # the newest deploys drawn; a fleet's full history would make the page heavy
MAX_BARS = 40
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
.chart{margin:1em 0}.note{color:#666}"""


def _data(values: list[dict[str, Any]]) -> Any:
    import altair as alt

    return alt.Data(values=values)  # type: ignore[no-untyped-call]


def _charts(report: Report) -> list[tuple[str, Any]]:
    import altair as alt

    deploys = sorted(report.deploys, key=lambda d: d.finished_at)[-MAX_POINTS:]
    rows = [{"finished": d.finished_at * 1000, "seconds": d.duration, "environment": d.environment,
             "result": d.result, "project": d.project} for d in deploys]
    charts: list[tuple[str, Any]] = []
    if rows:
        charts.append(("Deployment time over time", alt.Chart(_data(rows)).mark_circle(size=30).encode(
            x=alt.X("finished:T", title="finished"), y=alt.Y("seconds:Q", title="deployment time (s)"),
            color=alt.Color("environment:N"), shape=alt.Shape("result:N")).properties(width=900, height=260)))
    envs = [{"name": f"{p['project']} ({p['server']}) / {e['environment']}", "success": e["success_rate"] or 0.0,
             "per_week": e["deploys_per_week"]}
            for p in report.data["projects"] for e in p["environments"]]
    envs = sorted(envs, key=lambda e: -e["per_week"])[:MAX_BARS]
    if envs:
        charts.append(("Success rate", alt.Chart(_data(envs)).mark_bar().encode(
            x=alt.X("success:Q", title="success rate", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("name:N", title=None, sort="-x")).properties(width=700)))
        charts.append(("Deployment frequency", alt.Chart(_data(envs)).mark_bar().encode(
            x=alt.X("per_week:Q", title="successful deploys per week"),
            y=alt.Y("name:N", title=None, sort="-x")).properties(width=700)))
    model = report.data["model"]
    fits = list(model["per_env"].values()) if "per_env" in model else [model]
    pairs = _predicted(report, fits)
    if pairs:
        top = max(max(p["actual"], p["predicted"]) for p in pairs)
        line = alt.Chart(_data([{"v": 0}, {"v": top}])).mark_line(color="#999").encode(x="v:Q", y="v:Q")
        points = alt.Chart(_data(pairs)).mark_circle(size=30).encode(
            x=alt.X("predicted:Q", title="predicted (s)"), y=alt.Y("actual:Q", title="actual (s)"),
            color=alt.Color("environment:N"))
        charts.append(("Predicted vs actual deployment time", (line + points).properties(width=420, height=420)))
        coefs = [{"term": f"{f['scope']}: {t}", "value": f["standardized"][t]} for f in fits
                 if not f.get("note") for t in FEATURES]
        charts.append(("What drives deployment time (standardised coefficients)",
                       alt.Chart(_data(coefs)).mark_bar().encode(
                           x=alt.X("value:Q", title="standardised coefficient"),
                           y=alt.Y("term:N", title=None)).properties(width=600)))
    return charts


def _predicted(report: Report, fits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_scope = {f["scope"]: f for f in fits if not f.get("note")}
    out = []
    for d in report.deploys[-MAX_POINTS:]:
        fit = by_scope.get("pooled") or by_scope.get(d.environment)
        values = [getattr(d, f) for f in FEATURES]
        if fit is None or any(v is None for v in values):
            continue
        c = fit["coefficients"]
        predicted = c["intercept"] + sum(c[f] * v for f, v in zip(FEATURES, values))
        out.append({"predicted": predicted, "actual": d.duration, "environment": d.environment})
    return out


def _svg(chart: Any) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(chart.to_dict())
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


def _table(report: Report) -> str:
    head = ("project", "server", "environment", "deploys", "success", "CFR", "p50", "p90", "max",
            "per week", "lead time", "restore", "band")
    cells = []
    for p in report.data["projects"]:
        for e in p["environments"]:
            cells.append((p["project"], p["server"], e["environment"], str(e["deployments"]), _pct(e["success_rate"]),
                          _pct(e["change_failure_rate"]), _secs(e["duration_p50"]), _secs(e["duration_p90"]),
                          _secs(e["duration_max"]), f"{e['deploys_per_week']:.1f}", _hours(e["lead_time_hours"]),
                          _hours(e["time_to_restore_hours"]), p["band"] or "-"))
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in cells)
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + rows + "</table>"


def _model_text(report: Report) -> str:
    model = report.data["model"]
    parts = []
    for fit in model["per_env"].values() if "per_env" in model else [model]:
        if fit.get("note"):
            parts.append(f"<p class=note>{escape(fit['scope'])}: {escape(fit['note'])}</p>")
            continue
        terms = ", ".join(f"{escape(k)} {v:.3g} [{fit['conf_int'][k][0]:.3g}, {fit['conf_int'][k][1]:.3g}]"
                          for k, v in fit["coefficients"].items())
        parts.append(f"<p>{escape(fit['scope'])} (n={fit['n']}, R²={fit['r2']:.3f}): deploy_time = {terms}</p>")
    return "".join(parts)


def render_html(report: Report) -> str:
    data = report.data
    fleet = data["fleet"]
    charts = "".join(f"<h2>{escape(title)}</h2><div class=chart>{_svg(chart)}</div>" for title, chart in _charts(report))
    skipped = "".join(f"<li>{escape(line)}</li>" for line in data["skipped"]
                      + [f"{p['server']} {p['project']}: {n}" for p in data["projects"] for n in p["notes"]]
                      + [f"{p['server']} {p['project']}: failed: {p['error']}" for p in data["projects"] if p["error"]])
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>ci-gen deployment report</title><style>{STYLE}</style></head><body>"
        f"<h1>Deployments {escape(data['window']['since'])} to {escape(data['window']['until'])}</h1>"
        f"<p>{fleet['deployments']} deployments, success {_pct(fleet['success_rate'])}, change failure rate "
        f"{_pct(fleet['change_failure_rate'])}, {fleet['deploys_per_week']:.1f} successful deploys per week; "
        f"DORA bands: {escape(', '.join(f'{k} {v}' for k, v in fleet['bands'].items()))}.</p>"
        f"{_table(report)}<h2>Deployment-time model</h2>{_model_text(report)}{charts}"
        + (f"<h2>Skipped or estimated</h2><ul>{skipped}</ul>" if skipped else "")
        + "</body></html>\n"
    )


def require_extra() -> None:
    """Checked before any request: a missing extra should cost nothing to find out."""
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        from ..errors import UsageError

        raise UsageError("--html needs altair and vl-convert-python: pip install 'ci-gen[report]'") from None


def write_html(path: Path, report: Report) -> None:
    write_named_file(path, render_html(report).encode("utf-8"))
