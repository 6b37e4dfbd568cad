"""Deployment events for `rollout`, pushed to a Prometheus Pushgateway as metrics.

Standard library only. One group per app and environment
(`/metrics/job/ci-gen-deploy/app/<app>/environment/<env>`), replaced on every push:
  ci_gen_deploy_start_timestamp_seconds   when the rollout started
  ci_gen_deploy_end_timestamp_seconds     when it ended (absent while it runs)
  ci_gen_deploy_duration_seconds          end - start
  ci_gen_deploy_success                   1 succeeded, 0 failed (absent while it runs)
  ci_gen_deploy_info{action,strategy,image,revision}  1
The dashboard annotates deployments from these; a failed push never fails a rollout.

Command line:
  _events.py start|end --url URL --app APP --environment ENV --action A --strategy S --image REF
                       --revision SHA --started EPOCH [--exit-code N]
Exit 0 always; a failed push prints a warning on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def _label(value: str) -> str:
    # the text format's label escaping is JSON's for \\, \" and \n
    return json.dumps(value)


def body(phase: str, args: argparse.Namespace, now: float) -> str:
    info = ",".join(f"{k}={_label(v)}" for k, v in (("action", args.action), ("strategy", args.strategy),
                                                      ("image", args.image), ("revision", args.revision)))
    lines = [
        "# TYPE ci_gen_deploy_start_timestamp_seconds gauge",
        f"ci_gen_deploy_start_timestamp_seconds {args.started:.3f}",
        "# TYPE ci_gen_deploy_info gauge",
        f"ci_gen_deploy_info{{{info}}} 1",
    ]
    if phase == "end":
        lines += [
            "# TYPE ci_gen_deploy_end_timestamp_seconds gauge",
            f"ci_gen_deploy_end_timestamp_seconds {now:.3f}",
            "# TYPE ci_gen_deploy_duration_seconds gauge",
            f"ci_gen_deploy_duration_seconds {max(0.0, now - args.started):.3f}",
            "# TYPE ci_gen_deploy_success gauge",
            f"ci_gen_deploy_success {1 if args.exit_code == 0 else 0}",
        ]
    return "\n".join(lines) + "\n"


def group_url(base: str, app: str, environment: str) -> str:
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    return f"{base.rstrip('/')}/metrics/job/ci-gen-deploy/app/{quote(app)}/environment/{quote(environment)}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="_events.py")
    parser.add_argument("phase", choices=("start", "end"))
    for name in ("--url", "--app", "--environment", "--action", "--strategy", "--image", "--revision"):
        parser.add_argument(name, default="")
    parser.add_argument("--started", type=float, default=0.0)
    parser.add_argument("--exit-code", type=int, default=0)
    args = parser.parse_args(argv)
    request = urllib.request.Request(group_url(args.url, args.app, args.environment), method="PUT",
                                     data=body(args.phase, args, time.time()).encode("utf-8"),
                                     headers={"Content-Type": "text/plain; version=0.0.4"})
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - URL from the CI configuration
            pass
    except (OSError, urllib.error.URLError, ValueError) as exc:
        print(f"ci-gen rollout: warning: could not push the deployment event to {args.url}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
