"""The database engine and the one session dependency every handler takes.

SQLite is the embedded default (one street on one small server); PostgreSQL is for
a district or a city. Every query in the app must run on both.
"""
from __future__ import annotations

import asyncio
import sqlite3
import types
import weakref
from collections.abc import AsyncIterator

import aiosqlite
from litestar.datastructures import State
from litestar.types import Scope
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
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


# SQLite in the event loop.
#
# aiosqlite runs every call (execute, each fetch, commit, rollback, close) in a thread of
# its own and wakes the event loop for each answer: a page of four queries took ~40 of
# these hops, and on a busy machine each costs a context switch or more (issue 15: most
# of a page's time was the loop waiting on them). A SQLite query on an indexed table takes
# microseconds, far less than the hop, so the connection below runs each call right where
# it is awaited, as a hand-written sqlite3 page would.
#
# What makes that safe:
# - readers never wait: WAL lets them read while a writer writes;
# - writers never wait on each other inside the process: a statement that would open a
#   write transaction first takes the process's write lock (an asyncio.Lock, FIFO) and
#   the transaction keeps it until it commits or rolls back. Waiting for it yields to the
#   loop, so requests go on while a sync batch writes; a writer that cannot have it
#   within WRITE_WAIT seconds gets "database is locked", as busy_timeout would say.
#   Another process (a CLI command, a backup) may still hold SQLite's own lock:
#   busy_timeout waits for it, holding the loop, which is why several app processes
#   belong on PostgreSQL (README, production).
# - a long statement holds the loop for its length: none of the pages' reads is long,
#   and the big jobs (imports, exports) run many short statements.
WRITE_WAIT = 5.0
_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")
_write_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]" = weakref.WeakKeyDictionary()


def _write_lock(database: str) -> asyncio.Lock:
    locks = _write_locks.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(database)
    if lock is None:
        lock = locks[database] = asyncio.Lock()
    return lock


class _RunNow:
    """Stands in for aiosqlite's queue to its thread (SQLAlchemy's isolation_level setter uses it)."""

    @staticmethod
    def put_nowait(item) -> None:
        future, function = item
        try:
            future.set_result(function())
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(error)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection with no thread: each call runs in the event loop when awaited."""

    def __init__(self, connector, iter_chunk_size: int, database: str) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()
        self._database = database
        self._holds_write_lock = False

    def __await__(self):
        return self._connect().__await__()

    async def _connect(self) -> "InlineConnection":
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn, *args, **kwargs):
        connection = self._connection
        if not self._running or connection is None:
            raise ValueError("Connection closed")
        if (not self._holds_write_lock and args and isinstance(args[0], str)
                and getattr(fn, "__name__", "") in ("execute", "executemany", "executescript")
                and not args[0].lstrip()[:8].upper().startswith(_READ_STATEMENTS)):
            lock = _write_lock(self._database)
            try:
                await asyncio.wait_for(lock.acquire(), WRITE_WAIT) if lock.locked() else await lock.acquire()
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
            self._holds_write_lock = True
        try:
            return fn(*args, **kwargs)
        finally:
            if self._holds_write_lock and (self._connection is None or not self._connection.in_transaction):
                self._holds_write_lock = False
                _write_lock(self._database).release()

    def stop(self):
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._holds_write_lock:
            self._holds_write_lock = False
            try:
                _write_lock(self._database).release()
            except RuntimeError:  # no running loop (garbage collection): the lock went with it
                pass
        return None

    async def close(self) -> None:
        self.stop()


def _inline_connect(database, *, iter_chunk_size: int = 64, **kwargs) -> InlineConnection:
    kwargs["check_same_thread"] = False  # the pool may close it from the garbage collector's thread
    name = str(database)
    return InlineConnection(lambda: sqlite3.connect(name, **kwargs), iter_chunk_size, name)


# aiosqlite's module as SQLAlchemy's aiosqlite dialect sees it, with the inline connect.
_inline_aiosqlite = types.SimpleNamespace(**{name: getattr(aiosqlite, name) for name in dir(aiosqlite) if not name.startswith("__")})
_inline_aiosqlite.connect = _inline_connect
_inline_aiosqlite.Connection = InlineConnection


def make_engine(url: str, **kwargs) -> AsyncEngine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite+aiosqlite"):
            kwargs.setdefault("module", AsyncAdapt_aiosqlite_dbapi(_inline_aiosqlite, sqlite3))
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
