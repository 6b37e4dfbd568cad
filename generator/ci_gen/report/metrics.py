"""Deployment metrics per project x environment, DORA keys and bands, fleet totals.

Pure functions over `Deploy` rows; every figure is defined in docs/report.md so that a test can
compute it by hand from seeded history."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any, Iterable

from .record import Deploy

WEEK = 7 * 86400.0
PRODUCTION_NAMES = ("production", "prod")
BANDS = ("elite", "high", "medium", "low")
# (elite, high, medium) upper bounds; beyond medium is low. After the DORA 2021 State of DevOps
# report, with the report's gaps between bands closed (docs/report.md, "DORA bands").
FREQUENCY_PER_WEEK = (7.0, 1.0, 12 / 52)  # lower bounds: daily, weekly, monthly
LEAD_TIME_HOURS = (24.0, 7 * 24.0, 30 * 24.0)
RESTORE_HOURS = (1.0, 24.0, 7 * 24.0)
FAILURE_RATE = (0.15, 0.30, 0.45)


@dataclass
class EnvMetrics:
    environment: str
    deployments: int
    successes: int
    failed: int
    rolled_back: int
    success_rate: float | None
    error_rate: float | None  # failed / all
    change_failure_rate: float | None  # (failed + rolled back) / all
    duration_p50: float | None
    duration_p90: float | None
    duration_max: float | None
    deploys_per_week: float  # successful deploys per week of the window
    lead_time_hours: float | None  # median commit -> successful deploy
    time_to_restore_hours: float | None  # median first failure -> next success
    without_record: int = 0
    left_out: list[str] = field(default_factory=list)  # metrics the missing records leave out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def in_window(deploys: Iterable[Deploy], since: float, until: float) -> list[Deploy]:
    return sorted((d for d in deploys if since <= d.finished_at <= until), key=lambda d: (d.finished_at, d.id))


def env_metrics(environment: str, deploys: list[Deploy], since: float, until: float) -> EnvMetrics:
    """`deploys` of one environment inside the window, oldest first."""
    n = len(deploys)
    ok = [d for d in deploys if d.result == "success"]
    failed = sum(d.result == "failed" for d in deploys)
    rolled = sum(d.result == "rolled_back" for d in deploys)
    durations = [d.duration for d in deploys]
    leads = [(d.finished_at - d.commit_time) / 3600 for d in ok if d.commit_time is not None]
    restores = _restores(deploys)
    missing = [d for d in deploys if not d.has_record]
    left_out = []
    if missing:
        left_out.append("model features")
    if ok and len(leads) < len(ok):
        left_out.append("lead time (no commit time)")
    weeks = max((until - since) / WEEK, 1e-9)
    return EnvMetrics(
        environment=environment, deployments=n, successes=len(ok), failed=failed, rolled_back=rolled,
        success_rate=len(ok) / n if n else None, error_rate=failed / n if n else None,
        change_failure_rate=(failed + rolled) / n if n else None,
        duration_p50=percentile(durations, 50), duration_p90=percentile(durations, 90),
        duration_max=max(durations) if durations else None, deploys_per_week=len(ok) / weeks,
        lead_time_hours=median(leads) if leads else None,
        time_to_restore_hours=median(restores) if restores else None,
        without_record=len(missing), left_out=left_out,
    )


def _restores(deploys: list[Deploy]) -> list[float]:
    """Hours from the first failure of a streak to the success that ends it; a streak still
    open at the window's end is not counted (it has not been restored yet)."""
    hours, failing_since = [], None
    for deploy in deploys:
        if deploy.result == "success":
            if failing_since is not None:
                hours.append((deploy.finished_at - failing_since) / 3600)
            failing_since = None
        elif failing_since is None:
            failing_since = deploy.finished_at
    return hours


def by_environment(deploys: list[Deploy], since: float, until: float) -> list[EnvMetrics]:
    groups: dict[str, list[Deploy]] = {}
    for deploy in in_window(deploys, since, until):
        groups.setdefault(deploy.environment, []).append(deploy)
    return [env_metrics(env, rows, since, until) for env, rows in sorted(groups.items())]


def production(envs: list[EnvMetrics]) -> EnvMetrics | None:
    """The environment DORA keys are read from: `production`/`prod`, else the one environment."""
    named = [e for e in envs if e.environment.lower() in PRODUCTION_NAMES]
    if named:
        return named[0]
    return envs[0] if len(envs) == 1 else None


def band(env: EnvMetrics | None) -> str | None:
    """The lowest band any known key reaches; None without deploys."""
    if env is None or env.deployments == 0:
        return None
    ranks = [_rank_at_least(env.deploys_per_week, FREQUENCY_PER_WEEK)]
    for value, bounds in ((env.lead_time_hours, LEAD_TIME_HOURS),
                          (env.time_to_restore_hours, RESTORE_HOURS),
                          (env.change_failure_rate, FAILURE_RATE)):
        if value is not None:
            ranks.append(_rank_at_most(value, bounds))
    return BANDS[max(ranks)]


def _rank_at_least(value: float, bounds: tuple[float, float, float]) -> int:
    return next((i for i, bound in enumerate(bounds) if value >= bound), 3)


def _rank_at_most(value: float, bounds: tuple[float, float, float]) -> int:
    return next((i for i, bound in enumerate(bounds) if value <= bound), 3)


def fleet_totals(deploys: list[Deploy], bands: list[str | None], since: float, until: float) -> dict[str, Any]:
    rows = in_window(deploys, since, until)
    n = len(rows)
    ok = sum(d.result == "success" for d in rows)
    bad = sum(d.result in ("failed", "rolled_back") for d in rows)
    return {
        "deployments": n, "success_rate": ok / n if n else None,
        "change_failure_rate": bad / n if n else None,
        "deploys_per_week": ok / max((until - since) / WEEK, 1e-9),
        "duration_p50": percentile([d.duration for d in rows], 50),
        "duration_p90": percentile([d.duration for d in rows], 90),
        "bands": {name: bands.count(name) for name in BANDS},
    }
