"""Bulk loading for the demo and the benchmarks: rows straight through the driver.

SQLAlchemy's per-value processing of a few hundred thousand rows took most of a demo load;
here SQLite gets the driver's executemany and PostgreSQL gets COPY (asyncpg's
copy_records_to_table, binary). `indexes_set_aside` drops a table's secondary indexes and
PostgreSQL foreign keys for the load and makes them again from their own stored definitions.
Both work in the caller's transaction, so a failed load leaves nothing behind.
"""
from __future__ import annotations

import json
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

CHUNK = 20000  # rows per executemany or COPY: a progress bar moves, memory stays flat


def utc_text(value: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite: naive UTC text with microseconds."""
    if value.tzinfo is timezone.utc:
        return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_converter(sample):
    """How SQLAlchemy would store a value like `sample` in SQLite (UUIDs as 32 hex digits, UTC text
    times, JSON text, booleans as 0/1); None when it stores it as it is. Chosen once per column."""
    if isinstance(sample, uuid.UUID):
        return lambda v: v.hex
    if isinstance(sample, datetime):
        return lambda v: None if v is None else utc_text(v)
    if isinstance(sample, (dict, list)):
        return json.dumps
    if isinstance(sample, bool):
        return lambda v: None if v is None else int(v)
    return None


@asynccontextmanager
async def indexes_set_aside(conn: AsyncConnection, *tables: sa.Table):
    """The tables' secondary indexes dropped for a bulk load and made again after it, each from its
    own stored definition (so the schema ends as it was): one sorted build per index instead of
    200,000 inserts into each. PostgreSQL's foreign keys too: COPY checks each row's parents one
    by one (a trigger per key per row), adding the key back checks them all in one join.
    In the caller's transaction, so a failed load puts them back too. Indexes that back a
    primary key or unique constraint stay."""
    names = [t.name for t in tables]
    if conn.dialect.name == "sqlite":
        found = sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                        " AND tbl_name IN :names ORDER BY rowid")
        keys = []
    else:
        found = sa.text("SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname"
                        " WHERE i.schemaname = current_schema() AND i.tablename IN :names"
                        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) ORDER BY c.oid")
        # Keys between the tables themselves and to others alike; ordered so a key is added back
        # only after the unique index it references (those stay: they back constraints).
        keys = (await conn.execute(sa.text(
            "SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
            " JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE k.contype = 'f' AND n.nspname = current_schema() AND t.relname IN :names ORDER BY k.oid")
            .bindparams(sa.bindparam("names", expanding=True)), {"names": names})).all()
    indexes = (await conn.execute(found.bindparams(sa.bindparam("names", expanding=True)), {"names": names})).all()
    for table, name, _definition in keys:
        await conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _sql in indexes:
        await conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        await conn.exec_driver_sql(sql)
    for table, name, definition in keys:
        await conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


@asynccontextmanager
async def triggers_set_aside(conn: AsyncConnection, *tables: sa.Table):
    """The tables' own triggers dropped for a bulk load and made again after it from their stored
    definitions, in the caller's transaction. What they keep (the grid's tally) is then the
    caller's to rebuild in one pass: five million rows would otherwise run them five million times."""
    names = [t.name for t in tables]
    if conn.dialect.name == "sqlite":
        found = sa.text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :names"
                        " ORDER BY rowid")
    else:
        found = sa.text("SELECT g.tgname, c.relname, pg_get_triggerdef(g.oid) FROM pg_trigger g"
                        " JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE NOT g.tgisinternal AND n.nspname = current_schema() AND c.relname IN :names"
                        " ORDER BY g.oid")
    triggers = (await conn.execute(found.bindparams(sa.bindparam("names", expanding=True)), {"names": names})).all()
    for name, table, _sql in triggers:
        await conn.exec_driver_sql(f'DROP TRIGGER "{name}"' if conn.dialect.name == "sqlite"
                                   else f'DROP TRIGGER "{name}" ON "{table}"')
    yield
    for _name, _table, sql in triggers:
        await conn.exec_driver_sql(sql)


async def bulk_insert(conn: AsyncConnection, table: sa.Table, rows: list, columns: tuple[str, ...] | None = None) -> None:
    """Insert plain rows straight through the driver, in the caller's transaction.
    SQLite: executemany; PostgreSQL: COPY. `rows` are dicts of Python values, converted here, or
    (with `columns`) tuples already as the driver stores them (the big tables, built so by the
    caller). Converted a chunk at a time, so a city's five million rows never sit in memory twice."""
    if not rows:
        return
    driver = (await conn.get_raw_connection()).driver_connection
    sqlite = conn.dialect.name == "sqlite"
    convert = None
    if columns is None:
        given = tuple(rows[0])
        # Columns the rows leave out take their model's fixed default, as table.insert() would
        # (a Python-side default: COPY knows nothing of it, and NOT NULL would refuse the row).
        defaults = {c.name: c.default.arg for c in table.c
                    if c.name not in given and c.default is not None and c.default.is_scalar}
        columns = given + tuple(defaults)
        if sqlite:
            first = lambda c: next((r[c] for r in rows if r[c] is not None), None)
            fix = [(i, f) for i, c in enumerate(given) if (f := sqlite_converter(first(c))) is not None]
            extra = tuple(v if (f := sqlite_converter(v)) is None else f(v) for v in defaults.values())
        else:
            fix = [(i, json.dumps) for i, c in enumerate(given) if isinstance(table.c[c].type, sa.JSON)]
            extra = tuple(json.dumps(v) if isinstance(table.c[c].type, sa.JSON) else v for c, v in defaults.items())
        pick = itemgetter(*given) if len(given) > 1 else (lambda r: (r[given[0]],))

        def convert(chunk: list[dict]) -> list[tuple]:
            out = []
            for r in chunk:
                values = pick(r)
                if fix:
                    values = list(values)
                    for i, f in fix:
                        values[i] = f(values[i])
                    values = tuple(values)
                out.append(values + extra)
            return out
    sql = (f'INSERT INTO "{table.name}" (' + ", ".join(f'"{c}"' for c in columns) + ") VALUES ("
           + ", ".join("?" for _ in columns) + ")")
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        if convert is not None:
            chunk = convert(chunk)
        if sqlite:
            await driver.executemany(sql, chunk)
        else:
            await driver.copy_records_to_table(table.name, records=chunk, columns=list(columns))
