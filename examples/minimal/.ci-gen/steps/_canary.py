"""Canary analysis for `rollout`: error rate and p90 latency of the canary from Prometheus.

Standard library only. The PromQL comes from the SLI definition ci-gen renders
(`.ci-gen/monitoring/sli.json`, see _sli.py): the same queries as the recording rules, the
alerts and the dashboard. With the default (http) metrics the app exposes
  http_requests_total{code="..."}                 counter, one series per status code
  http_request_duration_seconds_bucket{le="..."}  histogram of request latency
and Prometheus must attach the pod labels `app` and `track` (track="canary" on canary pods).

Command line:
  _canary.py analyse --sli FILE --prometheus URL --app APP --window 5m --max-error-rate 0.01 --max-p90-ms 250
  _canary.py rules --sli FILE --app APP --window 5m   (the same queries as Prometheus recording rules)
Exit 0: promote; 1: roll back (reason on stderr); 2: bad arguments, no SLI file or Prometheus unreachable.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
from dataclasses import dataclass, field
from typing import Any

import _sli


def selector(app: str, track: str = "canary", extra: str = "") -> str:
    terms = [_sli.matcher("app", app), _sli.matcher("track", track)] + ([extra] if extra else [])
    return ",".join(terms)


def error_rate_query(sli: dict[str, Any], sel: str, window: str) -> str:
    return _sli.expand(sli, "error_ratio", sel, window)


def p90_ms_query(sli: dict[str, Any], sel: str, window: str) -> str:
    return _sli.expand(sli, "latency_p90_ms", sel, window)


query = _sli.query


@dataclass
class Verdict:
    error_rate: float | None
    p90_ms: float | None
    reasons: list[str] = field(default_factory=list)

    @property
    def promote(self) -> bool:
        return not self.reasons


def judge(error_rate: float | None, p90_ms: float | None,
          max_error_rate: float, max_p90_ms: float) -> Verdict:
    """No data is a failure: a canary that served nothing has proven nothing."""
    verdict = Verdict(error_rate, p90_ms)
    if error_rate is None:
        verdict.reasons.append("no request metrics for the canary")
    elif error_rate > max_error_rate:
        verdict.reasons.append(f"error rate {error_rate:.4f} > {max_error_rate}")
    if p90_ms is None:
        verdict.reasons.append("no latency metrics for the canary")
    elif p90_ms > max_p90_ms:
        verdict.reasons.append(f"p90 latency {p90_ms:.1f} ms > {max_p90_ms} ms")
    return verdict


def analyse(base_url: str, sli: dict[str, Any], sel: str, window: str, max_error_rate: float,
            max_p90_ms: float) -> Verdict:
    return judge(query(base_url, error_rate_query(sli, sel, window)), query(base_url, p90_ms_query(sli, sel, window)),
                 max_error_rate, max_p90_ms)


def rules_yaml(sli: dict[str, Any], sel: str, window: str) -> str:
    """Recording rules with exactly the analysis queries, for `promtool test rules`."""
    return ("groups:\n- name: ci-gen-canary\n  rules:\n"
            f"  - record: ci_gen:canary_error_rate\n    expr: {json.dumps(error_rate_query(sli, sel, window))}\n"
            f"  - record: ci_gen:canary_p90_ms\n    expr: {json.dumps(p90_ms_query(sli, sel, window))}\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="_canary.py")
    parser.add_argument("command", choices=("analyse", "rules"))
    parser.add_argument("--sli", default=".ci-gen/monitoring/sli.json")
    parser.add_argument("--prometheus", default="")
    parser.add_argument("--app", required=True)
    parser.add_argument("--selector", default="", help="extra label matchers, e.g. namespace=\"ml\"")
    parser.add_argument("--window", default="5m")
    parser.add_argument("--max-error-rate", type=float, default=0.01)
    parser.add_argument("--max-p90-ms", type=float, default=250.0)
    args = parser.parse_args(argv)
    sel = selector(args.app, extra=args.selector)
    try:
        sli = _sli.load(args.sli)
    except _sli.SliError as exc:
        print(f"canary analysis: {exc}", file=sys.stderr)
        return 2
    if args.command == "rules":
        sys.stdout.write(rules_yaml(sli, sel, args.window))
        return 0
    if not args.prometheus:
        print("CI_GEN_PROMETHEUS_URL is required for canary analysis", file=sys.stderr)
        return 2
    try:
        verdict = analyse(args.prometheus, sli, sel, args.window, args.max_error_rate, args.max_p90_ms)
    except (OSError, urllib.error.URLError, RuntimeError, KeyError, ValueError, _sli.SliError) as exc:
        print(f"canary analysis could not query {args.prometheus}: {exc}", file=sys.stderr)
        return 2
    print(f"canary error_rate={verdict.error_rate} p90_ms={verdict.p90_ms} "
          f"(limits {args.max_error_rate}, {args.max_p90_ms} ms)")
    if verdict.promote:
        print("canary healthy: promote")
        return 0
    print("canary unhealthy: " + "; ".join(verdict.reasons), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
