"""Offline lint of Jenkinsfiles: Groovy's own parser (Debian's groovy, the line Jenkins bundles)
plus a check of the declarative skeleton."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...data import templates_dir
from ..base import LintResult


def find_java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for candidate in sorted(Path("/usr/lib/jvm").glob("java-17-openjdk*")) + sorted(Path("/usr/lib/jvm").glob("*")):
        if (candidate / "bin" / "java").exists():
            return str(candidate)
    return None


def lint(files: dict[str, str]) -> list[LintResult]:
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
