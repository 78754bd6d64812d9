"""The database engine and the one session dependency every handler takes.

SQLite is the embedded default (one street on one small server); PostgreSQL is for
a district or a city. Every query in the app must run on both.
"""
from __future__ import annotations

import asyncio
import collections
import sqlite3
import types
import weakref
from collections.abc import AsyncIterator

import aiosqlite
from litestar.datastructures import State
from litestar.types import Scope
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_only
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a sync batch writes; NORMAL is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA cache_size=-32000")
    cursor.close()


# SQLite writers queue in the process, not in SQLite.
#
# Each aiosqlite connection has its thread; when two of them write at once SQLite makes the
# second one sleep and poll (busy_timeout) with growing pauses, so under a rush of form
# posts a writer could wait seconds while the database sat idle (issue 15: forms p99 22 s).
# Here a statement that would open a write transaction first takes the process's write lock
# (an asyncio.Lock: first come, first served, and the loop serves other requests while one
# waits); the transaction keeps it until it commits or rolls back. A writer that cannot
# have it within WRITE_WAIT seconds gets "database is locked", as busy_timeout said before.
# Readers never take it (WAL lets them read while one writes). Another process (a CLI
# command, a backup) is still met by busy_timeout.
#
# Tried and measured, not kept: running every SQLite call in the event loop instead of
# aiosqlite's thread (no hop per call). It used ~15% less CPU per page, but on a machine
# whose cores are shared a single busy thread got far less of them: the morning rush
# (150 leaders x 5 form posts in 20 s) went from p99 36 s to 79 s.
WRITE_WAIT = 5.0
_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")
_STATEMENT_CALLS = ("execute", "executemany", "executescript", "run_statement")
_write_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]" = weakref.WeakKeyDictionary()


def _write_lock(database: str) -> asyncio.Lock:
    locks = _write_locks.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(database)
    if lock is None:
        lock = locks[database] = asyncio.Lock()
    return lock


class SerializedWrites(aiosqlite.Connection):
    """aiosqlite's connection whose write transactions take turns on the process's write lock."""

    def __init__(self, connector, iter_chunk_size: int, database: str) -> None:
        super().__init__(connector, iter_chunk_size)
        self._database = database
        self._holds_write_lock = False

    async def _execute(self, fn, *args, **kwargs):
        if (not self._holds_write_lock and args and isinstance(args[0], str)
                and getattr(fn, "__name__", "") in _STATEMENT_CALLS
                and not args[0].lstrip()[:8].upper().startswith(_READ_STATEMENTS)):
            lock = _write_lock(self._database)
            try:
                await asyncio.wait_for(lock.acquire(), WRITE_WAIT) if lock.locked() else await lock.acquire()
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
            self._holds_write_lock = True
        try:
            return await super()._execute(fn, *args, **kwargs)
        finally:
            if self._holds_write_lock and (self._connection is None or not self._connection.in_transaction):
                self._release()

    def run_statement(self, sql: str, parameters, many: bool):
        """In the connection's thread: a statement and all its rows in one call (see OneHopCursor)."""
        cursor = self._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else None
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    def _release(self) -> None:
        self._holds_write_lock = False
        try:
            _write_lock(self._database).release()
        except RuntimeError:  # no running loop (garbage collection): the lock went with it
            pass

    def stop(self):
        if self._holds_write_lock:
            self._release()
        return super().stop()


def _serialized_connect(database, *, iter_chunk_size: int = 64, **kwargs) -> SerializedWrites:
    # The loop reads in_transaction after each call has finished in the connection's thread.
    kwargs["check_same_thread"] = False
    name = str(database)
    return SerializedWrites(lambda: sqlite3.connect(name, **kwargs), iter_chunk_size, name)


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """One trip to the connection's thread per statement.

    SQLAlchemy's aiosqlite cursor makes four (make the cursor, execute, fetch the rows, close),
    each a queue put, a thread wake-up and a future resolved back in the loop: measured here
    ~140 us of CPU each, ~550 us for a `SELECT 1`, the larger part of a simple page's time.
    This cursor runs all four as one call (SerializedWrites.run_statement) and keeps what
    SQLAlchemy reads afterwards (description, rowcount, lastrowid) as plain values.
    """

    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection) -> None:  # no aiosqlite cursor: nothing to open or close
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = {}
        self._rows = collections.deque()
        self._description, self._rowcount, self._lastrowid = None, -1, None

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self):
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _run(self, operation, parameters, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            self._description, self._rowcount, self._lastrowid, rows = await self._connection._execute(
                self._connection.run_statement, operation, () if parameters is None else parameters, many)
            self._rows = collections.deque(rows) if rows is not None else collections.deque()

    async def _execute_async(self, operation, parameters) -> None:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation, seq_of_parameters) -> None:
        await self._run(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        pass

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg, **kw) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never holds up exit
        return OneHopConnection(self, await_only(connection))


# aiosqlite's module as SQLAlchemy's aiosqlite dialect sees it, with the connect above.
_serialized_aiosqlite = types.SimpleNamespace(**{name: getattr(aiosqlite, name) for name in dir(aiosqlite) if not name.startswith("__")})
_serialized_aiosqlite.connect = _serialized_connect
_serialized_aiosqlite.Connection = SerializedWrites


def make_engine(url: str, **kwargs) -> AsyncEngine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite+aiosqlite"):
            kwargs.setdefault("module", OneHopDBAPI(_serialized_aiosqlite, sqlite3))
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from sqlalchemy.orm import Session

    from server.validate import clean_pending_text

    # No NUL or direction override reaches a table, whatever the handler read (server/validate.py).
    if not event.contains(Session, "before_flush", clean_pending_text):
        event.listen(Session, "before_flush", clean_pending_text)
    return async_sessionmaker(engine, expire_on_commit=False)


# One session (one connection) per request: the session middleware's lookup and the
# handler's queries share it (server/accounts/auth.py opens and closes it).
REQUEST_DB = "weiwang_db"


def request_session(scope) -> AsyncSession:
    """The request's session, made on first use."""
    db = scope.get(REQUEST_DB)
    if db is None:
        db = scope[REQUEST_DB] = scope["litestar_app"].state.sessionmaker()
    return db


async def close_request_session(scope) -> None:
    db = scope.pop(REQUEST_DB, None)
    if db is not None:
        await db.close()


async def provide_db(state: State, scope: Scope) -> AsyncIterator[AsyncSession]:
    """Litestar dependency `db`: one session per request, committed by the handler."""
    if REQUEST_DB in scope or "user" in scope:  # inside the session middleware, which closes it
        yield request_session(scope)
        return
    async with state.sessionmaker() as session:
        yield session
