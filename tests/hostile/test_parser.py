"""Hostile input: parser limits, everywhere a manifest or a fleet file is read.

No input may crash the process or make it write without bound. Deep nesting, however it is
spelled, used to kill ruamel's C loader with SIGSEGV (exit 139) in `validate`, `render --check`
and in the middle of a fleet sync; one 500 KB string aliased a thousand times validated and
rendered 954 MB; sync read manifests without the 1 MiB / NUL / UTF-8 limits; YAML 1.1 integers
(`0755`, `0x1F`, `1_000`) were silently rewritten in string fields. Every CLI case runs as a
real process (a segfault must show as an exit code, not kill pytest); sync cases run against
the Jenkins and GitLab emulators over real HTTP, with the hostile manifests served there.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_gen import api
from ci_gen.errors import ManifestError
from ci_gen.yamllimits import C_LOADER_MAX_BOUND, nesting_bound
from ci_gen.yamlio import parse
from tests.core.helpers import PROBLEM_LINE, Outcome, assert_no_traceback, run_process
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import manifest

N = 100_000  # levels: far past the ~20,000 that overflow the C loader's stack
HEAD = b"version: 1\nname: app\nimage: {name: registry.example.com/ml/app}\n"

# Each spelling nests N levels; the first five got past the old pre-scan (which only counted
# brackets, and took any quote or `#` for the start of a string or comment) and crashed.
DEEP = {
    "block-compact-sequence": HEAD + b"x:\n" + b"- " * N + b"x\n",
    "block-explicit-keys": HEAD + b"x:\n  " + b"? " * N + b"x\n",
    "block-sequence-of-mappings": HEAD + b"x:\n" + b"- " * (N // 2) + b"? " * (N // 2) + b"x\n",
    "flow-after-apostrophe": HEAD + b"x: it's\ny: " + b"[" * N + b"]" * N + b"\nz: it's\n",
    "flow-after-hash-in-plain-scalar": HEAD + b"x: [a#b, " + b"[" * N + b"]" * N + b"]\n",
    "flow-sequences": HEAD + b"x: " + b"[" * N + b"]" * N + b"\n",
    "flow-mappings": HEAD + b"x: " + b"{a: " * N + b"b" + b"}" * N + b"\n",
    "flow-implicit-pairs": HEAD + b"x: " + b"[a: " * N + b"b" + b"]" * N + b"\n",
    "flow-behind-tags": HEAD + b"x: " + b"!!seq [" * (N // 4) + b"]" * (N // 4) + b"\n",
    "flow-closers-in-quotes": HEAD + b'x: ["]]]]", ' + b"[" * N + b"]" * N + b"]\n",
    "block-indentation": HEAD + b"x:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 1300)),
    # libyaml skips a byte order mark at the start of any line, shifting every column after it
    # (ruamel's pure parser, which such a text goes to, does not: for it the line is an error)
    "bom-at-line-start": HEAD + b"x:\n\xef\xbb\xbf" + b"- " * N + b"x\n",
}


def hostile_env(jenkins: JenkinsEmulator | None = None, gitlab: GitLabEmulator | None = None,
                home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_GEN_")}
    if home is not None:
        env["HOME"] = str(home)  # no stray JJB or python-gitlab config
    if jenkins is not None:
        env.update(CI_GEN_JENKINS_URL=jenkins.url, CI_GEN_JENKINS_USER=jenkins.user, CI_GEN_JENKINS_TOKEN=jenkins.token)
    if gitlab is not None:
        env.update(CI_GEN_GITLAB_URL=gitlab.url, CI_GEN_GITLAB_TOKEN=gitlab.token)
    return env


def one_problem(outcome: Outcome, words: str, file: str = "ci-gen.yaml") -> re.Match[str]:
    assert outcome.code == 1, outcome  # 139 was the segfault
    assert_no_traceback(outcome)
    lines = [line for line in outcome.err_lines if line.strip()]
    assert len(lines) == 1, lines
    match = PROBLEM_LINE.match(lines[0])
    assert match and match["file"] == file, lines[0]
    assert words in match["rest"], lines[0]
    return match


# -- 1. nesting, however it is spelled -----------------------------------------------------------

@pytest.mark.parametrize("command", [["validate"], ["render", "--check"]])
@pytest.mark.parametrize("case", sorted(DEEP))
def test_deep_nesting_is_refused_never_crashes(case: str, command: list[str], tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_bytes(DEEP[case])
    outcome = run_process(command, cwd=tmp_path, timeout=20)
    words = "a key without ':'" if case == "bom-at-line-start" else "nested more than 64 levels deep"
    match = one_problem(outcome, words)
    assert int(match["line"]) >= 4  # located where the nesting is, not 1:1


@pytest.mark.parametrize("command", [["lint"], ["lint", "--server"], ["validate", "-o", "json"]])
def test_other_readers_refuse_deep_nesting_the_same_way(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_bytes(DEEP["block-compact-sequence"])
    outcome = run_process(command, cwd=tmp_path, timeout=20, env={"HOME": str(tmp_path)})
    assert outcome.code == 1, outcome
    assert_no_traceback(outcome)
    assert "nested more than 64 levels deep" in outcome.out + outcome.err


def test_lint_reports_a_deeply_nested_committed_gitlab_file(tmp_path: Path) -> None:
    # lint reads the committed .gitlab-ci.yml too (pure parser: a RecursionError, an internal error)
    (tmp_path / "ci-gen.yaml").write_text(manifest("app", targets="[gitlab]"), encoding="utf-8")
    (tmp_path / ".gitlab-ci.yml").write_bytes(b"x: " + b"[" * N + b"]" * N + b"\n")
    outcome = run_process(["lint"], cwd=tmp_path, timeout=30, env={"HOME": str(tmp_path)})
    assert outcome.code == 1, outcome
    assert_no_traceback(outcome)
    assert "internal error" not in outcome.err
    assert ".gitlab-ci.yml: invalid YAML: YAML nested more than 64 levels deep" in outcome.out + outcome.err


def test_nesting_up_to_the_limit_is_accepted() -> None:
    # The top mapping is level 1: 63 brackets below it make 64 levels, one more is refused,
    # by the same rule on both loaders (the C loader for 63, the pure one past the scan's bound).
    assert parse("x: " + "[" * 63 + "]" * 63 + "\n", "x.yaml").data["x"]
    with pytest.raises(ManifestError, match="nested more than 64 levels deep"):
        parse("x: " + "[" * 64 + "]" * 64 + "\n", "x.yaml")
    with pytest.raises(ManifestError, match="nested more than 64 levels deep"):
        parse("x:\n" + "- " * 64 + "y\n", "x.yaml")


def _event_depth(text: str) -> int:
    """The deepest nesting libyaml reaches in `text` (up to its first error), from its event
    stream: iterative, so it cannot crash, unlike composing."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = peak = 0
    try:
        for event in YAML(typ="safe", pure=False).parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                peak = max(peak, depth)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except Exception:  # noqa: BLE001 - an error ends the stream; what came before is what counts
        pass
    return peak


FRAGMENTS = ["- ", "? ", ": ", "-", "?", ":", "[", "]", "{", "}", ", ", ",", "'", "''", '"', '\\"', "\\",
             "#", " #", "a", "it's", "!!seq ", "&a ", "*a", "|\n", ">-\n", "\n", "\n  ", "\n    ", " ", "\t",
             "\r\n", "\r", "\ufeff", "\u2028", "key: ", "- [", "[a: ", '"a": ']


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60))
def test_the_bound_is_never_below_what_libyaml_builds(parts: list[str]) -> None:
    # Soundness, the property the crash fix rests on: the C loader only sees text whose real
    # depth is at most the bound. Random mixes of every indicator, quote and break kind.
    text = "".join(parts)
    assert nesting_bound(text, cap=10**9) >= _event_depth(text)


@pytest.mark.parametrize("case", sorted(DEEP))
def test_the_bound_keeps_every_deep_spelling_away_from_the_c_loader(case: str) -> None:
    assert nesting_bound(DEEP[case].decode()) > C_LOADER_MAX_BOUND


def test_the_c_loader_takes_the_largest_bound_allowed_in_a_small_thread_stack() -> None:
    # The margin behind C_LOADER_MAX_BOUND: sync parses in worker threads, whose stacks can be
    # as small as 128 KiB (musl). Twice the bound must load there, in a fresh process.
    code = ("import threading; threading.stack_size(128 * 1024)\n"
            "from ci_gen import yamlio\n"
            f"n = {2 * C_LOADER_MAX_BOUND}\n"
            "def load(): print(yamlio._c_loader().load('x: ' + '[' * n + ']' * n) is not None)\n"
            "worker = threading.Thread(target=load); worker.start(); worker.join()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "True\n"), done


def test_committed_manifests_stay_on_the_fast_loader() -> None:
    # An overestimate only costs speed; on real manifests the bound stays far below the limit.
    repo = Path(__file__).resolve().parents[2]
    for path in sorted(repo.glob("examples/*/ci-gen.yaml")) + sorted(repo.glob("tests/golden/*/ci-gen.yaml")):
        assert nesting_bound(path.read_text(encoding="utf-8")) <= C_LOADER_MAX_BOUND // 2, path


# -- 2. alias amplification ----------------------------------------------------------------------

def amplified() -> bytes:
    """511 KB on disk: one 500 KB string, aliased a thousand times (500 MB once expanded)."""
    lines = [HEAD.decode(), "variables:\n", "  BIG: &big " + "a" * 500_000 + "\n"]
    lines += [f"  V{i}: *big\n" for i in range(1000)]
    return "".join(lines).encode()


@pytest.mark.parametrize("command", [["validate"], ["render"], ["render", "--check"]])
def test_an_aliased_big_string_is_refused_before_anything_is_written(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_bytes(amplified())
    assert len(amplified()) < 520_000
    outcome = run_process(command, cwd=tmp_path, timeout=30)
    match = one_problem(outcome, "alias expansion")
    assert "1,048,576 characters" in match["rest"]
    assert int(match["line"]) > 5  # at the alias use that crossed the limit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ci-gen.yaml"]


def test_aliases_within_the_limit_still_work() -> None:
    text = manifest("app") + "variables:\n  A: &v shared-value\n  B: *v\n"
    assert dict(api.load_manifest_text(text).variables) == {"A": "shared-value", "B": "shared-value"}


# -- 3. integers YAML rewrites, NUL in values -------------------------------------------------------

@pytest.mark.parametrize(("spelling", "number"), [("0755", 755), ("0o755", 493), ("0x1F", 31), ("1_000", 1000),
                                                  ("0b101", 5), ("+12", 12), ("-0", 0)])
@pytest.mark.parametrize("field", ["variables", "build_args"])
def test_rewritten_integers_in_string_fields_are_refused(spelling: str, number: int, field: str,
                                                         tmp_path: Path) -> None:
    block = f"variables:\n  MODE: {spelling}\n" if field == "variables" else \
        f"image:\n  name: registry.example.com/ml/app\n  build_args:\n    MODE: {spelling}\n"
    text = "version: 1\nname: app\n" + (block if field == "build_args" else
                                        "image: {name: registry.example.com/ml/app}\n" + block)
    (tmp_path / "ci-gen.yaml").write_text(text, encoding="utf-8")
    outcome = run_process(["validate"], cwd=tmp_path, timeout=20)
    match = one_problem(outcome, f'{spelling} is read by YAML as the number {number}; quote it ("{spelling}")')
    assert match["line"] == ("6" if field == "build_args" else "5")


def test_a_rewritten_integer_in_a_string_only_field_says_quote_it() -> None:
    with pytest.raises(ManifestError) as caught:
        api.load_manifest_text(manifest("app") + "deploy:\n  environments:\n    - {name: 0o17, kubernetes: {namespace: ml}}\n")
    assert 'expected string, got integer: 0o17 is read by YAML as the number 15; quote it ("0o17")' in str(caught.value)


def test_quoted_and_decimal_values_are_kept_as_written() -> None:
    text = manifest("app") + "variables:\n  MODE: '0755'\n  HEX: \"0x1F\"\n  COUNT: 12\n  NEG: -3\nimage_port: 0\n"
    text = text.replace("image_port: 0\n", "deploy:\n  port: 0x1F90\n  environments: [{name: dev, kubernetes: {namespace: ml}}]\n")
    loaded = api.load_manifest_text(text)
    assert dict(loaded.variables) == {"MODE": "0755", "HEX": "0x1F", "COUNT": "12", "NEG": "-3"}
    assert loaded.deploy is not None and loaded.deploy.port == 8080  # an integer field takes any spelling
    files = api.render_manifest(loaded, text.encode()).files
    gitlab = files[".gitlab-ci.yml"].decode()
    assert 'MODE: "0755"' in gitlab or "MODE: '0755'" in gitlab
    assert b"8080" in files[".ci-gen/k8s/dev/deployment.yaml"]
    assert not any(b"0x1F90" in content for content in files.values())  # numbers render as numbers


def test_a_nul_in_a_variable_value_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ci-gen.yaml").write_text(HEAD.decode() + 'variables:\n  A: "left\\0right"\n', encoding="utf-8")
    outcome = run_process(["validate"], cwd=tmp_path, timeout=20)
    match = one_problem(outcome, "a NUL character is not allowed in a value")
    assert (match["line"], match["column"]) == ("5", "6")


def test_the_library_applies_the_file_limits_to_text() -> None:
    for text, words in [(manifest("app") + "# " + "x" * (1024 * 1024) + "\n", "the limit is 1,048,576"),
                        (manifest("app") + "a: \x00\n", "NUL"),
                        (manifest("app") + "# " + "é" * 600_000 + "\n", "the limit is 1,048,576")]:
        with pytest.raises(ManifestError, match=words):
            api.render_files(text)


# -- 4. sync: local checkouts and GitLab, each hostile manifest one failed project -------------------

HOSTILE_MANIFESTS: dict[str, tuple[bytes, str]] = {
    "deep": (DEEP["block-compact-sequence"], "nested more than 64 levels deep"),
    "deep-flow": (DEEP["flow-after-apostrophe"], "nested more than 64 levels deep"),
    "amplified": (amplified(), "alias expansion"),
    "too-big": (HEAD + b"# " + b"x" * (2 * 1024 * 1024) + b"\n", "the limit is 1,048,576"),
    "latin1": ("version: 1\nname: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    "nul-byte": (HEAD + b"variables: {A: \x00}\n", "NUL"),
    "nul-escape": (HEAD + b'variables: {A: "a\\0b"}\n', "a NUL character is not allowed"),
    "octal": (HEAD + b"variables: {MODE: 0755}\n", 'quote it ("0755")'),
}


def sync_process(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = cwd / "report.json"
    done = subprocess.run([sys.executable, "-m", "ci_gen", "sync", *args, "--no-progress", "--timeout", "10",
                           "--report", str(report)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert report.is_file(), (done.returncode, done.stdout, done.stderr)  # -11 / 139 left no report
    return done, json.loads(report.read_text(encoding="utf-8"))


def assert_each_hostile_project_failed_alone(data: dict[str, Any], key_of: Any) -> None:
    projects = {p["key"]: p for p in data["projects"]}
    for name, (_, words) in HOSTILE_MANIFESTS.items():
        entry = projects[key_of(name)]
        assert entry["status"] == "failed", entry
        assert PROBLEM_LINE.match(entry["error"].splitlines()[0]), entry["error"]
        assert entry["error"].startswith("ci-gen.yaml:") and words in entry["error"], entry["error"]
        assert "codec" not in entry["error"]
    good = projects[key_of("good")]
    assert good["status"] == "created", good


def test_sync_from_local_checkouts_records_each_hostile_manifest_and_goes_on(
        tmp_path: Path, jenkins_emulator: JenkinsEmulator) -> None:
    entries = []
    for name, content in {**{k: v[0] for k, v in HOSTILE_MANIFESTS.items()}, "good": manifest("good").encode()}.items():
        (tmp_path / "repos" / name).mkdir(parents=True)
        (tmp_path / "repos" / name / "ci-gen.yaml").write_bytes(content)
        entries.append(f"  - {{path: repos/{name}, ref: main, repo_url: 'https://git.example.com/{name}.git'}}\n")
    (tmp_path / "fleet.yaml").write_text("version: 1\nprojects:\n" + "".join(entries), encoding="utf-8")
    done, data = sync_process(["--fleet", "fleet.yaml"], tmp_path, hostile_env(jenkins_emulator, home=tmp_path))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert_each_hostile_project_failed_alone(data, lambda name: f"path:repos/{name}")
    assert jenkins_emulator.item("ml/good") is not None


def test_sync_from_gitlab_records_each_hostile_manifest_and_goes_on(
        tmp_path: Path, gitlab_emulator: GitLabEmulator) -> None:
    for name, (content, _) in HOSTILE_MANIFESTS.items():
        gitlab_emulator.add_project(f"ml/{name}", files={"ci-gen.yaml": content})
    gitlab_emulator.add_project("ml/good", files={"ci-gen.yaml": manifest("good")})
    (tmp_path / "fleet.yaml").write_text("version: 1\ndefaults:\n  gitlab: {mode: commit}\n"
                                         "discover:\n  - {gitlab_group: ml}\n", encoding="utf-8")
    done, data = sync_process(["--fleet", "fleet.yaml", "--only", "gitlab"], tmp_path,
                              hostile_env(gitlab=gitlab_emulator, home=tmp_path))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert_each_hostile_project_failed_alone(data, lambda name: f"gitlab:ml/{name}")
    assert ".gitlab-ci.yml" in gitlab_emulator.files("ml/good")
    for name in HOSTILE_MANIFESTS:
        assert ".gitlab-ci.yml" not in gitlab_emulator.files(f"ml/{name}")


@pytest.mark.parametrize(("content", "words"), [
    (b"version: 1\nprojects:\n" + b"- " * N + b"x\n", "nested more than 64 levels deep"),
    (b"version: 1\nprojects: [{path: caf\xe9}]\n", "not UTF-8"),
    (b"version: 1\nprojects: [{path: \"a\\0b\"}]\n", "NUL character"),
], ids=["deep", "latin1", "nul-escape"])
@pytest.mark.parametrize("command", [["sync", "--fleet", "fleet.yaml", "--dry-run"], ["fleet-pipeline", "fleet.yaml"]])
def test_a_hostile_fleet_file_is_one_located_error(content: bytes, words: str, command: list[str],
                                                   tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_bytes(content)
    outcome = run_process(command, cwd=tmp_path, timeout=30, env={"HOME": str(tmp_path)})
    one_problem(outcome, words, file="fleet.yaml")


def test_a_huge_gitlab_manifest_is_not_downloaded_whole(gitlab_emulator: GitLabEmulator,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # 50 MB served over real HTTP: the read stops past the limit (before, python-gitlab's
    # `files.raw` returned the whole body as one bytes object). Counted at the socket, in this
    # thread only: the emulator serves from its own threads.
    import socket
    import threading

    import gitlab as gitlab_lib

    from ci_gen.targets.gitlab.server import GitLabBackend

    gitlab_emulator.add_project("ml/huge", files={"ci-gen.yaml": HEAD + b"#" + b"x" * (50 * 1024 * 1024) + b"\n"})
    backend = GitLabBackend(gitlab_lib.Gitlab(gitlab_emulator.url, private_token=gitlab_emulator.token, timeout=30))
    received = [0]
    reader = threading.get_ident()
    recv_into = socket.socket.recv_into

    def counting(self: socket.socket, buffer: Any, *args: Any) -> int:
        count: int = recv_into(self, buffer, *args)
        if threading.get_ident() == reader:
            received[0] += count
        return count

    monkeypatch.setattr(socket.socket, "recv_into", counting)
    with pytest.raises(ManifestError, match="over 1,048,576 bytes"):
        backend.read_manifest("ml/huge", None)
    assert 1024 * 1024 < received[0] < 8 * 1024 * 1024, f"{received[0]:,} bytes received"
