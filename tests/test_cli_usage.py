"""A flag a command does not honour is a usage error, never silently dropped.

Each rule runs the real command line (`python -m ci_gen`, as a shell or a CI job would) in a
rendered copy of an example, and checks exit code 2, the one-line message on stderr, and that
nothing was written or asked: the refusal comes before any work. No server is configured, so a
command that got past its checks would fail differently (exit 2 with the "no CI server" list, or
1), not with the message checked here.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.core.helpers import assert_no_traceback, run_process

REPO = Path(__file__).resolve().parent.parent
FLEET = "version: 1\nprojects:\n  - gitlab: ml/fraud-detector\n"

# (arguments, the message: the whole of stderr after "ci-gen: ")
RULES: list[tuple[list[str], str]] = [
    (["render", "--check", "--force"], "--force replaces files when render writes them; --check and --diff write nothing"),
    (["render", "--diff", "--force"], "--force replaces files when render writes them; --check and --diff write nothing"),
    (["lint", "--gitlab-project", "ml/x"], "--gitlab-project: only with --server"),
    (["lint", "--timeout", "5", "--gitlab-project", "ml/x"], "--gitlab-project, --timeout: only with --server"),
    (["lint", "--server", "--out", "out"], "--out lints offline; --server checks the repository's files"),
    (["import", "--stdout", "--force"], "--force replaces the manifest; --stdout writes none"),
    (["sync", "-C", ".", "--fleet", "fleet.yaml"],
     "-C DIR syncs one checkout; --fleet FILE syncs the fleet's projects: give one of them"),
    (["sync", "--shard", "1/2"], "--shard splits a fleet: it needs --fleet"),
    (["sync", "--prune"], "--prune needs --fleet: only a fleet file says which jobs have left it"),
    (["sync", "--diff", "-o", "json"], "--diff prints diffs with the text summary; -o json reports the changes without them"),
    (["sync", "--only", "gitlab", "--verify"], "--verify: Jenkins only, and --only gitlab writes no Jenkins job"),
    (["sync", "--only", "gitlab", "--jenkins-definition", "inline"],
     "--jenkins-definition: Jenkins only, and --only gitlab writes no Jenkins job"),
    (["sync", "--fleet", "fleet.yaml", "--only", "gitlab", "--prune", "--jenkins-ini", "j.ini"],
     "--prune, --jenkins-ini: Jenkins only, and --only gitlab writes no Jenkins job"),
    (["sync", "--only", "jenkins", "--mode", "commit"], "--mode: GitLab only, and --only jenkins writes nothing to GitLab"),
    (["report", "-C", ".", "--fleet", "fleet.yaml"],
     "-C DIR reports on one checkout; --fleet FILE on the fleet's projects: give one of them"),
    (["report", "--shard", "1/2"], "--shard splits a fleet: it needs --fleet"),
    (["report", "--cache", "c.sqlite", "--no-cache"], "--cache names the cache; --no-cache keeps none"),
    (["report", "--offline", "--timeout", "5"], "--offline asks no server: --timeout cannot go with it"),
    (["report", "--offline", "--jenkins-ini", "j.ini", "--gitlab-id", "x"],
     "--offline asks no server: --gitlab-id, --jenkins-ini cannot go with it"),
    (["report", "--offline", "--no-cache"], "--offline reads the cache; it cannot be combined with --no-cache"),
    (["run", "--clean", "build-image"],
     "--clean removes what any killed run left and reads no manifest: job names cannot go with it"),
    (["run", "--clean", "-f", "ci-gen.yaml", "--bind"],
     "--clean removes what any killed run left and reads no manifest: -f, --bind cannot go with it"),
    (["run", "--list", "--dry-run", "--var", "A=1"], "--list runs nothing: --dry-run, --var cannot go with it"),
    (["run", "--only"], "--only runs the named jobs alone: name the jobs"),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("usage") / "fraud-detector"
    shutil.copytree(REPO / "examples" / "fraud-detector", root)
    (root / "fleet.yaml").write_text(FLEET, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("args", "message"), RULES, ids=[" ".join(a) for a, _ in RULES])
def test_an_option_the_command_would_not_honour_is_refused(args: list[str], message: str, repo: Path,
                                                           tmp_path: Path) -> None:
    before = snapshot(repo)
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"), "CI_GEN_GITLAB_URL": "",
           "CI_GEN_JENKINS_URL": ""}
    outcome = run_process(args, cwd=repo, env=env)
    assert (outcome.code, outcome.err_lines, outcome.out) == (2, [f"ci-gen: {message}"], ""), outcome
    assert snapshot(repo) == before
    assert not (tmp_path / "cache").exists()  # not even the report cache or a verified record


def test_render_fleet_names_the_command_that_replaced_it(repo: Path) -> None:
    outcome = run_process(["render", "--fleet", "fleet.yaml", "--out", "platform"], cwd=repo)
    assert outcome.code == 2, outcome
    assert_no_traceback(outcome)
    assert outcome.err_lines[-1] == ("Error: render --fleet is now its own command: ci-gen fleet-pipeline "
                                     "fleet.yaml [--out DIR] [--shards N] ...")
    assert not (repo / "platform").exists()


def test_fleet_pipeline_refuses_render_options(repo: Path) -> None:
    """The new command takes only what it honours: -f, --check, --diff and --target are unknown to it."""
    for option in (["-f", "ci-gen.yaml"], ["--check"], ["--diff"], ["--target", "gitlab"]):
        outcome = run_process(["fleet-pipeline", "fleet.yaml", *option], cwd=repo)
        assert outcome.code == 2 and "No such option" in outcome.err, (option, outcome)


def test_every_command_module_has_the_one_calling_convention() -> None:
    """`commands/<verb>.py`: a frozen dataclass Request and run(request) -> int, for every subcommand."""
    import dataclasses
    import importlib
    import inspect

    from ci_gen.cli import cli

    verbs = [name for name in cli.commands]  # type: ignore[attr-defined]
    assert {"fleet-pipeline", "sync", "report", "schema", "steps"} <= set(verbs)
    for verb in verbs:
        module = importlib.import_module(f"ci_gen.commands.{verb.replace('-', '_')}" + ("_" if verb == "import" else ""))
        request = module.Request
        assert dataclasses.is_dataclass(request) and request.__dataclass_params__.frozen, verb
        assert list(inspect.signature(module.run).parameters) == ["request"], verb
