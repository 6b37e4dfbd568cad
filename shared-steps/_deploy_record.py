"""The deploy record: what one rollout did and the deployment-time model's features, written by
`rollout`'s exit trap to $CI_GEN_REPORT_DIR/deploy-<environment>.json and archived by both
pipelines; `ci-gen report` reads it (schemas/deploy-record.schema.json, docs/report.md).

Standard library only. Command line (called by `rollout`; never fails the deploy):
  _deploy_record.py write            reads the variables below, writes the record
  _deploy_record.py features ROOT    prints the features of a checkout as JSON (for --predict)
Variables: CI_GEN_APP, CI_GEN_ENVIRONMENT, CI_GEN_STRATEGY, CI_GEN_DEPLOY_EXIT (the deploy's
exit code: 0 success, 1 rolled back, else failed), CI_GEN_DEPLOY_STARTED (epoch seconds),
CI_GEN_GIT_SHA, CI_GEN_IMAGE_REF, CI_GEN_MANIFESTS, CI_GEN_REPLICAS, CI_GEN_GPU,
CI_GEN_CANARY_STEPS, CI_GEN_IMAGE_SIZE (compressed bytes; else the OCI manifest
$CI_GEN_OUT_DIR/image-manifest.json), CI_GEN_MODEL_PATH, CI_GEN_REPORT_DIR, CI_GEN_OUT_DIR.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

# Files ci-gen writes: not the team's code, so not part of the code-size feature.
GENERATED = (".gitlab-ci.yml", "Jenkinsfile", "ci-gen.lock")
GENERATED_DIRS = (".ci-gen/",)
VERSION = 1


def safe_name(environment: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", environment) or "default"


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def code_size(root: Path) -> tuple[int | None, int | None]:
    """(bytes, lines) of the tracked files, ci-gen's generated files excluded; lines of text
    files only (a NUL in the first 8 KiB marks a binary)."""
    listed = _git(root, "ls-files", "-z")
    if listed is None:
        return None, None
    size = lines = 0
    for name in filter(None, listed.decode("utf-8", "replace").split("\0")):
        if name in GENERATED or name.startswith(GENERATED_DIRS):
            continue
        path = root / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        size += len(data)
        if b"\0" not in data[:8192]:
            lines += data.count(b"\n")
    return size, lines


_KIND = re.compile(r"^kind:\s*\S", re.MULTILINE)
_IMAGE = re.compile(r"^\s*(?:-\s+)?image:\s*\S", re.MULTILINE)
_REPLICAS = re.compile(r"^\s*replicas:\s*(\d+)", re.MULTILINE)


def complexity(manifests: Path, strategy: str, replicas: str | None, gpu: str | None,
               canary_steps: str | None) -> dict[str, int]:
    """The parts of the environment-complexity score, read from the rendered manifests."""
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted(manifests.glob("*.y*ml")) if p.is_file()] if manifests.is_dir() else []
    found = [int(m) for t in texts for m in _REPLICAS.findall(t)]
    count = int(replicas) if replicas and replicas.isdigit() else (found[0] if found else 1)
    per_replica = int(gpu) if gpu and gpu.isdigit() else 0
    steps = {"canary": len((canary_steps or "10 50").split()) + 1, "blue-green": 2}.get(strategy, 1)
    return {"objects": sum(len(_KIND.findall(t)) for t in texts),
            "containers": sum(len(_IMAGE.findall(t)) for t in texts),
            "replicas": count, "gpus": count * per_replica, "strategy_steps": steps}


def score(parts: Mapping[str, int]) -> int:
    """objects + containers + replicas + 2 x GPUs + strategy steps (docs/report.md)."""
    return (parts["objects"] + parts["containers"] + parts["replicas"] + 2 * parts["gpus"]
            + parts["strategy_steps"])


def image_size(env: Mapping[str, str], out_dir: Path) -> int | None:
    text = env.get("CI_GEN_IMAGE_SIZE", "")
    if text.isdigit():
        return int(text)
    manifest = out_dir / "image-manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        blobs = [data["config"]] + list(data["layers"])
        return sum(int(b["size"]) for b in blobs)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def result_of(exit_code: str) -> str:
    # rollout's contract: 1 = the rollout failed and was rolled back (or traffic never moved)
    return {"0": "success", "1": "rolled_back"}.get(exit_code.strip(), "failed")


def build_record(env: Mapping[str, str], root: Path, now: float) -> dict[str, Any]:
    environment = env.get("CI_GEN_ENVIRONMENT") or "default"
    strategy = env.get("CI_GEN_STRATEGY") or "rolling"
    commit = env.get("CI_GEN_GIT_SHA") or ""
    started = float(env.get("CI_GEN_DEPLOY_STARTED") or now)
    committed = _git(root, "show", "-s", "--format=%cI", commit) if commit else None
    manifests = Path(env.get("CI_GEN_MANIFESTS") or f".ci-gen/k8s/{environment}")
    parts = complexity(root / manifests, strategy, env.get("CI_GEN_REPLICAS"), env.get("CI_GEN_GPU"),
                       env.get("CI_GEN_CANARY_STEPS"))
    size, lines = code_size(root)
    model = env.get("CI_GEN_MODEL_PATH")
    model_path = root / model if model else None
    return {
        "version": VERSION, "app": env.get("CI_GEN_APP") or "", "environment": environment,
        "strategy": strategy, "commit": commit,
        "commit_time": committed.decode().strip() or None if committed else None,
        "image": env.get("CI_GEN_IMAGE_REF") or None,
        "started_at": iso(started), "finished_at": iso(now), "duration_seconds": round(max(0.0, now - started), 3),
        "result": result_of(env.get("CI_GEN_DEPLOY_EXIT", "")),
        "features": {
            "code_size_bytes": size, "code_lines": lines,
            "image_size_bytes": image_size(env, Path(env.get("CI_GEN_OUT_DIR") or ".ci-gen/out")),
            "model_size_bytes": model_path.stat().st_size if model_path and model_path.is_file() else None,
            "env_complexity": score(parts), "complexity": parts,
        },
    }


def write(env: Mapping[str, str], root: Path) -> Path:
    record = build_record(env, root, time.time())
    folder = root / (env.get("CI_GEN_REPORT_DIR") or ".ci-gen/reports")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"deploy-{safe_name(record['environment'])}.json"
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, target)
    return target


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"] and len(argv) == 1:
        target = write(os.environ, Path.cwd())
        print(f"== ci-gen rollout: deploy record {target.relative_to(Path.cwd())}")
        return 0
    if argv[:1] == ["features"] and len(argv) == 2:
        size, lines = code_size(Path(argv[1]))
        print(json.dumps({"code_size_bytes": size, "code_lines": lines}))
        return 0
    print("usage: _deploy_record.py write | features ROOT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
