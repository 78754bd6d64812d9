"""A ledger item says where it is (社区 · 小区), carries one overdue marker, and gives the year only
for a date of another year (issue 13): in the ledger, on the problem's page and on the property home."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import sqlalchemy as sa

from server.clock import today_in_china
from server.grid.models import GridNode, Level
from server.issues.models import Issue


def item_of(html: str, issue_id) -> str:
    """The ledger's <li> of one problem."""
    start = html.index(f'href="/issues/{issue_id}"')
    return html[html.rindex("<li", 0, start):html.index("</li>", start)]


async def where_of(db, node) -> str:
    rows = await db.execute(sa.select(GridNode.name).where(
        GridNode.path.in_(node.ancestor_paths()), GridNode.level.in_((Level.community, Level.compound)))
        .order_by(GridNode.depth))
    return " · ".join(rows.scalars())


async def test_it_says_where_a_problem_is_once_overdue_and_with_the_year_of_another_year(
        signed_in_as, people, new_problem, db):
    year = today_in_china().year
    old = await new_problem(description="去年的井盖松动")
    await db.execute(sa.update(Issue).where(Issue.id == old.id).values(
        status="assigned", deadline=date(year - 1, 3, 5), reported_at=datetime(year - 1, 3, 1, 2, 0, tzinfo=timezone.utc)))
    fresh = await new_problem(description="今年的路灯不亮")
    await db.commit()
    where = await where_of(db, people.microgrid)
    assert " · " in where  # a community and a compound above the micro-grid

    client = await signed_in_as(people.secretary)
    # Narrowed to the micro-grid (the overdue ones for the old problem): other tests add problems,
    # and the ledger shows 50 a page.
    mg = people.microgrid.code
    old_item = item_of((await client.get(f"/issues?node={mg}&overdue=1")).text, old.id)
    fresh_item = item_of((await client.get(f"/issues?node={mg}&month={fresh.month}")).text, fresh.id)
    assert f'<span class="list-where" data-where>{where}</span>' in old_item
    assert old_item.count("超期") == 1 and "is-overdue" not in old_item
    assert f"{year - 1}-03-01" in old_item and f"{year - 1}-03-05" in old_item
    assert f"{year}-" not in fresh_item and re.search(r"\b\d{2}-\d{2}\b", fresh_item)

    show = (await client.get(f"/issues/{old.id}")).text
    head = show[show.index('class="card issue-head"'):show.index("</section>", show.index('class="card issue-head"'))]
    assert where in head and head.count("超期") == 1 and "overdue-text" not in head
    assert f"{year - 1}-03-01 10:00" in head and f"{year - 1}-03-05" in head
    show = (await client.get(f"/issues/{fresh.id}")).text
    assert f"{year}-" not in show[show.index('class="card issue-head"'):show.index("</section>", show.index('class="card issue-head"'))]
