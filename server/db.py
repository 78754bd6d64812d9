"""The database engine and the one session dependency every handler takes.

SQLite is the embedded default (one street on one small server); PostgreSQL is for
a district or a city. Every query in the app must run on both.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone

from litestar.datastructures import State
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


# China has one time zone and no daylight saving: the street's months, deadlines and clocks.
CHINA = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def china_date(value: datetime) -> date:
    return aware(value).astimezone(CHINA).date()


def month_of(value: datetime) -> str:
    return aware(value).astimezone(CHINA).strftime("%Y-%m")


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def recent_months(n: int = 12, today: date | None = None) -> list[str]:
    """The last n months as "YYYY-MM", newest first, ending with this one (China time)."""
    today = today or today_in_china()
    year, month = today.year, today.month
    months = []
    for _ in range(n):
        months.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a sync batch writes; NORMAL is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA cache_size=-32000")
    cursor.close()


def make_engine(url: str, **kwargs) -> AsyncEngine:
    if url.startswith("sqlite"):
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


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """Litestar dependency `db`: one session per request, committed by the handler."""
    async with state.sessionmaker() as session:
        yield session
