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
