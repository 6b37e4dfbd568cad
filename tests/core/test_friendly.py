"""`ci-gen steps` alone lists the steps; shell completion scripts for bash, zsh and fish work."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.helpers import REPO, run_main


def test_steps_without_a_subcommand_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    bare = run_main(["steps"], capsys)
    assert bare.code == 0
    assert bare.out == run_main(["steps", "list"], capsys).out
    assert "convert-model" in bare.out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell: str) -> None:
    env = {**os.environ, "_CI_GEN_COMPLETE": f"{shell}_source", "PYTHONPATH": str(REPO / "generator")}
    script = subprocess.run([sys.executable, "-m", "ci_gen"], env=env, capture_output=True, text=True,
                            timeout=30, check=True).stdout
    assert "_CI_GEN_COMPLETE" in script and f"{shell}_complete" in script


def test_bash_completes_commands_and_options(tmp_path: Path) -> None:
    # the real bash function from the script (bash passes it the command name); it runs that
    # through env, so a wrapper on PATH points it at this checkout's code
    wrapper = tmp_path / "bin" / "ci-gen"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO / "generator"} exec {sys.executable} -m ci_gen "$@"\n')
    wrapper.chmod(0o755)
    program = """
        eval "$(_CI_GEN_COMPLETE=bash_source ci-gen)"
        COMPREPLY=(); COMP_WORDS=(ci-gen ste); COMP_CWORD=1; _ci_gen_completion ci-gen; echo "${COMPREPLY[@]}"
        COMPREPLY=(); COMP_WORDS=(ci-gen init --fr); COMP_CWORD=2; _ci_gen_completion ci-gen; echo "${COMPREPLY[@]}"
        COMPREPLY=(); COMP_WORDS=(ci-gen init --framework ""); COMP_CWORD=3; _ci_gen_completion ci-gen; echo "${COMPREPLY[@]}"
    """
    env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60, check=True,
                         cwd=tmp_path, env=env).stdout.splitlines()
    assert out == ["steps", "--framework", "pytorch onnx tensorflow sklearn"]
