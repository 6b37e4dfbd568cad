"""The local history cache: SQLite (stdlib), one row per deployment and one cursor per project.

A rerun asks each server only for what is newer than the project's cursor. Each project's rows
and its cursor are written in one transaction, so a run killed at any point leaves a cache
whose every project is either fully updated or as before: usable, and the next run converges.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable

from ..errors import UsageError
from .record import Deploy

SCHEMA_VERSION = 1
_COLUMNS = ("server", "project", "id", "environment", "result", "started_at", "finished_at",
            "duration", "commit_sha", "commit_time", "strategy", "code_size", "image_size",
            "model_size", "env_complexity", "has_record")


def default_path() -> Path:
    """`$XDG_CACHE_HOME/ci-gen/report.sqlite` (else ~/.cache/...), as pip and pre-commit do."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ci-gen" / "report.sqlite"


class Cache:
    def __init__(self, path: Path | None) -> None:
        """`None`: an in-memory cache (`--no-cache`). A file that is not a readable cache (corrupt,
        truncated, another program's) is replaced: it only ever holds what servers can resend."""
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"--cache {path}: {exc.strerror}") from None
        try:
            self._open(path)
        except sqlite3.DatabaseError:
            if path is None:
                raise
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            try:
                self._open(path)
            except sqlite3.DatabaseError as exc:
                raise UsageError(f"cache {path}: {exc}; pass --cache elsewhere") from None

    def _open(self, path: Path | None) -> None:
        self.db = sqlite3.connect(":memory:" if path is None else str(path), timeout=30)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # A crash of the process cannot lose a committed project in WAL mode; only a power
            # loss can lose the newest ones, which the next run fetches again: it is a cache.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError:
            self.db.close()
            raise

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            # an older or newer layout: it is only a cache, start afresh
            self.db.executescript("DROP TABLE IF EXISTS deploys; DROP TABLE IF EXISTS cursors;")
        with self.db:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS deploys (server TEXT, project TEXT, id TEXT, environment TEXT,"
                " result TEXT, started_at REAL, finished_at REAL, duration REAL, commit_sha TEXT,"
                " commit_time REAL, strategy TEXT, code_size REAL, image_size REAL, model_size REAL,"
                " env_complexity REAL, has_record INTEGER, PRIMARY KEY (server, project, id))")
            self.db.execute("CREATE TABLE IF NOT EXISTS cursors (server TEXT, project TEXT, cursor TEXT,"
                            " PRIMARY KEY (server, project))")
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def cursor(self, server: str, project: str) -> str | None:
        row = self.db.execute("SELECT cursor FROM cursors WHERE server=? AND project=?",
                              (server, project)).fetchone()
        return None if row is None else str(row[0])

    def known_ids(self, server: str, project: str) -> set[str]:
        rows = self.db.execute("SELECT id FROM deploys WHERE server=? AND project=?", (server, project))
        return {str(r[0]) for r in rows}

    def store(self, server: str, project: str, deploys: Iterable[Deploy], cursor: str | None) -> None:
        """The project's new rows and its new cursor, all or nothing."""
        rows = [_row(d) for d in deploys]
        if not rows and cursor == self.cursor(server, project):
            return  # nothing new: no write, no commit
        with self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO deploys ({', '.join(_COLUMNS)}) VALUES "
                                f"({', '.join('?' * len(_COLUMNS))})", rows)
            if cursor is not None:
                self.db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)", (server, project, cursor))

    def deploys(self, server: str, project: str) -> list[Deploy]:
        cur = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM deploys WHERE server=? AND project=?"
                              " ORDER BY finished_at, id", (server, project))
        return [_deploy(dict(zip(_COLUMNS, row))) for row in cur]

    def close(self) -> None:
        self.db.close()


def _row(deploy: Deploy) -> tuple[object, ...]:
    data = deploy.to_row()
    data["commit_sha"] = data.pop("commit")
    data["has_record"] = int(deploy.has_record)
    return tuple(data[c] for c in _COLUMNS)


def _deploy(row: dict[str, object]) -> Deploy:
    row["commit"] = row.pop("commit_sha")
    return Deploy.from_row(row)
