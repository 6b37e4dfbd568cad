"""Events of the steps, pushed to a Prometheus Pushgateway as metrics.

Standard library only. A failed push only warns: it never changes a step's result.

Deployments (`rollout`): one group per app and environment
(`/metrics/job/ci-gen-deploy/app/<app>/environment/<env>`), replaced on every push (PUT):
  ci_gen_deploy_start_timestamp_seconds   when the rollout started
  ci_gen_deploy_end_timestamp_seconds     when it ended (absent while it runs)
  ci_gen_deploy_duration_seconds          end - start
  ci_gen_deploy_success                   1 succeeded, 0 failed (absent while it runs)
  ci_gen_deploy_info{action,strategy,image,revision}  1
The dashboard annotates deployments from these.

Infrastructure drift (`infra drift`): one group per app and environment
(`/metrics/job/ci-gen-infra-drift/app/<app>/environment/<env>`), pushed with POST so that only
the metrics named in a push are replaced:
  ci_gen_infra_drift                          1 the plan was not empty, 0 it was (a completed check)
  ci_gen_infra_drift_check_timestamp_seconds  when the last completed check ended
  ci_gen_infra_drift_check_success            1 the check completed, 0 it failed
A failed check (terraform's exit code 1, a failed init) pushes only check_success 0: the last
known drift value and the time of the last completed check stay, so a check that keeps failing
is neither "drift" nor "no drift" but stale (the InfraDriftCheckStale alert).

Credentials in the URL (https://user:password@host) are sent as HTTP basic auth and never printed.

Command line:
  _events.py start|end --url URL --app APP --environment ENV --action A --strategy S --image REF
                       --revision SHA --started EPOCH [--exit-code N]
  _events.py drift --url URL --app APP --environment ENV --result 0|1|error [--dry-run]
Exit 0 always; a failed push prints a warning on stderr. --dry-run prints the push instead.
"""
from __future__ import annotations

import argparse
import base64
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


DRIFT_METRICS = (
    ("ci_gen_infra_drift", "1 when the plan is not empty, 0 when it is"),
    ("ci_gen_infra_drift_check_timestamp_seconds", "the time the check ended"),
    ("ci_gen_infra_drift_check_success", "1; pushed alone as 0 when the check failed"),
)


def drift_body(result: str, now: float) -> str:
    if result == "error":
        return "# TYPE ci_gen_infra_drift_check_success gauge\nci_gen_infra_drift_check_success 0\n"
    values = (result, f"{now:.3f}", "1")
    return "".join(f"# TYPE {name} gauge\n{name} {value}\n" for (name, _), value in zip(DRIFT_METRICS, values))


def group_url(base: str, app: str, environment: str, job: str = "ci-gen-deploy") -> str:
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    return f"{base.rstrip('/')}/metrics/job/{job}/app/{quote(app)}/environment/{quote(environment)}"


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its user:password@ part, and that part as a basic auth header."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    login = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    header = {"Authorization": "Basic " + base64.b64encode(login.encode("utf-8")).decode("ascii")}
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), header


def push(url: str, method: str, data: str, what: str, step: str) -> None:
    try:
        plain, auth = split_credentials(url)
        request = urllib.request.Request(plain, method=method, data=data.encode("utf-8"),
                                         headers={"Content-Type": "text/plain; version=0.0.4", **auth})
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - URL from the CI configuration
            pass
    except (OSError, urllib.error.URLError, ValueError) as exc:
        message = f"could not push the {what} to {url}: {exc}"
        print(f"ci-gen {step}: warning: {masked(message, url)}", file=sys.stderr)


def masked(text: str, url: str) -> str:
    """`text` with the URL's user:password@ part, or a password found elsewhere, replaced."""
    try:
        password = urllib.parse.urlsplit(url).password
    except ValueError:
        password = None
    at = url.rfind("@")
    if at > 0:
        scheme_end = url.find("://") + 3 if "://" in url else 0
        text = text.replace(url[scheme_end:at + 1], "***@")
    return text.replace(password, "***") if password else text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="_events.py")
    parser.add_argument("phase", choices=("start", "end", "drift"))
    for name in ("--url", "--app", "--environment", "--action", "--strategy", "--image", "--revision"):
        parser.add_argument(name, default="")
    parser.add_argument("--started", type=float, default=0.0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--result", choices=("0", "1", "error"), default="error")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.phase == "drift":
        url = group_url(args.url, args.app, args.environment, job="ci-gen-infra-drift")
        if args.dry_run:
            print(f"+ push to {masked(url, url)} (POST):")
            for name, meaning in DRIFT_METRICS:
                print(f"    {name}  {meaning}")
            return 0
        push(url, "POST", drift_body(args.result, time.time()), "drift check result", "infra")
        return 0
    push(group_url(args.url, args.app, args.environment), "PUT", body(args.phase, args, time.time()),
         "deployment event", "rollout")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
