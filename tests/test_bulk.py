"""server/bulk.py: the demo's and benchmarks' one way to load many rows (COPY on PostgreSQL)."""
from __future__ import annotations

import sqlalchemy as sa

from server.accounts.models import Person
from server.bulk import bulk_insert, indexes_set_aside
from server.grid.models import GridNode, Household


async def test_rows_that_leave_out_a_column_get_the_model_default_as_insert_would(engine, demo):
    h = Household.__table__
    async with engine.connect() as conn:
        transaction = await conn.begin()
        microgrid = (await conn.execute(sa.select(GridNode.__table__.c.id, GridNode.__table__.c.path)
                                        .where(GridNode.__table__.c.level == "microgrid").limit(1))).first()
        first = (await conn.execute(sa.select(sa.func.max(h.c.id)))).scalar_one() + 1
        # No `status` (NOT NULL, Python-side default 'active') and no `left_on`; a JSON list.
        rows = [{"id": first + i, "microgrid_id": microgrid.id, "grid_path": microgrid.path, "address": f"1栋{i}号",
                 "head_name": "王某", "phone": "", "members": 2, "care_tags": ["elderly_alone"] if i else [], "notes": "批量"}
                for i in range(3)]
        await bulk_insert(conn, h, rows)
        stored = (await conn.execute(sa.select(h.c.status, h.c.care_tags, h.c.left_on, h.c.notes)
                                     .where(h.c.id >= first).order_by(h.c.id))).all()
        await transaction.rollback()
    assert stored == [("active", [], None, "批量"), ("active", ["elderly_alone"], None, "批量"),
                      ("active", ["elderly_alone"], None, "批量")]


async def test_indexes_set_aside_come_back_as_they_were(engine, demo):
    def index_names(sync_conn) -> list[str]:
        return sorted(i["name"] for i in sa.inspect(sync_conn).get_indexes(Person.__tablename__))

    async with engine.connect() as conn:
        before = await conn.run_sync(index_names)
        await conn.rollback()
        async with conn.begin():
            async with indexes_set_aside(conn, Person.__table__):
                during = await conn.run_sync(index_names)
            after = await conn.run_sync(index_names)
    assert before and during != before
    assert after == before


async def test_triggers_set_aside_stop_while_the_load_runs_and_come_back(engine, demo):
    """A bulk load runs no row triggers (the grid's tally is rebuilt once after it); they are
    back, working, when it ends. In a transaction rolled back, so the shared street is untouched."""
    from server.bulk import triggers_set_aside
    from server.grid.models import GridTally

    h = Household.__table__
    async with engine.connect() as conn:
        transaction = await conn.begin()
        microgrid = (await conn.execute(sa.select(Household.microgrid_id.label("id"), Household.grid_path.label("path"))
                                        .where(Household.status == "active").limit(1))).one()
        counted = sa.select(GridTally.n).where(GridTally.node_id == microgrid.id, GridTally.metric == "households")
        row = {"microgrid_id": microgrid.id, "grid_path": microgrid.path, "address": "批量路1号", "head_name": "批量",
               "care_tags": []}
        before = (await conn.execute(counted)).scalar_one()
        async with triggers_set_aside(conn, h, GridNode.__table__):
            await bulk_insert(conn, h, [row])
            during = (await conn.execute(counted)).scalar_one()
        await conn.execute(sa.insert(h).values(**{**row, "address": "批量路2号"}))
        after = (await conn.execute(counted)).scalar_one()
        await transaction.rollback()
    assert (during, after) == (before, before + 1)
