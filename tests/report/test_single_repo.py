"""`ci-gen report` in one checkout against both emulators, seeded with synthetic history from
known weights: the metrics equal the hand-computed values and the fit recovers the weights."""
from __future__ import annotations

from pathlib import Path
from statistics import median

import numpy as np
import pytest

from tests.report.conftest import NOW
from tests.report.history import TRUTH, Seeded, history, iso, seed_gitlab, seed_jenkins

WINDOW_DAYS = 40


def expected(items: list[Seeded], env: str, since: float, until: float) -> dict[str, float | None]:
    """The figures of docs/report.md, computed directly from the seeded history."""
    rows = [i for i in items if i.environment == env and since <= i.finished <= until]
    ok = [i for i in rows if i.result == "success"]
    bad = [i for i in rows if i.result != "success"]
    restores, first_failure = [], None
    for i in rows:
        if i.result != "success" and first_failure is None:
            first_failure = i.finished
        elif i.result == "success" and first_failure is not None:
            restores.append((i.finished - first_failure) / 3600)
            first_failure = None
    durations = [i.duration for i in rows]
    return {
        "deployments": len(rows), "success_rate": len(ok) / len(rows),
        "error_rate": sum(i.result == "failed" for i in rows) / len(rows),
        "change_failure_rate": len(bad) / len(rows),
        "duration_p50": float(np.percentile(durations, 50)), "duration_p90": float(np.percentile(durations, 90)),
        "duration_max": max(durations), "deploys_per_week": len(ok) / ((until - since) / (7 * 86400)),
        "lead_time_hours": median((i.finished - i.commit_time) / 3600 for i in ok),
        "time_to_restore_hours": median(restores) if restores else None,
    }


def check_env(got: dict[str, object], want: dict[str, float | None]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-3), key


def check_fit(model: dict[str, object]) -> None:
    for term, truth in TRUTH.items():
        low, high = model["conf_int"][term]  # type: ignore[index]
        assert low <= truth <= high, (term, truth, low, high)
    assert model["r2"] > 0.9  # type: ignore[operator]


@pytest.mark.parametrize("server", ["gitlab", "jenkins"])
def test_metrics_and_model_match_the_seeded_truth(server: str, servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    items = history(80, NOW - 3600)
    gitlab.add_project("ml/fraud")
    jenkins.create_folder("ml")
    jenkins.create_job("ml/fraud", script="pipeline {}")
    (seed_gitlab if server == "gitlab" else seed_jenkins)(gitlab if server == "gitlab" else jenkins,
                                                          "ml/fraud", items)
    code, data, err = report("-C", str(checkout), "--since", f"{WINDOW_DAYS}d", "--until", iso(NOW))
    assert code == 0, err
    project = next(p for p in data["projects"] if p["server"] == server)
    since = float(int(NOW)) - WINDOW_DAYS * 86400
    assert project["deployments"] == len([i for i in items if i.finished >= since])
    for env in project["environments"]:
        check_env(env, expected(items, env["environment"], since, float(int(NOW))))
    assert project["band"] in ("elite", "high", "medium", "low")
    check_fit(data["model"])
    assert data["model"]["n"] == project["deployments"]
