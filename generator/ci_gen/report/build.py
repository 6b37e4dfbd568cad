"""The report as data: per project x environment metrics, fleet totals, the model, what was
skipped. `Report.data` is what `--output json` prints (docs/report.md, "JSON"); the deploy
rows stay beside it for the charts."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..redaction import scrub_data
from .collect import Source
from .metrics import band, by_environment, fleet_totals, in_window, production
from .deploy_time import fits
from .options import ReportOptions
from .record import Deploy, iso

FORMAT_VERSION = 1


@dataclass
class Report:
    data: dict[str, Any]
    deploys: list[Deploy] = field(default_factory=list)  # inside the window


def build_report(sources: list[Source], problems: list[str], options: ReportOptions, seconds: float,
                 requests: dict[str, int]) -> Report:
    since, until = options.since, options.until
    projects, bands, window = [], [], []
    for source in sources:
        envs = by_environment(source.deploys, since, until)
        rows = in_window(source.deploys, since, until)
        window.extend(rows)
        key_env = production(envs)
        project_band = band(key_env) if not source.error else None
        bands.append(project_band)
        projects.append({
            "key": source.target.key, "app": source.target.app, "server": source.server,
            "project": source.project, "deployments": len(rows), "new_this_run": source.fetched,
            "band": project_band, "band_from": key_env.environment if key_env else None,
            "environments": [e.to_json() for e in envs],
            "error": source.error, "notes": source.notes + _empty_note(source, rows),
        })
    fitted = fits(window, options.model)
    model: dict[str, Any] = fitted[0].to_json() if options.model == "pooled" else \
        {"per_env": {f.scope: f.to_json() for f in fitted}}
    data = {
        "version": FORMAT_VERSION, "window": {"since": iso(since), "until": iso(until)},
        "seconds": round(seconds, 3), "requests": requests, "projects": projects,
        "fleet": fleet_totals(window, bands, since, until), "model": model,
        "skipped": problems,
    }
    if options.predict:
        from .predict import predict

        data["prediction"] = predict(options.repo, fitted, window, options.model)
    # the rows feed the CSV and the charts: what a server sent passes the redactor like the rest
    return Report(_finite(scrub_data(data)), [_scrubbed(d) for d in window])


def _finite(data: Any) -> Any:
    """NaN and infinities (an R² of constant deploy times) become null: JSON has no NaN."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    return data


def _scrubbed(deploy: Deploy) -> Deploy:
    from dataclasses import replace

    from ..redaction import scrub

    texts = {"project": deploy.project, "id": deploy.id, "environment": deploy.environment,
             "commit": deploy.commit, "strategy": deploy.strategy}
    changed: dict[str, Any] = {k: scrub(v) for k, v in texts.items() if isinstance(v, str) and scrub(v) != v}
    return replace(deploy, **changed) if changed else deploy


def _empty_note(source: Source, rows: list[Deploy]) -> list[str]:
    if source.error or rows:
        return []
    return ["no deploys in the window"]
