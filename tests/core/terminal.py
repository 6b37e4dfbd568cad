"""Driving an interactive command through a real pseudo-terminal (stdlib `pty`, no pexpect)."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path


def converse(args: list[str], cwd: Path, answers: list[tuple[str, str]], timeout: float = 30) -> tuple[int, str]:
    """Run `python -m ci_gen ARGS` on a terminal; answer each prompt in turn; (exit code, transcript)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ci_gen", *args], cwd=cwd, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True, env={**os.environ, "TERM": "dumb"})
    os.close(slave)
    deadline = time.monotonic() + timeout
    transcript = b""
    searched = 0
    try:
        for prompt, answer in answers:
            while (found := transcript.find(prompt.encode(), searched)) < 0:
                chunk = _read(master, deadline)
                if not chunk:
                    raise AssertionError(f"no prompt {prompt!r}; the terminal showed:\n{transcript.decode(errors='replace')}")
                transcript += chunk
            searched = found + len(prompt)
            os.write(master, answer.encode() + b"\n")
        while chunk := _read(master, deadline):
            transcript += chunk
        return proc.wait(timeout=max(1.0, deadline - time.monotonic())), transcript.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _read(master: int, deadline: float) -> bytes:
    """The next output, or b"" once the child has closed the terminal (or time is up)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([master], [], [], remaining)[0]:
        return b""
    try:
        return os.read(master, 4096)
    except OSError:  # EIO: every process holding the terminal's other end has exited
        return b""
