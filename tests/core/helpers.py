"""What the core tests share: where things are, and running ci-gen in-process or as a real process."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
INVALID = REPO / "tests" / "invalid"
UPDATE_GOLDEN = os.environ.get("CI_GEN_UPDATE_GOLDEN") == "1"

# One reported problem: `ci-gen.yaml:12:5: deploy.strategy: message`.
PROBLEM_LINE = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>[0-9]+):(?P<column>[0-9]+): (?P<rest>\S.*)$")


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    """`ci-gen ARGV` in this process, through the same error boundary as the console script."""
    from ci_gen.cli import main

    capsys.readouterr()  # drop whatever an earlier call in the same test printed
    code = main(argv)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def run_process(args: list[str], cwd: Path, timeout: float = 60, env: dict[str, str] | None = None,
                stdin: bytes | None = None) -> Outcome:
    """`python -m ci_gen ARGS` as a real process (what a shell or a pre-commit hook sees)."""
    proc = subprocess.run([sys.executable, "-m", "ci_gen", *args], cwd=cwd, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, input=stdin, check=False)
    return Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def assert_no_traceback(outcome: Outcome) -> None:
    for text in (outcome.out, outcome.err):
        assert "Traceback" not in text and 'File "' not in text, text


def sort_key(line: str) -> tuple[int, int]:
    match = PROBLEM_LINE.match(line)
    assert match, f"not a file:line:col: message line: {line!r}"
    return int(match["line"]), int(match["column"])


def libyaml_safe_loader() -> type:
    """PyYAML's libyaml-backed loader: the C parser family GitLab's Ruby (Psych) uses."""
    from tests.tools import require_module

    yaml = require_module("yaml", "pip install pyyaml (comes with pre-commit)")
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        if os.environ.get("CI"):
            pytest.fail("PyYAML was built without libyaml (CSafeLoader missing)")
        pytest.skip("PyYAML was built without libyaml (CSafeLoader missing)")
    return loader  # type: ignore[no-any-return]


def groovy_and_java_home() -> tuple[str, str]:
    """The groovy launcher and a JDK for it, or skip (locally) / fail (in CI)."""
    from ci_gen.targets.jenkins.lint import find_java_home

    from tests.tools import require

    groovy = require("groovy", "apt-get install groovy default-jdk-headless")
    java_home = find_java_home()
    if java_home is None:
        if os.environ.get("CI"):
            pytest.fail("no JDK found under /usr/lib/jvm (apt-get install default-jdk-headless)")
        pytest.skip("no JDK found under /usr/lib/jvm (apt-get install default-jdk-headless)")
    return groovy, java_home


def run_groovy(script: Path, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    groovy, java_home = groovy_and_java_home()
    proc = subprocess.run([groovy, str(script), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "JAVA_HOME": java_home}, check=False)
    assert proc.returncode == 0, f"groovy {script.name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc
