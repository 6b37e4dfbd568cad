"""`ci-gen lint` for the monitoring files: promtool's own checks, when promtool is installed.

Debian's promtool is built without Kubernetes service discovery, so the scrape configuration is
checked as a copy whose pod discovery is replaced by a static target; everything else is as
generated.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..targets.base import LintResult
from ..manifest import Manifest
from .scrape import RULES_FILE, scrape_config
from .yamlemit import dump

RULES_PATH = ".ci-gen/monitoring/rules.yml"
CONFIG_PATH = ".ci-gen/monitoring/prometheus.yml"


def static_copy(config: dict[str, Any]) -> dict[str, Any]:
    jobs = []
    for job in config["scrape_configs"]:
        job = {k: v for k, v in job.items() if k not in ("kubernetes_sd_configs", "relabel_configs")}
        jobs.append({**job, "static_configs": [{"targets": ["127.0.0.1:9"]}]})
    return {**config, "scrape_configs": jobs}


def lint_monitoring(manifest: Manifest, rules_text: str) -> list[LintResult]:
    promtool = shutil.which("promtool")
    if promtool is None:
        note = "skipped: promtool not installed (apt-get install prometheus)"
        return [LintResult(RULES_PATH, (), note), LintResult(CONFIG_PATH, (), note)]
    with tempfile.TemporaryDirectory(prefix="ci-gen-promtool-") as tmp:
        root = Path(tmp)
        (root / RULES_FILE).write_text(rules_text, encoding="utf-8")
        (root / "prometheus.yml").write_text(dump(static_copy(scrape_config(manifest))), encoding="utf-8")
        return [_check(promtool, root, ["check", "rules", RULES_FILE], RULES_PATH),
                _check(promtool, root, ["check", "config", "prometheus.yml"], CONFIG_PATH)]


def _check(promtool: str, root: Path, args: list[str], name: str) -> LintResult:
    proc = subprocess.run([promtool, *args], cwd=root, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode == 0:
        return LintResult(name, ())
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return LintResult(name, tuple(f"{name}: promtool: {line}" for line in lines
                                  if not line.startswith(("Checking", "SUCCESS"))))
