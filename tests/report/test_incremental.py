"""The SQLite cache: a rerun asks only for what is new (counted by the emulators), and a run
killed mid-way leaves a cache the next run completes from."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.report.conftest import NOW
from tests.report.history import history, iso, manifest, seed_gitlab, seed_jenkins

REPO = Path(__file__).resolve().parents[2]


def seed_both(gitlab, jenkins, items) -> None:
    gitlab.add_project("ml/fraud")
    jenkins.create_folder("ml")
    jenkins.create_job("ml/fraud", script="pipeline {}")
    seed_gitlab(gitlab, "ml/fraud", items)
    seed_jenkins(jenkins, "ml/fraud", items)


def counts(gitlab, jenkins) -> dict[str, int]:
    return {"gitlab_list": gitlab.count("GET", r"/deployments$"),
            "gitlab_artifacts": gitlab.count("GET", r"/artifacts/"),
            "jenkins_tree": jenkins.count("GET", r"job/fraud/api/json$"),
            "jenkins_artifacts": jenkins.count("GET", r"/artifact/"),
            "gitlab_all": len(gitlab.requests), "jenkins_all": len(jenkins.requests)}


def test_second_run_fetches_only_new_deployments(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    items = history(62, NOW - 7200)
    seed_both(gitlab, jenkins, items[:60])
    code, first, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    one = counts(gitlab, jenkins)
    in_window = sum(1 for i in items[:60] if i.finished >= NOW - 30 * 86400)
    assert one["gitlab_artifacts"] == one["jenkins_artifacts"] == in_window

    gitlab.clear_log()
    jenkins.clear_log()
    seed_gitlab(gitlab, "ml/fraud", items[60:])
    seed_jenkins(jenkins, "ml/fraud", items[60:])
    code, second, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    two = counts(gitlab, jenkins)
    assert (two["gitlab_list"], two["gitlab_artifacts"]) == (1, 2)
    assert (two["jenkins_tree"], two["jenkins_artifacts"]) == (1, 2)
    assert {p["server"]: p["new_this_run"] for p in second["projects"]} == {"gitlab": 2, "jenkins": 2}
    assert {p["server"]: p["deployments"] for p in second["projects"]} == {"gitlab": in_window + 2,
                                                                           "jenkins": in_window + 2}

    gitlab.clear_log()
    jenkins.clear_log()
    code, third, err = report("-C", str(checkout), "--since", "30d")
    assert code == 0, err
    three = counts(gitlab, jenkins)
    # nothing new: GitLab's preflight and one list; Jenkins' preflight (crumb, whoami) and one tree query
    assert (three["gitlab_all"], three["jenkins_all"]) == (2, 3), (gitlab.requests, jenkins.requests)
    assert third["projects"] == [{**p, "new_this_run": 0} for p in second["projects"]]


def test_offline_report_reads_the_cache_alone(servers, checkout: Path, report) -> None:
    gitlab, jenkins = servers
    seed_both(gitlab, jenkins, history(20, NOW - 7200))
    window = ("--since", iso(NOW - 30 * 86400), "--until", iso(NOW))
    code, online, _ = report("-C", str(checkout), *window)
    gitlab.clear_log()
    jenkins.clear_log()
    code, offline, err = report("-C", str(checkout), *window, "--offline")
    assert code == 0, err
    assert len(gitlab.requests) == len(jenkins.requests) == 0
    strip = lambda data: [{k: v for k, v in p.items() if k != "new_this_run"} for p in data["projects"]]  # noqa: E731
    assert strip(offline) == strip(online)


def test_a_killed_run_leaves_a_cache_the_next_run_completes(servers, tmp_path: Path) -> None:
    gitlab, jenkins = servers
    fleet = tmp_path / "fleet.yaml"
    entries = []
    for name in ("alpha", "beta"):
        repo = tmp_path / name
        repo.mkdir()
        (repo / "ci-gen.yaml").write_text(manifest(name, f"ml/{name}", targets="[gitlab]"), encoding="utf-8")
        entries.append(f"  - {{path: {name}}}")
        gitlab.add_project(f"ml/{name}")
    fleet.write_text("version: 1\nprojects:\n" + "\n".join(entries) + "\n", encoding="utf-8")
    items = history(20, NOW - 7200)
    seed_gitlab(gitlab, "ml/alpha", items)
    seed_gitlab(gitlab, "ml/beta", items)
    beta, alpha = "ml/beta", "ml/alpha"  # python-gitlab addresses them by path (decoded in the log)
    gitlab.inject("GET", rf"/projects/{beta}/jobs/\d+/artifacts/", delay=60, times=1)  # beta hangs
    cache = tmp_path / "cache.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO / "generator") + os.pathsep + str(REPO)}
    args = [sys.executable, "-m", "ci_gen", "report", "--fleet", str(fleet), "--cache", str(cache),
            "--since", "30d", "--jobs", "2", "-o", "json"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not _alpha_done(cache):  # beta waits on its first artifact
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert _alpha_done(cache), "alpha was not stored before the kill"

    gitlab.clear_log()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert gitlab.count("GET", rf"/projects/{alpha}/jobs/\d+/artifacts/") == 0  # alpha came from the cache
    assert gitlab.count("GET", rf"/projects/{beta}/jobs/\d+/artifacts/") > 0, (done.stdout[-3000:], gitlab.requests)
    import json
    data = json.loads(done.stdout)
    assert [p["deployments"] for p in data["projects"]] == [data["projects"][0]["deployments"]] * 2


def _alpha_done(cache: Path) -> bool:
    import sqlite3

    if not cache.exists():
        return False
    try:
        with sqlite3.connect(cache, timeout=1) as db:
            return db.execute("SELECT count(*) FROM cursors WHERE project='ml/alpha'").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def test_a_corrupt_cache_file_is_rebuilt(servers, checkout: Path, tmp_path: Path, report) -> None:
    gitlab, jenkins = servers
    seed_both(gitlab, jenkins, history(6, NOW - 7200))
    cache = tmp_path / "cache.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    code, data, err = report("-C", str(checkout), "--since", "30d", "--cache", str(cache))
    assert code == 0, err
    assert [p["deployments"] for p in data["projects"]] == [6, 6]
    code, data, err = report("-C", str(checkout), "--since", "30d", "--cache", str(cache), "--offline")
    assert code == 0 and [p["deployments"] for p in data["projects"]] == [6, 6]
