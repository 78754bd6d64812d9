"""`weiwang backup FILE` and `weiwang restore FILE`: the whole database in one file.

Photos live in the database (server/sync/models.py), so one file holds everything a
street has: the grid, people, records, the ledger and the pictures.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent
  snapshot while the app keeps serving; with WAL, readers and the one writer go on.
- PostgreSQL: `pg_dump --format=custom` (a consistent snapshot by MVCC, compressed,
  restorable table by table) and `pg_restore` into an empty database.

A restore goes only into an empty database (no tables at all): restoring over a live
street would mix two histories. The file's first bytes say which kind it is.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """Why a backup or restore cannot go on, in a sentence an operator can act on."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    size: int
    kind: str  # sqlite | postgresql


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _libpq(database_url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore from our SQLAlchemy URL (password via the environment)."""
    url = make_url(database_url)
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def backup(database_url: str, target: Path) -> Outcome:
    """Write a consistent copy of the database to `target` (replaced atomically when done)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target, then rename: a backup cut short never looks like a good one.
    fd, scratch = tempfile.mkstemp(prefix=".weiwang-backup-", dir=target.parent)
    os.close(fd)
    scratch_path = Path(scratch)
    try:
        if database_url.startswith("sqlite"):
            source = sqlite3.connect(f"file:{_sqlite_path(database_url)}?mode=ro", uri=True)
            copy = sqlite3.connect(scratch_path)
            try:
                with copy:
                    source.backup(copy)  # all pages in one step: one read transaction, one snapshot
            finally:
                copy.close()
                source.close()
            kind = "sqlite"
        else:
            args, env = _libpq(database_url)
            result = subprocess.run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(scratch_path), *args],
                env=env, capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise BackupError("pg_dump failed: " + result.stderr.strip())
            kind = "postgresql"
        scratch_path.replace(target)
    finally:
        scratch_path.unlink(missing_ok=True)
    return Outcome(target, target.stat().st_size, kind)


def kind_of(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Weiwang backup (neither an SQLite database nor a pg_dump custom archive)")


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        conn.close()


def _postgres_tables(database_url: str) -> list[str]:
    args, env = _libpq(database_url)
    result = subprocess.run(
        [_tool("psql"), "--no-psqlrc", "--tuples-only", "--no-align", *args, "--command",
         "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"],
        env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise BackupError("cannot reach the target database: " + result.stderr.strip())
    return [line for line in result.stdout.splitlines() if line.strip()]


def restore(database_url: str, source: Path) -> Outcome:
    """Load a backup into an empty database of the same kind."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"no such file: {source}")
    kind = kind_of(source)
    target_kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    if kind != target_kind:
        raise BackupError(f"this is a {kind} backup; WEIWANG_DATABASE_URL names a {target_kind} database")
    if kind == "sqlite":
        path = _sqlite_path(database_url)
        if _sqlite_tables(path):
            raise BackupError(f"{path} is not empty: restore into a new database file")
        path.parent.mkdir(parents=True, exist_ok=True)
        backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            # Check before copying: a damaged file must not become the street's database.
            if backup_conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} fails SQLite's integrity check")
            with target:
                backup_conn.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
            backup_conn.close()
        return Outcome(path, path.stat().st_size, kind)
    if _postgres_tables(database_url):
        raise BackupError("the target database is not empty: create a new one (createdb) and restore into it")
    args, env = _libpq(database_url)
    result = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *args,
         str(source)],
        env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise BackupError("pg_restore failed: " + result.stderr.strip())
    return Outcome(source, source.stat().st_size, kind)
