"""Every hot query carries the street key (README, "Past one PostgreSQL server").

The rows that grow with a city (households, visits, the work log, the ledger, patrols,
receipts) hold their micro-grid's path, whose first segment is the street. Partitioned by
street (native RANGE partitions over the path, or Citus), a query that bounds the path is
sent to one street's partition; one that does not reads every street. This test records
the SQL of the requests a leader and a community secretary make all day and fails on a
statement that reads one of those tables without a bound on its path column.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import sqlalchemy as sa

from server.grid.models import Household
from server.db import make_sessionmaker
from tests.sync.helpers import post_sync, record, visit

# table -> the column that carries the grid path (the partition key's source).
PARTITIONED = {
    "household": "grid_path",
    "visit": "grid_path",
    "work_log_entry": "grid_path",
    "issue": "node_path",
    "patrol": "compound_path",
}


def worklog_on(household: Household) -> dict:
    return record("errand", {"service": "elderly_subsidy", "household_id": household.id, "note": "代办高龄补贴"})


@contextmanager
def statements():
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def unkeyed(statement: str) -> list[str]:
    """The partitioned tables this statement reads without bounding their path column."""
    sql = " ".join(statement.split()).lower()
    if not sql.startswith(("select", "with", "update", "delete")):
        return []
    missing = []
    for table, column in PARTITIONED.items():
        if not re.search(rf"\b(from|join|update)\s+{table}\b", sql):
            continue
        if not re.search(rf"\b{table}\.{column}\s*(>=|=|<|in\b|like)", sql):
            missing.append(table)
    return missing


async def test_hot_requests_bound_the_path_of_every_partitioned_table(signed_in_as, people, engine):
    async with make_sessionmaker(engine)() as db:
        household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id)
                                      .order_by(Household.id).limit(1))).scalar_one()
    leader = await signed_in_as(people.leader)
    secretary = await signed_in_as(people.secretary)
    with statements() as seen:
        for client, url in ((leader, "/"), (leader, f"/grid/{people.microgrid.code}"),
                            (leader, f"/households/{household.id}"), (leader, "/issues"),
                            (secretary, "/issues"), (secretary, f"/grid/{people.community.code}")):
            response = await client.get(url)
            assert response.status_code == 200, url
        response = await post_sync(leader, [visit(household.id), worklog_on(household)])
        assert response.status_code == 200, response.text
        assert [r["status"] for r in response.json()["results"]] == ["created", "created"], response.text
    offenders = {s: unkeyed(s) for s in seen if unkeyed(s)}
    for s, tables in offenders.items():
        print(tables, " ".join(s.split())[:400])
    assert not offenders
