"""Run both emulators until interrupted, so a person or a benchmark can point ci-gen at them.

    python -m tests.emulators [--jenkins-port 8080] [--gitlab-port 8081] [--seed seed.json]

The seed file is `{"jenkins": {...}, "gitlab": {...}}` in the form each emulator's `seed()`
takes. Controls over HTTP, on either server:
    POST /_emulator/reset              forget everything
    POST /_emulator/seed               body: the same JSON as one half of the seed file
    POST /_emulator/faults             body: {"method", "path", "times", "status",
                                       "retry_after", "drop", "delay"}
    GET|DELETE /_emulator/requests     the request log (method, path, query, status)
    GET /_emulator/state               a snapshot of the state
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--jenkins-port", type=int, default=0)
    parser.add_argument("--gitlab-port", type=int, default=0)
    parser.add_argument("--seed", type=Path, help="JSON file with jenkins and gitlab seeds")
    args = parser.parse_args(argv)
    jenkins = JenkinsEmulator(args.host, args.jenkins_port)
    gitlab = GitLabEmulator(args.host, args.gitlab_port)
    if args.seed:
        seed = json.loads(args.seed.read_text(encoding="utf-8"))
        jenkins.seed(seed.get("jenkins", {}))
        gitlab.seed(seed.get("gitlab", {}))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with jenkins, gitlab:
        print(f"CI_GEN_JENKINS_URL={jenkins.url}\nCI_GEN_JENKINS_USER={jenkins.user}\n"
              f"CI_GEN_JENKINS_TOKEN={jenkins.token}\nCI_GEN_GITLAB_URL={gitlab.url}\n"
              f"CI_GEN_GITLAB_TOKEN={gitlab.token}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
