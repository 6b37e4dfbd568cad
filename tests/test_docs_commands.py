"""Every `ci-gen` command the docs show is run, and what the docs quote it printing is what it prints.

What is collected, from README.md and every docs/*.md (new pages are picked up on their own):

* fenced blocks marked `console`, `sh`, `bash`, `shell` or not marked at all (`text` blocks are
  synopses such as `ci-gen run [-C DIR] ...` and are not run);
* in a block with `$ ` prompts (a session), every prompt line is run in order, in one shell, so
  `cd`, `echo ... >> Jenkinsfile` and `echo $?` act as they would for the reader (a program other
  than ci-gen runs only when it is one of STAGE_PROGRAMS, such as git or echo); the lines after
  a prompt, up to the next one, are the quoted output. A line `...` stands for any number of
  lines; otherwise the quote must equal the output (stdout and stderr together, as a terminal
  shows them). A prompt with nothing quoted after it is run, not compared;
* in a block without prompts (a list of commands), every line whose command is `ci-gen` (after
  `VAR=value` words and `&&`) is run on its own.

Each block runs in a fresh scratch repository: a copy of examples/fraud-detector with its
generated files and a copy of `examples/` inside it (for `-C examples/...`), git init'd and
committed. A block
that needs another starting point says so in an HTML comment on the line before its fence,
`<!-- docs-test: SHELL -->`; SHELL runs first, in the scratch repository, with `$CI_GEN_SRC` the
ci-gen checkout (for the test corpus). `/tmp/` in a command is the scratch's own tmp directory.

A ci-gen command that cannot run here must match a rule of SKIPS (pattern and reason) or of
DRY_RUN (run with `--dry-run` added, for commands that need a daemon); no other ci-gen command is
skipped, and a rule that matches nothing fails test_every_skip_rule_is_used. Skipped commands are
still checked for existing subcommands and options (test_commands_in_the_prose_and_skipped_blocks_exist). A command that
ends with an exit code above 1 (usage error, unreachable service, internal error), or 1 where the
docs neither quote its output nor use a flag that reports through exit 1, fails the test.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.tools import require

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
SHELL_FENCES = {"", "console", "sh", "bash", "shell"}
FENCE = re.compile(r"^(```+|~~~+)\s*([A-Za-z0-9_-]*)\s*$")
SETUP = re.compile(r"<!--\s*docs-test:(.*?)-->", re.DOTALL)

# (regex searched in the command, reason). Each reason names where the behaviour is tested instead.
SKIPS: tuple[tuple[str, str], ...] = (
    (r"\bci-gen sync\b", "needs live GitLab/Jenkins servers, even to plan a --dry-run; "
                         "tests/sync runs sync against the emulators"),
    (r"\bci-gen report\b(?!.*--offline)", "reads deploy history from live GitLab/Jenkins servers; "
                                          "tests/report runs report against the emulators"),
    (r"\bci-gen init\s*(#|$)", "init without flags asks its questions in a terminal; the prompts are "
                               "driven through a terminal in tests/core/test_cli.py"),
)
# In a session, the other programs run are the shell's own and those that set the stage for
# ci-gen's next command. Anything else (pip, pre-commit, docker, kubectl...) is never run here:
# installing or reaching out is not the docs test's business.
STAGE_PROGRAMS = frozenset({"cd", "echo", "git", "cat", "ls", "mkdir", "cp", "mv", "rm", "sed", "touch",
                            "chmod", "printf", "test", "true"})
NOT_STAGE = "not ci-gen, and not one of the programs that set the stage for it (STAGE_PROGRAMS)"
# `ci-gen run` needs a Docker daemon; its --dry-run prints the Engine API calls instead.
DRY_RUN: tuple[str, ...] = (r"\bci-gen run\b(?!.*--(list|dry-run|clean)\b)",)
# External tools whose absence changes what a command prints (a "skipped: ..." note): missing
# locally, the block is skipped; under CI, where .ci/run installs them, it fails (tests/tools.py).
TOOLS: tuple[tuple[str, str, str], ...] = (
    (r"\bci-gen lint\b", "groovy", "apt-get install groovy default-jdk-headless"),
    (r"\bci-gen lint\b", "promtool", "apt-get install prometheus"),
)
# Flags that report what they found through exit 1.
REPORTS_BY_EXIT_1 = re.compile(r"\s--(check|diff)\b")


@dataclass
class Command:
    text: str                 # as the reader types it (prompt removed, continuations joined)
    line: int                 # in the page
    quoted: list[str] | None  # the output the docs show; None: not quoted
    run: str = ""             # what the test runs ("" when skipped)
    skip: str = ""            # the reason, when skipped


@dataclass
class Block:
    page: Path
    line: int
    setup: str
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(m.group(1))), len(lines))
            if m.group(2) in SHELL_FENCES:
                setup = SETUP.search(lines[i - 1]) if i else None
                block = Block(page, i + 1, setup.group(1).strip() if setup else "")
                block.commands = parse(lines[i + 1:end], i + 2)
                if block.commands:
                    found.append(block)
            i = end + 1
    return found


def parse(body: list[str], first_line: int) -> list[Command]:
    session = any(line.startswith("$ ") for line in body)
    commands: list[Command] = []
    k = 0
    while k < len(body):
        text, start = body[k], k
        while text.endswith("\\") and k + 1 < len(body):
            k += 1
            text = text[:-1] + " " + body[k].strip()
        k += 1
        if session:
            if text.startswith("$ "):
                commands.append(Command(text[2:].strip(), first_line + start, None))
            elif commands:
                quoted = commands[-1].quoted if commands[-1].quoted is not None else []
                commands[-1].quoted = [*quoted, text]
        else:
            for part in re.split(r"\s*&&\s*", text):
                if program(part) == "ci-gen":
                    commands.append(Command(part.strip(), first_line + start, None))
    for command in commands:
        if command.quoted is not None:
            while command.quoted and not command.quoted[-1].strip():
                command.quoted.pop()
            command.quoted = command.quoted or None
        plan(command)
    return commands


def program(text: str) -> str:
    words = text.split()
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words[0] if words else ""


def plan(command: Command) -> None:
    if program(command.text) not in STAGE_PROGRAMS | {"ci-gen"}:
        command.skip = NOT_STAGE
        return
    for pattern, reason in SKIPS:
        if re.search(pattern, command.text):
            command.skip = reason
            return
    run = command.text
    if any(re.search(p, run) for p in DRY_RUN):
        run = run.partition(" #")[0].rstrip() + " --dry-run"
        command.quoted = None  # the docs quote the real run
    command.run = run


def scratch(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "fraud-detector", root, symlinks=True)
    shutil.copytree(REPO / "examples", root / "examples", symlinks=True)
    (tmp_path / "tmp").mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "generator"), os.environ.get("PYTHONPATH", "")]),
        "CI_GEN_SRC": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1",
        "PYTHONUNBUFFERED": "1", "COLUMNS": "100", "TMPDIR": str(tmp_path / "tmp"),
        "GIT_AUTHOR_NAME": "docs", "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "docs", "GIT_COMMITTER_EMAIL": "docs@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "scratch"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root, env


def run_block(block: Block, tmp_path: Path) -> list[tuple[Command, int, list[str]]]:
    root, env = scratch(tmp_path)
    if block.setup:
        done = subprocess.run(["bash", "-euc", block.setup], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{block.id}: docs-test setup failed:\n{done.stdout}{done.stderr}"
    runnable = [c for c in block.commands if c.run]
    script = [f'ci-gen() {{ {shlex.quote(sys.executable)} -m ci_gen "$@"; }}', "exec 2>&1", "__rc=0"]
    for n, command in enumerate(runnable):
        script += ["(exit $__rc)", command.run.replace("/tmp/", f"{tmp_path}/tmp/"),
                   "__rc=$?", f"printf '\\n@@docs-test %s %s@@\\n' {n} \"$__rc\""]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    results = []
    rest = done.stdout
    for n, command in enumerate(runnable):
        m = re.search(rf"\n@@docs-test {n} (\d+)@@\n", rest)
        assert m, f"{block.id}: the shell stopped before `{command.text}`:\n{rest}"
        output = [line.rstrip() for line in rest[:m.start()].splitlines()]
        while output and not output[-1]:
            output.pop()
        results.append((command, int(m.group(1)), output))
        rest = rest[m.end():]
    return results


def matches(quoted: list[str], output: list[str]) -> bool:
    """`...` lines match any run of lines; every other line must be equal (trailing blanks aside)."""
    pattern = "".join(".*?" if q.strip() == "..." else re.escape(q.rstrip()) + "\n" for q in quoted)
    return re.fullmatch(pattern, "".join(line + "\n" for line in output), re.DOTALL) is not None


BLOCKS = blocks()


def test_the_docs_show_commands() -> None:
    commands = [c for b in BLOCKS for c in b.commands]
    assert len(commands) > 20 and any(c.quoted for c in commands)
    assert sum(bool(c.run) for c in commands) > sum(bool(c.skip) for c in commands)


def test_every_skip_rule_is_used() -> None:
    """A rule that matches no command any more is stale: remove it rather than let it hide one."""
    texts = [c.text for b in BLOCKS for c in b.commands]
    unused = [p for p, _ in SKIPS if not any(re.search(p, t) for t in texts)]
    unused += [p for p in DRY_RUN if not any(re.search(p, t) for t in texts)]
    assert unused == []


@pytest.mark.parametrize("block", [b for b in BLOCKS if any(c.run for c in b.commands)], ids=lambda b: b.id)
def test_documented_commands_do_what_the_docs_say(block: Block, tmp_path: Path) -> None:
    for pattern, tool, hint in TOOLS:
        if any(re.search(pattern, c.run) for c in block.commands if c.run):
            require(tool, hint)
    failures = []
    for command, rc, output in run_block(block, tmp_path):
        where = f"{block.page.relative_to(REPO)}:{command.line}: `{command.text}`"
        shown = "\n".join(output)
        if "Traceback (most recent call last)" in shown:
            failures.append(f"{where} crashed (exit {rc}):\n{shown}")
        elif command.quoted is not None:  # the quote is the contract, usage errors included
            if not matches(command.quoted, output):
                failures.append(f"{where} printed (exit {rc}):\n{shown}\n--- the docs quote:\n"
                                + "\n".join(command.quoted))
        elif rc > 1:
            failures.append(f"{where} exited {rc}:\n{shown}")
        elif rc == 1 and not REPORTS_BY_EXIT_1.search(command.run):
            failures.append(f"{where} exited 1 (nothing quoted says it should):\n{shown}")
    assert not failures, "\n\n".join(failures)


INLINE = re.compile(r"(?<!`)`(ci-gen [^`]+)`(?!`)")


def inline_commands() -> list[tuple[str, str]]:
    """`ci-gen ...` code spans in the prose, with where they are. Spans that quote a message
    (`ci-gen run-test: error: ...`, `ci-gen <step>: ...`) are output, not commands."""
    found = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for span in INLINE.findall(line):
                words = span.split()
                if len(words) > 1 and (words[1].endswith(":") or words[1].startswith("<")):
                    continue
                found.append((f"{page.relative_to(REPO)}:{number}", span))
    return found


def unknown_words(text: str) -> list[str]:
    """Subcommands and options in `text` that the CLI does not have (positional values aside)."""
    import click

    from ci_gen.cli import cli

    code = text.partition(" #")[0].replace("|", " ")
    try:
        words = shlex.split(code)
    except ValueError:  # a quote left open by `...` in the span
        words = code.split()
    while words and words[0] != "ci-gen":
        words.pop(0)
    command: click.Command = cli
    unknown = []
    for word in words[1:]:
        if word in (">", ">>", "&&"):
            break
        if isinstance(command, click.Group) and not word.startswith("-"):
            sub = command.commands.get(word)
            if sub is None:
                unknown.append(word)
                break
            command = sub
        elif word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            known = {o for p in command.params for o in [*p.opts, *p.secondary_opts]} | {"--help", "-h"}
            if name not in known:
                unknown.append(f"{' '.join(words[1:words.index(word)])} {name}".strip())
    return unknown


def test_commands_in_the_prose_and_skipped_blocks_exist() -> None:
    """What is not run is at least checked: every subcommand and option named exists."""
    shown = inline_commands() + [(f"{b.page.relative_to(REPO)}:{c.line}", c.text[c.text.index("ci-gen"):])
                                 for b in BLOCKS for c in b.commands if re.match(r"(\S+=\S+ )*ci-gen ", c.text)]
    assert len(shown) > 50
    wrong = [f"{where}: `{text}`: {unknown_words(text)}" for where, text in shown if unknown_words(text)]
    assert wrong == []


def test_every_step_and_the_variables_its_header_reads_are_in_steps_md() -> None:
    """docs/steps.md describes what `ci-gen steps show` prints from the scripts' headers: each step
    has a section, and each variable a header names appears on the page (the shared ones, such as
    CI_GEN_DRY_RUN, are described once, not per step)."""
    from ci_gen.steps import all_steps

    text = (REPO / "docs" / "steps.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    steps = all_steps()
    assert len(steps) >= 6
    missing = [step.name for step in steps if step.name not in sections]
    assert missing == [], f"docs/steps.md has no `## NAME` section for {missing}"
    undocumented = [f"{step.name}: {var}" for step in steps
                    for var in sorted(set(re.findall(r"\b(?:CI_GEN|COSIGN)_[A-Z0-9_]+\b", "\n".join(step.header()))))
                    if var not in text]
    assert undocumented == [], f"variables the step headers read, not in docs/steps.md: {undocumented}"


def test_the_version_being_released_has_a_changelog_entry() -> None:
    """adopting.md tells users to pin a release tag and read CHANGELOG.md for what it changes: the
    version in pyproject.toml (what the next tag `vX.Y.Z` will name) must have its entry, and so
    must every tag already made."""
    found = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, "pyproject.toml has no version"
    version = found.group(1)
    entries = set(re.findall(r"^## (\d+\.\d+\.\d+)\b", (REPO / "CHANGELOG.md").read_text(encoding="utf-8"),
                             re.MULTILINE))
    tags = subprocess.run(["git", "tag", "--list", "v*"], cwd=REPO, capture_output=True, text=True).stdout.split()
    missing = [v for v in {version, *(t[1:] for t in tags if re.fullmatch(r"v\d+\.\d+\.\d+", t))} if v not in entries]
    assert missing == [], f"CHANGELOG.md has no `## X.Y.Z` entry for {missing}"
