"""Offline lint of generated pipelines with the real validators.

GitLab: the official CI JSON schema, as vendored by check-jsonschema. Jenkins: Groovy's own
parser (Debian's groovy, the line Jenkins bundles) plus a check of the declarative skeleton.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .data import templates_dir


@dataclass(frozen=True)
class LintResult:
    file: str
    problems: tuple[str, ...]
    skipped: str | None = None  # why this check could not run here

    @property
    def ok(self) -> bool:
        return not self.problems


@lru_cache(maxsize=None)
def gitlab_ci_schema() -> dict[str, Any]:
    from importlib.resources import files

    text = (files("check_jsonschema.builtin_schemas.vendor") / "gitlab-ci.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def lint_gitlab(name: str, text: str) -> LintResult:
    from jsonschema import Draft7Validator
    from ruamel.yaml.error import YAMLError

    from . import gitlab_yaml

    try:
        data = gitlab_yaml.for_schema(gitlab_yaml.load(text))
    except YAMLError as exc:
        return LintResult(name, (f"{name}: invalid YAML: {str(exc).splitlines()[0]}",))
    validator = Draft7Validator(gitlab_ci_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{name}: {where}: {_shorten(error.message)}")
    return LintResult(name, tuple(problems))


def find_java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for candidate in sorted(Path("/usr/lib/jvm").glob("java-17-openjdk*")) + sorted(Path("/usr/lib/jvm").glob("*")):
        if (candidate / "bin" / "java").exists():
            return str(candidate)
    return None


def lint_jenkins(files: dict[str, str]) -> list[LintResult]:
    """Parse each Jenkinsfile (name -> text) with Groovy in one JVM start."""
    groovy = shutil.which("groovy")
    java_home = find_java_home()
    if groovy is None or java_home is None:
        missing = "groovy" if groovy is None else "a JDK"
        note = f"skipped: {missing} not installed (apt-get install groovy default-jdk-headless)"
        return [LintResult(name, (), note) for name in files]
    with tempfile.TemporaryDirectory(prefix="ci-gen-lint-") as tmp:
        paths = {}
        for index, (name, text) in enumerate(sorted(files.items())):
            path = Path(tmp) / f"{index}.Jenkinsfile"
            path.write_text(text, encoding="utf-8")
            paths[str(path)] = name
        script = templates_dir() / "jenkins" / "DeclarativeLint.groovy"
        proc = subprocess.run([groovy, str(script), *paths], capture_output=True, text=True,
                              env={**os.environ, "JAVA_HOME": java_home}, timeout=300, check=False)
    output = proc.stdout.splitlines()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"groovy failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    results = []
    for tmp_path, name in paths.items():
        problems = tuple(line.replace(tmp_path, name, 1) for line in output if line.startswith(tmp_path + ":"))
        results.append(LintResult(name, problems))
    return results


def _shorten(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."
