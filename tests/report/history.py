"""Synthetic deployment history from known weights plus noise, seeded into the emulators: the
ground truth the report's figures and fitted coefficients are checked against."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# deploy_time = 4 s/MB code + 30 s/GB image + 6 s/complexity point + 20 s, noise sd 5 s
TRUTH = {"code_size": 4.0, "image_size": 30.0, "env_complexity": 6.0, "intercept": 20.0}
NOISE = 5.0
DAY = 86400.0


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Seeded:
    environment: str
    result: str
    started: float
    finished: float
    duration: float
    commit_time: float
    sha: str
    record: dict[str, Any]


def history(n: int, end: float, seed: int = 1, environments: tuple[str, ...] = ("staging", "production"),
            every_hours: float = 9.0, app: str = "fraud") -> list[Seeded]:
    """`n` deploys ending before `end`, oldest first, alternating environments; every 7th fails
    and every 11th is rolled back; lead time 2..30 hours."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        env = environments[i % len(environments)]
        code = rng.uniform(0.5, 20.0)  # MB
        image = rng.uniform(0.5, 8.0)  # GB
        complexity = float(rng.randint(5, 30))
        duration = max(1.0, TRUTH["code_size"] * code + TRUTH["image_size"] * image
                       + TRUTH["env_complexity"] * complexity + TRUTH["intercept"] + rng.gauss(0, NOISE))
        started = end - (n - i) * every_hours * 3600
        finished = started + duration
        result = "failed" if i % 7 == 3 else "rolled_back" if i % 11 == 5 else "success"
        sha = f"{i:040x}"
        commit_time = started - rng.uniform(2, 30) * 3600
        record = {
            "version": 1, "app": app, "environment": env, "strategy": "rolling", "commit": sha,
            "commit_time": iso(commit_time), "image": f"reg.example.com/ml/{app}@sha256:{'a' * 64}",
            "started_at": iso(started), "finished_at": iso(finished), "duration_seconds": round(duration, 3),
            "result": result,
            "features": {"code_size_bytes": int(code * 1e6), "code_lines": int(code * 3e4),
                         "image_size_bytes": int(image * 1e9), "model_size_bytes": 5_000_000,
                         "env_complexity": complexity},
        }
        # the record's times are whole seconds: the truth is what it says
        out.append(Seeded(env, result, float(int(started)), float(int(finished)), round(duration, 3),
                          float(int(commit_time)), sha, record))
    return out


def record_bytes(item: Seeded) -> bytes:
    return json.dumps(item.record).encode()


def seed_gitlab(emulator: Any, path: str, items: list[Seeded], *, records: bool = True) -> None:
    status = {"success": "success", "failed": "failed", "rolled_back": "failed"}
    for item in items:
        files = {f".ci-gen/reports/deploy-{item.environment}.json": record_bytes(item)} if records else None
        emulator.add_finished_deployment(path, item.environment, status[item.result], sha=item.sha,
                                created_at=iso(item.started), started_at=iso(item.started),
                                finished_at=iso(item.finished), duration=item.duration,
                                commit_time=iso(item.commit_time), files=files)


def seed_jenkins(emulator: Any, job: str, items: list[Seeded], *, records: bool = True) -> None:
    """One build per deploy, its record archived (Jenkins' result follows the deploy's)."""
    result = {"success": "SUCCESS", "failed": "FAILURE", "rolled_back": "FAILURE"}
    for item in items:
        artifacts = {f".ci-gen/reports/deploy-{item.environment}.json": record_bytes(item)} if records else {}
        emulator.add_build(job, result[item.result], duration=int(item.duration * 1000),
                           timestamp=int(item.started * 1000), artifacts=artifacts)


def manifest(name: str, gitlab: str | None = None, targets: str = "[gitlab, jenkins]", folder: str = "ml") -> str:
    lines = ["version: 1", f"name: {name}", f"targets: {targets}",
             f"image: {{name: registry.example.com/ml/{name}}}", f"jenkins: {{folder: {folder}}}",
             "deploy:", "  environments:", "    - {name: staging, kubernetes: {namespace: ml}, replicas: 2}",
             "    - {name: production, kubernetes: {namespace: ml}, replicas: 4}"]
    if gitlab:
        lines.append(f"gitlab: {{project: {gitlab}}}")
    return "\n".join(lines) + "\n"
