"""The tar streams of a run: what a checkout copies, and what an untrusted artifact may hold."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from ci_gen.run.workspace import extract, read_member, repository_tar, reroot


def names(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return sorted(m.name for m in tar.getmembers())


def test_checkout_copies_what_git_would_check_out_plus_missing_generated_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "big.bin").write_text("ignored")
    (tmp_path / "app.py").write_text("print(1)\n")  # untracked, not ignored: a checkout has it
    (tmp_path / ".ci-gen" / "steps").mkdir(parents=True)
    (tmp_path / ".ci-gen" / "steps" / "scan").write_text("# edited on disk\n")
    archive = repository_tar(tmp_path, {".ci-gen/steps/scan": b"# rendered\n", ".ci-gen/steps/sign": b"# rendered\n"})
    assert names(archive) == [".ci-gen/steps/scan", ".ci-gen/steps/sign", ".gitignore", "app.py"]
    assert read_member(archive, ".ci-gen/steps/scan") == b"# edited on disk\n"  # the disk wins
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getmember(".ci-gen/steps/sign").mode == 0o755


def hostile_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("out/ok.txt", "../escape.txt", "/etc/evil", "out/../../up.txt", "out/../beside.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"x\n"))
        for name, target in (("out/link-in", "ok.txt"), ("out/link-out", "../../../etc/passwd")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
        device = tarfile.TarInfo("out/dev")
        device.type = tarfile.CHRTYPE
        tar.addfile(device)
    return buffer.getvalue()


def test_an_artifact_cannot_place_files_outside_the_workspace(tmp_path: Path) -> None:
    archive = reroot(hostile_tar(), ".ci-gen/out")
    assert names(archive) == [".ci-gen/out/link-in", ".ci-gen/out/ok.txt"]
    extract(archive, tmp_path / "kept")
    assert (tmp_path / "kept" / ".ci-gen" / "out" / "ok.txt").read_text() == "x\n"
    assert not (tmp_path / "escape.txt").exists()
