"""Post-deploy watch for `verify`: the SLO burn rates of one environment, live, for a period.

Standard library only; the PromQL comes from the SLI definition (_sli.py). Every interval it
checks the page-level burn-rate pairs of sli.json (both windows above factor x budget, for the
availability and the latency SLO: the same condition as the ErrorBudgetBurn and
LatencyBudgetBurn alerts of rules.yml) and any such alert already firing in Prometheus.

Command line:
  _watch.py --sli FILE --prometheus URL --app APP --environment ENV --period 10m [--interval 30s]
Exit 0: the period passed without a page; 1: a page-level burn (reason on stderr);
2: bad arguments, no SLI file or Prometheus unreachable.
"""
from __future__ import annotations

import argparse
import sys
import time
import urllib.error
from dataclasses import dataclass
from typing import Any, Callable

import _sli

SLOS = (("availability", "error_ratio", "error_budget", "ErrorBudgetBurn"),
        ("latency", "slow_ratio", "latency_budget", "LatencyBudgetBurn"))


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(duration) < 2 or duration[-1] not in units or not duration[:-1].isdigit():
        raise ValueError(f"not a duration: {duration!r} (expected e.g. 30s, 10m, 1h)")
    return int(duration[:-1]) * units[duration[-1]]


@dataclass(frozen=True)
class Reading:
    breaches: tuple[str, ...]  # page-level burns found, worded for the log
    no_data: bool  # no request metrics at all for the environment


def check(sli: dict[str, Any], query: Callable[[str], float | None], count: Callable[[str], int],
          selector: str, app: str, environment: str) -> Reading:
    breaches: list[str] = []
    seen_data = False
    objectives = sli["objectives"]
    for slo, template, budget_key, alert in SLOS:
        budget = float(objectives[budget_key])
        for pair in sli["burn_windows"]:
            if pair["severity"] != "page":
                continue
            limit = float(pair["factor"]) * budget
            long_v = query(_sli.expand(sli, template, selector, pair["long"]))
            short_v = query(_sli.expand(sli, template, selector, pair["short"]))
            seen_data = seen_data or long_v is not None or short_v is not None
            if long_v is not None and short_v is not None and long_v > limit and short_v > limit:
                breaches.append(f"{slo} budget burning {pair['factor']}x: {template} {long_v:.4f} over "
                                f"{pair['long']} and {short_v:.4f} over {pair['short']} > {limit:.4f}")
        firing = (f'ALERTS{{alertname="{alert}",alertstate="firing",burn="page",'
                  f'{_sli.matcher("app", app)},{_sli.matcher("environment", environment)}}}')
        if count(firing):
            breaches.append(f"alert {alert} (page) is firing for {app} in {environment}")
    return Reading(tuple(breaches), not seen_data)


def watch(sli: dict[str, Any], prometheus: str, app: str, environment: str, period: float, interval: float,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> int:
    selector = f"{_sli.matcher('app', app)},{_sli.matcher('environment', environment)}"
    deadline = clock() + period
    checks = 0
    while True:
        reading = check(sli, lambda q: _sli.query(prometheus, q), lambda q: _sli.series_count(prometheus, q),
                        selector, app, environment)
        checks += 1
        if reading.breaches:
            print(f"{app} in {environment}: page-level SLO burn: " + "; ".join(reading.breaches), file=sys.stderr)
            return 1
        state = "no request metrics yet" if reading.no_data else "within budget"
        print(f"watch {checks}: {app} in {environment}: {state}", flush=True)
        if clock() >= deadline:
            break
        sleep(max(0.0, min(interval, deadline - clock())))
    print(f"{app} in {environment}: no page-level burn in {checks} checks")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="_watch.py")
    parser.add_argument("--sli", default=".ci-gen/monitoring/sli.json")
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--period", default="10m")
    parser.add_argument("--interval", default="30s")
    args = parser.parse_args(argv)
    try:
        period, interval = seconds(args.period), seconds(args.interval)
        sli = _sli.load(args.sli)
    except (ValueError, _sli.SliError) as exc:
        print(f"watch: {exc}", file=sys.stderr)
        return 2
    try:
        return watch(sli, args.prometheus, args.app, args.environment, period, interval)
    except (OSError, urllib.error.URLError, RuntimeError, KeyError, ValueError, _sli.SliError) as exc:
        print(f"watch could not query {args.prometheus}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
