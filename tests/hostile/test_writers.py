"""Every file ci-gen writes goes through paths.py's one atomic write: a generated file in the
repository, a report the user named (`report --json/--csv/--openmetrics/--html`, `sync --report`,
`--junit`), the manifest `init` and `import` create, and the verified-inputs cache.

A write that fails half way must leave the old file whole. The failure is real, not mocked: the
kernel's file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes a write past N bytes fail
with EFBIG once N bytes of the new content are on disk, exactly as a full disk would.
"""
from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from ci_gen import verified
from ci_gen.errors import UsageError, UserError
from ci_gen.paths import write_file, write_named_file
from ci_gen.report.build import Report, build_report
from ci_gen.report.html import write_html
from ci_gen.report.outputs import write_json as write_report_json
from ci_gen.report.options import ReportOptions
from ci_gen.report.outputs import write_openmetrics
from ci_gen.targets.base import Change
from ci_gen.targets.sync_data import ProjectResult
from ci_gen.sync.report import write_json as write_sync_json
from ci_gen.sync.report import write_junit

OLD = b"the previous, complete content\n"
LIMIT = 200  # bytes of the new content that reach the disk before the write fails


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes of any file fail with EFBIG in this process while inside."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def _limited_child() -> None:  # runs in the CLI's child process, before exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def big_report() -> Report:
    """A real (empty-fleet) report: each of its files is over LIMIT bytes."""
    return build_report([], [], ReportOptions(since=0, until=30 * 86400), 1.0, {})


def sync_results() -> list[ProjectResult]:
    return [ProjectResult(f"gitlab:ml/app-{i}", f"app-{i}", [Change("gitlab", "file", "Jenkinsfile", "update")])
            for i in range(50)]


WRITERS: dict[str, Callable[[Path], None]] = {
    "named file": lambda path: write_named_file(path, b"x" * 5000),
    "report --json": lambda path: write_report_json(path, big_report()),
    "report --openmetrics": lambda path: write_openmetrics(path, big_report()),
    "report --html": lambda path: write_html(path, big_report()),
    "sync --report": lambda path: write_sync_json(path, {"projects": [str(i) * 40 for i in range(50)]}),
    "sync --junit": lambda path: write_junit(path, sync_results(), 1.0),
}


def leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_write_failing_half_way_leaves_the_old_file_whole(tmp_path: Path, writer: str) -> None:
    target = tmp_path / "out.file"
    target.write_bytes(OLD)
    with file_size_limit(LIMIT), pytest.raises(UsageError) as failed:
        WRITERS[writer](target)
    assert str(failed.value) == f"{target}: cannot write: File too large"
    assert target.read_bytes() == OLD
    assert leftovers(tmp_path, "out.file") == []  # the partial copy is removed


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_named_file_that_is_a_symlink_is_refused_not_written_through(tmp_path: Path, writer: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(OLD)
    link = tmp_path / "report.out"
    link.symlink_to(elsewhere)
    with pytest.raises(UserError, match="a symlink; ci-gen does not write through links"):
        WRITERS[writer](link)
    assert elsewhere.read_bytes() == OLD and link.is_symlink()


def test_a_named_file_gets_the_mode_open_would_give_and_its_folders(tmp_path: Path) -> None:
    old_umask = os.umask(0o027)
    try:
        write_named_file(tmp_path / "new" / "deeper" / "report.json", b"{}\n")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new" / "deeper" / "report.json").read_bytes() == b"{}\n"
    assert stat.S_IMODE((tmp_path / "new" / "deeper" / "report.json").stat().st_mode) == 0o640


def test_an_exclusive_write_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "ci-gen.yaml"
    target.write_bytes(OLD)
    with pytest.raises(UserError, match="already exists; not overwriting it"):
        write_named_file(target, b"version: 1\n", exclusive=True)
    assert target.read_bytes() == OLD
    write_named_file(tmp_path / "fresh.yaml", b"version: 1\n", exclusive=True)
    assert (tmp_path / "fresh.yaml").read_bytes() == b"version: 1\n" and leftovers(tmp_path, "fresh.yaml") == [
        "ci-gen.yaml"]


def test_the_repository_writer_keeps_the_old_generated_file_on_a_failed_write(tmp_path: Path) -> None:
    (tmp_path / ".ci-gen" / "steps").mkdir(parents=True)
    step = tmp_path / ".ci-gen" / "steps" / "build.sh"
    step.write_bytes(OLD)
    with file_size_limit(LIMIT), pytest.raises(OSError, match="File too large"):
        write_file(tmp_path, ".ci-gen/steps/build.sh", b"#!/bin/sh\n" * 100, executable=True)
    assert step.read_bytes() == OLD and leftovers(step.parent, "build.sh") == []
    assert write_file(tmp_path, ".ci-gen/steps/build.sh", b"#!/bin/sh\n", executable=True)
    assert stat.S_IMODE(step.stat().st_mode) == 0o755


def _record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    repo.mkdir()
    key = verified.record_key(b"version: 1\n", "ci-gen.yaml")
    folder = verified.cache_dir(repo)
    assert folder is not None
    return repo, key, folder


def test_the_verified_cache_keeps_its_record_whole_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, key, folder = _record(tmp_path, monkeypatch)
    verified.store(key, repo, "app", ["ci-gen.yaml"], None)
    record = folder / f"{key}.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    before = record.read_bytes()
    files = {f".ci-gen/steps/step-{i}.sh": ("0" * 64, True) for i in range(20)}
    with file_size_limit(LIMIT):
        verified.store(key, repo, "app", ["ci-gen.yaml"], files)  # best effort: no error, no half record
    assert record.read_bytes() == before and leftovers(folder, record.name) == []
    verified.store(key, repo, "app", ["ci-gen.yaml"], files)
    loaded = verified.load(key, repo)
    assert loaded is not None and loaded["files"] == {p: list(v) for p, v in files.items()}


def test_the_verified_cache_never_writes_through_a_planted_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, key, folder = _record(tmp_path, monkeypatch)
    folder.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_bytes(OLD)
    (folder / f"{key}.json").symlink_to(victim)
    verified.store(key, repo, "app", ["ci-gen.yaml"], None)
    assert victim.read_bytes() == OLD and verified.load(key, repo) is None


def test_import_force_failing_half_way_keeps_the_old_manifest(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitlab-ci.yml").write_text("build:\n  image: docker:27\n  script:\n"
                                         "    - docker build -t registry.example.com/team/app:$CI_COMMIT_SHA .\n"
                                         "test:\n  script: [pytest -q]\n", encoding="utf-8")
    (repo / "ci-gen.yaml").write_bytes(OLD)
    proc = subprocess.run([sys.executable, "-m", "ci_gen", "import", "--force"], cwd=repo, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limited_child,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"})
    assert proc.returncode == 2 and "ci-gen.yaml: cannot write: File too large" in proc.stderr, proc.stderr
    assert (repo / "ci-gen.yaml").read_bytes() == OLD
    assert sorted(p.name for p in repo.iterdir()) == [".gitlab-ci.yml", "ci-gen.yaml"]
