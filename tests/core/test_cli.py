"""The command line as a user and a machine see it: exit codes, the error boundary, `--output
json`, `-C`/`-f`, render's check/diff/out/target modes, init, schema, steps and --version."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import ci_gen
import pytest

from tests.core.helpers import (
    EXAMPLES,
    PROBLEM_LINE,
    assert_no_traceback,
    run_main,
    run_process,
)

FRAUD = EXAMPLES / "fraud-detector" / "ci-gen.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding the GPU canary example's manifest, nothing rendered yet."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(FRAUD, root / "ci-gen.yaml")
    return root


def drift(outcome_out: str) -> dict[str, str]:
    return {d["path"]: d["state"] for d in json.loads(outcome_out)["drift"]}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- exit codes and the error boundary ---------------------------------------------------------

def test_exit_codes_ok_problem_usage(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["validate", "-C", str(repo)], capsys).code == 0
    edit(repo / "ci-gen.yaml", "strategy: canary", "strategy: canry")
    assert run_main(["validate", "-C", str(repo)], capsys).code == 1
    for argv in (["validate", "--no-such-option"], ["render", "--target", "travis"], ["frobnicate"],
                 ["validate", "-C", str(repo / "missing-dir")], ["steps", "show", "no-such-step"]):
        outcome = run_main(argv, capsys)
        assert outcome.code == 2, (argv, outcome)
        assert_no_traceback(outcome)
        assert outcome.err.strip(), argv


def test_internal_error_is_one_line_and_a_logged_traceback(repo: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           _private_cache: Path) -> None:
    from ci_gen.commands import validate

    def broken(*_: object) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(validate, "run", broken)  # any bug below the error boundary
    outcome = run_main(["validate", "-C", str(repo)], capsys)
    assert outcome.code == 4
    log = _private_cache / "ci-gen" / "error.log"
    assert outcome.err_lines == [f"ci-gen: internal error: ZeroDivisionError: simulated bug (traceback in {log})"]
    assert_no_traceback(outcome)
    logged = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged and "simulated bug" in logged


def test_interrupt_exits_130(repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ci_gen.commands import validate

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(validate, "run", interrupted)
    outcome = run_main(["validate", "-C", str(repo)], capsys)
    assert (outcome.code, [line for line in outcome.err_lines if line]) == (130, ["interrupted"])  # click adds a newline


def test_console_script_exit_code_reaches_the_shell(repo: Path) -> None:
    outcome = run_process(["validate"], cwd=repo)
    assert (outcome.code, outcome.out) == (0, "ci-gen.yaml: valid (fraud-detector)\n")
    (repo / "ci-gen.yaml").write_text("version: 1\n", encoding="utf-8")
    outcome = run_process(["validate"], cwd=repo)
    assert outcome.code == 1 and PROBLEM_LINE.match(outcome.err_lines[0])


# --- --output json ------------------------------------------------------------------------------

def test_validate_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = json.loads(run_main(["validate", "-C", str(repo), "-o", "json"], capsys).out)
    assert (payload["valid"], payload["problems"], payload["name"]) == (True, [], "fraud-detector")
    edit(repo / "ci-gen.yaml", "replicas: 6", "replicas: six")
    # the example grows; the line is where the edit landed
    line = (repo / "ci-gen.yaml").read_text().splitlines().index("      replicas: six") + 1
    outcome = run_main(["validate", "-C", str(repo), "--output", "json"], capsys)
    assert outcome.code == 1 and outcome.err == ""
    assert json.loads(outcome.out)["problems"] == [{
        "file": "ci-gen.yaml", "line": line, "column": 7, "path": "deploy.environments[1].replicas",
        "message": "expected integer, got string"}]


def test_render_check_json_and_lint_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_main(["render", "-C", str(repo), "--check", "-o", "json"], capsys)
    assert outcome.code == 1 and set(drift(outcome.out).values()) == {"missing"}
    assert run_main(["render", "-C", str(repo)], capsys).code == 0
    outcome = run_main(["render", "-C", str(repo), "--check", "-o", "json"], capsys)
    assert (outcome.code, json.loads(outcome.out)) == (0, {"ok": True, "drift": []})
    outcome = run_main(["lint", "-C", str(repo), "-o", "json"], capsys)
    results = {r["file"]: r for r in json.loads(outcome.out)["results"]}
    assert results[".gitlab-ci.yml"] == {"file": ".gitlab-ci.yml", "problems": [], "skipped": None}
    assert results["Jenkinsfile"]["problems"] == []
    assert outcome.code == 0


def test_steps_json(capsys: pytest.CaptureFixture[str]) -> None:
    listed = json.loads(run_main(["steps", "list", "-o", "json"], capsys).out)["steps"]
    names = [s["name"] for s in listed]
    assert "convert-model" in names and "scan" in names and names == sorted(names)
    assert all(s["summary"] for s in listed), "every step documents itself in its header"
    shown = json.loads(run_main(["steps", "show", "convert-model", "-o", "json"], capsys).out)
    assert shown["name"] == "convert-model" and shown["header"][0] == listed[names.index("convert-model")]["summary"]


# --- -C and -f ----------------------------------------------------------------------------------

def test_directory_and_file_options(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "ci-gen.yaml").rename(repo / "app.yaml")
    assert run_main(["validate", "-C", str(repo)], capsys).err_lines == [
        f"ci-gen.yaml:1:1: file not found in {repo.resolve()}; `ci-gen init` writes a starter, -C DIR / -f FILE point elsewhere"]
    outcome = run_main(["validate", "-C", str(repo), "-f", "app.yaml"], capsys)  # -f relative to -C
    assert outcome.code == 0 and outcome.out.startswith("app.yaml: valid")
    monkeypatch.chdir(tmp_path)
    outcome = run_main(["validate", "-C", "repo", "-f", "repo/app.yaml"], capsys)  # or to the working dir
    assert outcome.code == 0 and outcome.out.startswith("app.yaml: valid")
    edit(repo / "app.yaml", "name: fraud-detector", "name: Fraud")
    assert run_main(["validate", "-f", str(repo / "app.yaml")], capsys).err.startswith(f"{repo / 'app.yaml'}:3:1: name:")
    assert run_main(["render", "-C", "repo", "-f", "app.yaml"], capsys).code == 1
    edit(repo / "app.yaml", "name: Fraud", "name: fraud-detector")
    assert run_main(["render", "-C", "repo", "-f", "app.yaml"], capsys).code == 0
    assert (repo / "Jenkinsfile").is_file() and not (tmp_path / "Jenkinsfile").exists()
    assert "from app.yaml" in (repo / "Jenkinsfile").read_text(encoding="utf-8").splitlines()[0]


# --- render: check states, obsolete files, diff, out, target ------------------------------------

def test_render_check_states(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check = ["render", "-C", str(repo), "--check", "-o", "json"]
    run_main(["render", "-C", str(repo)], capsys)
    edit(repo / "ci-gen.yaml", "MODEL_VARIANT: large", "MODEL_VARIANT: small")
    assert drift(run_main(check, capsys).out) == {
        ".ci-gen/lock.json": "stale", ".gitlab-ci.yml": "stale", "Jenkinsfile": "stale"}
    run_main(["render", "-C", str(repo)], capsys)
    edit(repo / "Jenkinsfile", "disableConcurrentBuilds()", "disableConcurrentBuilds()\n    timestamps()")
    (repo / ".ci-gen" / "k8s" / "staging" / "service.yaml").unlink()
    assert drift(run_main(check, capsys).out) == {
        "Jenkinsfile": "hand-edited", ".ci-gen/k8s/staging/service.yaml": "missing"}
    text = run_main(["render", "-C", str(repo), "--check"], capsys)
    assert text.code == 1 and "Jenkinsfile: hand-edited" in text.err and "staging/service.yaml: missing" in text.err


def test_render_removes_only_the_obsolete_files_it_generated(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_main(["render", "-C", str(repo)], capsys)
    production = sorted(p.relative_to(repo).as_posix() for p in (repo / ".ci-gen" / "k8s" / "production").iterdir())
    assert production
    mine = [repo / ".ci-gen" / "k8s" / "production" / "my-extra.yaml", repo / ".ci-gen" / "notes.txt", repo / "README.md"]
    for path in mine:
        path.write_text("kept\n", encoding="utf-8")
    text = (repo / "ci-gen.yaml").read_text(encoding="utf-8")
    start = text.index("    - name: production")
    (repo / "ci-gen.yaml").write_text(text[:start] + "\n" + text[text.index("runners:"):], encoding="utf-8")
    outcome = run_main(["render", "-C", str(repo), "--check", "-o", "json"], capsys)
    assert {p: s for p, s in drift(outcome.out).items() if s == "obsolete"} == {p: "obsolete" for p in production}
    outcome = run_main(["render", "-C", str(repo), "-o", "json"], capsys)
    assert json.loads(outcome.out)["removed"] == production
    assert not any((repo / p).exists() for p in production)
    assert all(path.read_text(encoding="utf-8") == "kept\n" for path in mine)
    assert run_main(["render", "-C", str(repo), "--check"], capsys).code == 0


def test_render_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_main(["render", "-C", str(repo)], capsys)
    unchanged = run_main(["render", "-C", str(repo), "--diff"], capsys)
    assert (unchanged.code, unchanged.out) == (0, "ci-gen.yaml: generated files are up to date\n")
    edit(repo / "ci-gen.yaml", "MODEL_VARIANT: large", "MODEL_VARIANT: small")
    before = (repo / ".gitlab-ci.yml").read_bytes()
    outcome = run_main(["render", "-C", str(repo), "--diff"], capsys)
    assert outcome.code == 1
    assert "--- a/.gitlab-ci.yml\n+++ b/.gitlab-ci.yml\n" in outcome.out
    assert '-  MODEL_VARIANT: "large"\n+  MODEL_VARIANT: "small"\n' in outcome.out
    assert "-    MODEL_VARIANT = 'large'\n+    MODEL_VARIANT = 'small'\n" in outcome.out
    assert (repo / ".gitlab-ci.yml").read_bytes() == before, "--diff writes nothing"
    payload = json.loads(run_main(["render", "-C", str(repo), "--diff", "-o", "json"], capsys).out)
    assert payload["diff"] == outcome.out


def test_render_out_writes_the_same_bytes_elsewhere(repo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_main(["render", "-C", str(repo), "--out", str(out)], capsys).code == 0
    assert sorted(p.name for p in repo.iterdir()) == ["ci-gen.yaml"], "--out leaves the repository alone"
    run_main(["render", "-C", str(repo)], capsys)
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    in_repo = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert written == {k: v for k, v in in_repo.items() if k != "ci-gen.yaml"}
    assert os.access(out / ".ci-gen" / "steps" / "convert-model", os.X_OK)
    assert run_main(["render", "-C", str(repo), "--out", str(out), "--check"], capsys).code == 0


def test_render_target(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_main(["render", "-C", str(repo), "--target", "gitlab", "-o", "json"], capsys)
    files = json.loads(outcome.out)["files"]
    assert ".gitlab-ci.yml" in files and "Jenkinsfile" not in files
    assert not (repo / "Jenkinsfile").exists() and (repo / ".gitlab-ci.yml").is_file()
    both = ["render", "-C", str(repo), "--target", "gitlab", "--target", "jenkins", "--check", "-o", "json"]
    assert drift(run_main(both, capsys).out) == {"Jenkinsfile": "missing", ".ci-gen/lock.json": "stale"}


# --- init ---------------------------------------------------------------------------------------

def test_init_with_flags_writes_a_valid_commented_manifest_and_never_overwrites(tmp_path: Path) -> None:
    argv = ["init", "--name", "churn", "--image", "registry.example.com/ml/churn", "--model", "models/churn.pkl",
            "--framework", "sklearn", "--strategy", "canary", "--target", "gitlab"]
    outcome = run_process(argv, cwd=tmp_path, stdin=b"")
    assert outcome.code == 0, outcome
    manifest = (tmp_path / "ci-gen.yaml").read_text(encoding="utf-8")
    assert manifest.startswith("# ") and "framework: sklearn" in manifest and "strategy: canary" in manifest
    assert run_process(["validate", "-o", "json"], cwd=tmp_path).out.count('"valid": true') == 1
    assert run_process(["render"], cwd=tmp_path).code == 0
    assert (tmp_path / ".gitlab-ci.yml").is_file() and not (tmp_path / "Jenkinsfile").exists()
    again = run_process(["init", "--name", "other", "--image", "registry.example.com/ml/other"], cwd=tmp_path, stdin=b"")
    assert again.code == 1 and again.err_lines == ["ci-gen.yaml already exists; not overwriting it"]
    assert (tmp_path / "ci-gen.yaml").read_text(encoding="utf-8") == manifest


@pytest.mark.parametrize("argv, code, words", [
    (["init"], 2, "--name and --image are required"),
    (["init", "--name", "app", "--image", "registry.example.com/app", "--model", "../m.pt"], 2,
     "ci-gen: --model: '../m.pt' leaves the repository"),
    (["init", "--name", "App!", "--image", "registry.example.com/app"], 2,
     "ci-gen: --name: 'App!' is not allowed here (Application name: lowercase letters, digits and '-'"),
    (["init", "--name", "app", "--image", "Registry.example.com/App:latest"], 2, "ci-gen: --image: "),
])
def test_init_refuses_bad_flags(argv: list[str], code: int, words: str, tmp_path: Path) -> None:
    outcome = run_process(argv, cwd=tmp_path, stdin=b"")
    assert outcome.code == code and words in outcome.err, outcome
    assert_no_traceback(outcome)
    assert not (tmp_path / "ci-gen.yaml").exists()


def test_init_in_a_terminal_asks(tmp_path: Path) -> None:
    from tests.core.terminal import converse

    root = tmp_path / "Recommender-API"
    root.mkdir()
    answers = [("Application name [recommender-api]:", ""),
               ("Image repository (no tag) [registry.example.com/ml/recommender-api]:", "registry.example.com/ml/rec"),
               ("Model file (empty for none):", "models/rec.onnx")]
    code, transcript = converse(["init", "--framework", "onnx"], root, answers)
    assert code == 0, transcript
    manifest = (root / "ci-gen.yaml").read_text(encoding="utf-8")
    for line in ('name: "recommender-api"', 'name: "registry.example.com/ml/rec"', 'path: "models/rec.onnx"'):
        assert line in manifest
    assert run_process(["validate"], cwd=root).code == 0


# --- schema, steps, version ---------------------------------------------------------------------

def test_schema_prints_a_valid_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from jsonschema import Draft202012Validator

    outcome = run_main(["schema"], capsys)
    schema = json.loads(outcome.out)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"version", "name", "image"} <= set(schema["required"])
    validator = Draft202012Validator(schema)
    from ruamel.yaml import YAML

    for example in sorted(EXAMPLES.glob("*/ci-gen.yaml")):
        data = YAML(typ="safe", pure=True).load(example.read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(data)), example


def test_steps_list_and_show_text(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run_main(["steps", "list"], capsys).out.splitlines()
    assert any(line.startswith("convert-model ") for line in lines)
    shown = run_main(["steps", "show", "convert-model"], capsys)
    assert shown.code == 0 and len(shown.out.splitlines()) > 1
    missing = run_main(["steps", "show", "teleport"], capsys)
    assert missing.code == 2 and "no step named 'teleport'" in missing.err and "convert-model" in missing.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_main(["--version"], capsys)
    assert (outcome.code, outcome.out) == (0, f"ci-gen, version {ci_gen.__version__}\n")
