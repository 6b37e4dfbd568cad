"""drift.py: each state of a generated file, found by `find_drift` in a small real repository
written to a temp folder; the lock read as data only; the verified-record fast path."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ci_gen.drift import (Drift, extra_step_files, find_drift, foreign_pipelines, obsolete_paths, read_lock,
                          unified_diff, up_to_date_by_record)
from ci_gen.fingerprint import LOCK_FILE
from ci_gen.generated import Rendered, file_digests, render_manifest
from ci_gen.paths import is_executable
from ci_gen.targets import TARGETS
from tests.unit.manifests import manifest, text

GITLAB = "targets: [gitlab, jenkins]\n"
DEPLOY = "deploy:\n  environments: [{name: staging, kubernetes: {namespace: ml}}]\n"
STEP = ".ci-gen/steps/rollout"


def rendered(*bodies: str) -> Rendered:
    source = text(*bodies)
    return render_manifest(manifest(*bodies), source.encode("utf-8"))


def put(root: Path, files: Rendered) -> None:
    """Commit `files` the way render leaves them (written here, not through ci-gen's writer)."""
    for path, data in files.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o755 if is_executable(path) else 0o644)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Rendered]:
    files = rendered(GITLAB)
    put(tmp_path, files)
    return tmp_path, files


def states(drift: list[Drift]) -> dict[str, str]:
    return {d.path: d.state for d in drift}


def test_a_freshly_rendered_repository_has_no_drift(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    assert find_drift(root, files) == []
    assert foreign_pipelines(root, files) == [] and obsolete_paths(root, files) == []


def test_a_deleted_file_is_missing(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / STEP).unlink()
    (root / "Jenkinsfile").unlink()
    assert states(find_drift(root, files)) == {STEP: "missing", "Jenkinsfile": "missing"}


def test_an_intact_file_from_another_manifest_is_stale(repo: tuple[Path, Rendered]) -> None:
    root, _ = repo
    now = rendered(GITLAB, "variables: {A: b}\n")
    assert states(find_drift(root, now)) == {".gitlab-ci.yml": "stale", "Jenkinsfile": "stale", LOCK_FILE: "stale"}


def test_an_edit_below_the_header_is_hand_edited(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / ".gitlab-ci.yml").write_bytes(files.files[".gitlab-ci.yml"] + b"extra: {script: [id]}\n")
    assert states(find_drift(root, files)) == {".gitlab-ci.yml": "hand-edited"}


def test_a_generated_file_whose_header_was_deleted_is_hand_edited_not_foreign(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    body = files.files["Jenkinsfile"].split(b"\n", 3)[3]
    (root / "Jenkinsfile").write_bytes(body)  # the lock still lists it with another hash
    assert states(find_drift(root, files)) == {"Jenkinsfile": "hand-edited"}
    assert foreign_pipelines(root, files) == []


def test_a_hand_written_pipeline_ci_gen_never_wrote_is_not_generated(tmp_path: Path) -> None:
    files = rendered(GITLAB)
    put(tmp_path, files)
    lock = json.loads((tmp_path / LOCK_FILE).read_text())
    del lock["files"]["Jenkinsfile"]
    (tmp_path / LOCK_FILE).write_text(json.dumps(lock))
    (tmp_path / "Jenkinsfile").write_text("pipeline { agent any }\n")
    drift = states(find_drift(tmp_path, files))
    assert drift["Jenkinsfile"] == "not-generated" and drift[LOCK_FILE] == "stale"
    assert foreign_pipelines(tmp_path, files) == ["Jenkinsfile"]


def test_only_pipeline_files_can_be_foreign(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / LOCK_FILE).write_text('{"files": {}}')  # nothing listed any more
    (root / STEP).write_text("#!/bin/sh\necho mine\n")  # headerless, but a step script
    assert states(find_drift(root, files))[STEP] == "stale"
    assert foreign_pipelines(root, files) == []


def test_a_step_script_without_its_executable_bit_is_not_executable(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / STEP).chmod(0o644)
    assert find_drift(root, files) == [Drift(STEP, "not-executable")]


def test_an_unknown_file_among_the_steps_is_extra(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / ".ci-gen/steps/backdoor").write_text("#!/bin/sh\n")
    (root / ".ci-gen/steps/sub").mkdir()
    (root / ".ci-gen/steps/sub/x.sh").write_text("")
    os.symlink("/tmp", root / ".ci-gen/steps/link")
    extra = [".ci-gen/steps/backdoor", ".ci-gen/steps/link", ".ci-gen/steps/sub/x.sh"]
    assert extra_step_files(root, set(files.files)) == extra
    assert states(find_drift(root, files)) == {p: "extra" for p in extra}


def test_files_the_last_render_wrote_and_this_one_does_not_are_obsolete(tmp_path: Path) -> None:
    before = rendered(GITLAB, DEPLOY)
    put(tmp_path, before)
    now = rendered(GITLAB)
    gone = sorted(p for p in before.files if p not in now.files)
    assert gone and all(p.startswith(".ci-gen/") for p in gone)
    assert obsolete_paths(tmp_path, now) == gone
    drift = states(find_drift(tmp_path, now))
    assert {p: drift[p] for p in gone} == {p: "obsolete" for p in gone}


def test_a_forged_lock_makes_nothing_obsolete(repo: tuple[Path, Rendered],
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    root, files = repo
    outside = tmp_path_factory.mktemp("outside") / "victim"
    outside.write_text("precious")
    (root / "README.md").write_text("mine")
    (root / ".ci-gen/out").mkdir()
    (root / ".ci-gen/out/image.env").write_text("run-time output")
    forged = {str(outside): "0", "../victim": "0", "README.md": "0", ".ci-gen/out/image.env": "0", LOCK_FILE: "0"}
    (root / LOCK_FILE).write_text(json.dumps({"files": forged}))
    assert obsolete_paths(root, files) == []


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"files": []}', b"\xff\xfe"])
def test_a_lock_that_is_not_a_lock_reads_as_none(tmp_path: Path, content: bytes) -> None:
    (tmp_path / ".ci-gen").mkdir()
    (tmp_path / LOCK_FILE).write_bytes(content)
    assert read_lock(tmp_path) is None


def test_no_lock_reads_as_none_and_nothing_is_obsolete(tmp_path: Path) -> None:
    assert read_lock(tmp_path) is None
    assert obsolete_paths(tmp_path, rendered()) == []


def test_every_state_reads_as_one_line_with_its_remedy() -> None:
    for state, words in (("missing", "run `ci-gen render`"), ("stale", "manifest or ci-gen changed"),
                         ("hand-edited", "must not be edited"), ("not-generated", "ci-gen import"),
                         ("obsolete", "no longer generated"), ("extra", "remove it"),
                         ("not-executable", "executable bit")):
        line = str(Drift("some/file", state))
        assert line.startswith("some/file: ") and words in line and "\n" not in line


def test_the_diff_shows_an_edit_and_a_missing_file(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    (root / ".gitlab-ci.yml").write_bytes(files.files[".gitlab-ci.yml"] + b"extra: 1\n")
    (root / STEP).unlink()
    diff = unified_diff(root, files, find_drift(root, files))
    assert "--- a/.gitlab-ci.yml\n+++ b/.gitlab-ci.yml\n" in diff and "\n-extra: 1\n" in diff
    assert "--- a/.ci-gen/steps/rollout\n+++ b/.ci-gen/steps/rollout\n" in diff
    assert unified_diff(root, files, []) == ""


def record(files: Rendered) -> dict[str, object]:
    """What verified.py remembers after a render (file digests and the manifest's paths)."""
    return {"files": {p: list(v) for p, v in file_digests(files).items()}, "manifest-paths": []}


def test_a_verified_record_proves_an_untouched_repository_current(repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    assert up_to_date_by_record(root, record(files), root)


@pytest.mark.parametrize("change", ["edit", "delete", "chmod", "extra"])
def test_any_change_on_disk_defeats_the_record(repo: tuple[Path, Rendered], change: str) -> None:
    root, files = repo
    if change == "edit":
        (root / "Jenkinsfile").write_bytes(files.files["Jenkinsfile"] + b"//\n")
    elif change == "delete":
        (root / LOCK_FILE).unlink()
    elif change == "chmod":
        (root / STEP).chmod(0o644)
    else:
        (root / ".ci-gen/steps/new").write_text("")
    assert not up_to_date_by_record(root, record(files), root)


def test_a_record_without_files_or_with_a_path_leaving_the_repository_proves_nothing(
        repo: tuple[Path, Rendered]) -> None:
    root, files = repo
    assert not up_to_date_by_record(root, {"files": [], "manifest-paths": []}, root)
    assert not up_to_date_by_record(root, {**record(files), "manifest-paths": ["../elsewhere"]}, root)
    os.symlink("/", root / "context")
    assert not up_to_date_by_record(root, {**record(files), "manifest-paths": ["context"]}, root)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_targets_file_written_by_hand_is_not_generated(tmp_path: Path, target: str) -> None:
    files = rendered(f"targets: [{target}]\n")
    output = TARGETS[target].output
    (tmp_path / output).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / output).write_text("# our own pipeline\n")
    assert foreign_pipelines(tmp_path, files) == [output]
    assert states(find_drift(tmp_path, files))[output] == "not-generated"
