"""The Alembic chain builds exactly the schema the models describe, on SQLite and PostgreSQL,
and every step down and up again works with data in the tables."""
import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import server.models  # noqa: F401  (every table on the metadata)
from server.db import make_engine
from server.migrate import alembic_config, downgrade, upgrade
from tests.conftest import scratch_database


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return compare_metadata(context, SQLModel.metadata)


async def test_it_has_no_drift_between_the_models_and_the_migrations(engine):
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff)
    assert differences == [], "models and migrations differ (autogenerate a migration):\n" + "\n".join(map(str, differences))


async def _row_counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            existing = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            return {t: (await conn.execute(sa.text(f'SELECT count(*) FROM "{t}"'))).scalar_one()
                    for t in tables if t in existing}
    finally:
        await engine.dispose()


async def _fill(url: str) -> None:
    """The demo street, a year of ledger problems and their events: rows in most tables."""
    from server.grid.demo import load_demo
    from server.issues.demo import load_ledger_demo

    engine = make_engine(url)
    try:
        await load_demo(engine, seed=3, scale=0.05, progress=False)
        async with engine.begin() as conn:
            await load_ledger_demo(conn, issues=50, events=200, seed=3)
    finally:
        await engine.dispose()


async def _drift(url: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


def test_it_steps_every_migration_down_and_up_again_with_data(tmp_path_factory):
    revisions = [s.revision for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()]
    first = revisions[-1]  # walk_revisions goes from head to base
    assert len(revisions) >= 5
    with scratch_database(tmp_path_factory, "downgrade") as url:
        asyncio.run(_fill(url))
        grid_tables = ["grid_node", "household", "person", "post", "property_company"]
        before = asyncio.run(_row_counts(url, grid_tables + ["issue", "issue_event"]))
        assert before["household"] > 0 and before["issue"] == 50 and before["issue_event"] >= 200

        for target in revisions[1:]:  # one step at a time, each with the rows of the later tables present
            downgrade(url, target)
        after_down = asyncio.run(_row_counts(url, grid_tables + ["issue"]))
        assert "issue" not in after_down  # the ledger's migration is undone...
        assert after_down == {t: before[t] for t in grid_tables}  # ...and the first one's data is untouched

        upgrade(url)
        assert asyncio.run(_drift(url)) == []
        assert asyncio.run(_row_counts(url, grid_tables)) == {t: before[t] for t in grid_tables}
        assert first == "0001"


async def test_every_path_column_has_fine_planner_statistics(engine):
    """A subtree is a range of a path column; PostgreSQL's default histogram misjudges a community's
    range on a city and picks a plan 150x slower (migration 0024). A new path column needs the
    same ALTER ... SET STATISTICS."""
    from server.tree import PathType

    if engine.dialect.name != "postgresql":
        return
    columns = [(t.name, c.name) for t in SQLModel.metadata.sorted_tables for c in t.columns
               if c.type is PathType or repr(c.type) == repr(PathType)]
    assert len(columns) >= 30
    async with engine.connect() as conn:
        targets = dict(((table, column), target) for table, column, target in await conn.execute(sa.text(
            "SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND a.attnum > 0")))
    assert [column for column in columns if (targets.get(column) or -1) < 1000] == []
