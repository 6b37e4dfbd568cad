"""The deployment-time model: `deploy_time = w1*code_size + w2*image_size + w3*env_complexity + b`,
ordinary least squares with statsmodels, on the deploys that carry all three features.

Units (docs/report.md): seconds; code size in MB (1e6 bytes) of tracked source; image size in
GB (1e9 bytes, compressed); environment complexity as the record's score. Standardised
coefficients (w * sd(x) / sd(y)) compare the features' influence regardless of units."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .record import Deploy

FEATURES = ("code_size", "image_size", "env_complexity")
NAMES = FEATURES + ("intercept",)
LEVEL = 0.95
EXTRA_MISSING = "statsmodels is not installed (pip install 'ci-gen[report]')"


@dataclass
class Fit:
    scope: str  # "pooled" or an environment name
    n: int
    coefficients: dict[str, float] = field(default_factory=dict)
    conf_int: dict[str, list[float]] = field(default_factory=dict)
    standardized: dict[str, float] = field(default_factory=dict)
    r2: float | None = None
    note: str | None = None  # set when there is no fit, and why
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    _result: Any = None

    def to_json(self) -> dict[str, Any]:
        data = {"scope": self.scope, "n": self.n, "coefficients": self.coefficients,
                "conf_int": self.conf_int, "standardized": self.standardized, "r2": self.r2,
                "anomalies": self.anomalies}
        if self.note:
            data["note"] = self.note
        return data

    def predict(self, features: dict[str, float]) -> dict[str, float]:
        """Predicted seconds with the 95% prediction interval for one new deploy."""
        import numpy as np

        if self._result is None:
            raise ValueError(self.note or "no fit")
        row = np.array([[1.0] + [float(features[f]) for f in FEATURES]])
        frame = self._result.get_prediction(row).summary_frame(alpha=1 - LEVEL)
        return {"seconds": float(frame["mean"].iloc[0]), "low": float(frame["obs_ci_lower"].iloc[0]),
                "high": float(frame["obs_ci_upper"].iloc[0])}


def usable(deploys: list[Deploy]) -> list[Deploy]:
    return [d for d in deploys if all(getattr(d, f) is not None for f in FEATURES)]


def fit(deploys: list[Deploy], scope: str) -> Fit:
    rows = usable(deploys)
    needed = len(FEATURES) + 2
    if len(rows) < needed:
        return Fit(scope, len(rows), note=f"not enough history: {len(rows)} deploys with all features, "
                                            f"{needed} needed for a fit")
    try:
        import numpy as np
        import statsmodels.api as sm
    except ImportError:
        return Fit(scope, len(rows), note=f"no fit: {EXTRA_MISSING}")

    x = np.array([[getattr(d, f) for f in FEATURES] for d in rows], dtype=float)
    y = np.array([d.duration for d in rows], dtype=float)
    if np.ptp(y) == 0:
        return Fit(scope, len(rows), note="no fit: every deploy took the same time")
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(rows)), x])) < len(NAMES):
        constant = [f for i, f in enumerate(FEATURES) if np.ptp(x[:, i]) == 0]
        return Fit(scope, len(rows), note="no fit: the features do not vary independently"
                   + (f" ({', '.join(constant)} constant)" if constant else ""))
    result = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    params = result.params
    intervals = result.conf_int(alpha=1 - LEVEL)
    order = ("intercept",) + FEATURES
    coefficients = {name: float(params[i]) for i, name in enumerate(order)}
    conf = {name: [float(intervals[i][0]), float(intervals[i][1])] for i, name in enumerate(order)}
    sd_y = float(np.std(y, ddof=1)) or 1.0
    standardized = {f: float(params[i + 1] * np.std(x[:, i], ddof=1) / sd_y) for i, f in enumerate(FEATURES)}
    out = Fit(scope, len(rows), {k: coefficients[k] for k in NAMES}, {k: conf[k] for k in NAMES},
              standardized, float(result.rsquared), _result=result)
    upper = result.get_prediction(sm.add_constant(x, has_constant="add")).summary_frame(alpha=1 - LEVEL)["obs_ci_upper"]
    out.anomalies = [{"project": d.project, "environment": d.environment, "id": d.id, "seconds": d.duration,
                      "predicted_high": float(high)} for d, high in zip(rows, upper) if d.duration > high]
    return out


def fits(deploys: list[Deploy], mode: str) -> list[Fit]:
    """`pooled`: one model over every environment; `per-env`: one per environment."""
    if mode == "pooled":
        return [fit(deploys, "pooled")]
    groups: dict[str, list[Deploy]] = {}
    for deploy in deploys:
        groups.setdefault(deploy.environment, []).append(deploy)
    return [fit(rows, env) for env, rows in sorted(groups.items())]
