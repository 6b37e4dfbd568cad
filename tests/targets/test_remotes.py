"""The targets with a server: each one's `remote.py` implements `targets.base.Remote`, the engines
that loop over them agree with the registry, and importing a remote loads no client library."""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ci_gen.cli import cli
from ci_gen.targets import SERVER_TARGETS, TARGETS, server_order
from ci_gen.targets.base import Backend, Remote

REPO = Path(__file__).resolve().parents[2]
MEMBERS = {name: value for name, value in vars(Remote).items() if not name.startswith("_")}
ATTRIBUTES = set(Remote.__annotations__)
PARTS = ("credentials.py", "client.py", "server_lint.py", "history.py", "server.py", "sync_side.py", "remote.py")


@pytest.mark.parametrize("name", SERVER_TARGETS)
def test_every_server_target_implements_the_remote_protocol(name: str) -> None:
    remote = TARGETS[name].remote
    for attribute in ATTRIBUTES:
        assert isinstance(getattr(remote, attribute), (str, bool, int)), f"{name}.remote.{attribute}"
    for method, spec in MEMBERS.items():
        if not callable(spec):
            continue
        function = getattr(remote, method, None)
        assert callable(function), f"targets/{name}/remote.py has no {method}()"
        wanted = [p for p in inspect.signature(spec).parameters if p != "self"]
        assert list(inspect.signature(function).parameters) == wanted, f"{name}.remote.{method}"
    for part in PARTS:
        assert (REPO / "generator" / "ci_gen" / "targets" / name / part).is_file(), f"targets/{name}/{part}"


def test_the_architecture_page_names_every_file_a_server_needs() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for part in PARTS:
        assert f"`{part}`" in text, part


def test_a_target_without_a_server_has_no_remote() -> None:
    without = [t for t in TARGETS.values() if not t.server]
    assert without, "github and circleci render only"
    for target in without:
        with pytest.raises(LookupError):
            target.remote


@pytest.mark.parametrize("name", SERVER_TARGETS)
def test_every_server_target_has_a_sync_side_with_the_backend_steps(name: str) -> None:
    side = TARGETS[name].remote.sync_side()
    assert side.name == name
    for step in (m for m in vars(Backend) if not m.startswith("_") and m != "name"):
        assert callable(getattr(side, step, None)), f"{side.__name__}.{step}"


def test_sync_order_is_every_server_and_sync_only_offers_exactly_them() -> None:
    # Jenkins first: a job reading its Jenkinsfile from git takes the branch GitLab's side found.
    assert server_order() == ["jenkins", "gitlab"]
    option = next(p for p in cli.commands["sync"].params if p.name == "only")
    assert isinstance(option.type, click.Choice)
    assert set(option.type.choices) == set(SERVER_TARGETS)


def test_importing_the_remotes_loads_no_client_library() -> None:
    # The engines import every remote to loop over them; the clients come only with a connection.
    code = ("import sys\n"
            + "".join(f"import ci_gen.targets.{name}.remote\n" for name in SERVER_TARGETS)
            + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gitlab', 'jenkins', 'requests')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


@pytest.mark.parametrize("args", [["lint", "--server"], ["sync", "--dry-run"]], ids=["lint-server", "sync"])
def test_the_engines_load_a_client_library_only_to_connect(args: list[str], tmp_path: Path) -> None:
    # With no server configured, both loop over every remote, find no credentials and stop (exit
    # 2) without having imported python-gitlab or python-jenkins.
    import os
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "minimal", repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_GEN_")}
    env["HOME"] = str(tmp_path)  # no Jenkins Job Builder ini, no python-gitlab config
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ci_gen", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr[-2000:]
    assert "no server to lint against" in proc.stderr or "no CI server configured" in proc.stderr, proc.stderr[-2000:]
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    # importtime does not list what importlib loads itself (the remotes), only what they import
    assert {f"ci_gen.targets.{name}.credentials" for name in SERVER_TARGETS} <= modules
    assert not {m for m in modules if m.split(".")[0] in ("gitlab", "jenkins")}
