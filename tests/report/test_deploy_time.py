"""The deploy-time model on synthetic data with known weights: its 95% intervals cover the truth
about 95% of the time, and too little or degenerate history gives a reason, never a fit."""
from __future__ import annotations

from ci_gen.report.deploy_time import fit, fits
from ci_gen.report.record import deploy_from_record
from tests.report.history import TRUTH, history


def deploys(n: int, seed: int, **options: object) -> list:
    return [deploy_from_record("gitlab", "p", str(i), item.record)
            for i, item in enumerate(history(n, 2e9, seed=seed, **options))]  # type: ignore[arg-type]


def test_intervals_cover_the_known_weights_at_their_level() -> None:
    covered = {term: 0 for term in TRUTH}
    for seed in range(100):
        result = fit(deploys(80, seed), "pooled")
        for term, truth in TRUTH.items():
            low, high = result.conf_int[term]
            covered[term] += low <= truth <= high
    assert all(count >= 88 for count in covered.values()), covered  # 95% nominal, binomial slack


def test_standardised_coefficients_rank_the_features_by_influence() -> None:
    result = fit(deploys(200, 3), "pooled")
    # influence = weight x the feature's sd: image 30 x 2.2 = 65 s, complexity 6 x 7.5 = 45 s,
    # code 4 x 5.6 = 22 s; the raw coefficients (30 > 6 > 4) would rank complexity below code
    s = result.standardized
    assert s["image_size"] > s["env_complexity"] > s["code_size"] > 0


def test_fewer_deploys_than_features_plus_two_is_not_enough_history() -> None:
    result = fit(deploys(4, 1), "pooled")
    assert result.note == "not enough history: 4 deploys with all features, 5 needed for a fit"
    assert result.coefficients == {} and result.r2 is None


def test_a_constant_feature_gives_no_fit_and_says_which() -> None:
    rows = [d.__class__(**{**d.to_row(), "image_size": 2.0}) for d in deploys(30, 1)]
    result = fit(rows, "pooled")
    assert result.note == "no fit: the features do not vary independently (image_size constant)"


def test_per_environment_models() -> None:
    by_env = {f.scope: f for f in fits(deploys(120, 2), "per-env")}
    assert set(by_env) == {"staging", "production"}
    assert all(f.n == 60 and f.r2 is not None and f.r2 > 0.9 for f in by_env.values())


def test_constant_deploy_times_give_a_reason_not_a_nan() -> None:
    rows = [d.__class__(**{**d.to_row(), "duration": 100.0}) for d in deploys(30, 1)]
    result = fit(rows, "pooled")
    assert result.note == "no fit: every deploy took the same time" and result.r2 is None


def test_non_finite_numbers_become_null_for_json() -> None:
    import json

    from ci_gen.report.build import _finite

    data = _finite({"r2": float("nan"), "x": [float("inf"), 1.5]})
    assert json.dumps(data, allow_nan=False) == '{"r2": null, "x": [null, 1.5]}'
