"""报问题 starts where the leader stands (issue 13): from a household, its micro-grid and the household;
from the ledger, her own (A岗) micro-grid ticked in a searchable list of radio buttons (no long <select>),
which works without JavaScript: the ticked place is posted like any other field."""
from __future__ import annotations

import re

import sqlalchemy as sa

from server.grid.models import GridNode, Household, Level
from server.issues.models import Issue


async def test_it_opens_the_report_form_at_the_household_the_leader_stands_at(signed_in_as, people, db):
    household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id)
                                  .order_by(Household.id))).scalars().first()
    client = await signed_in_as(people.leader)
    page = (await client.get(f"/households/{household.id}")).text
    assert f'href="/issues/new?household={household.id}"' in page
    form = (await client.get(f"/issues/new?household={household.id}")).text
    assert f'<input type="hidden" name="node_id" value="{people.microgrid.id}">' in form
    assert people.microgrid.name in form and 'href="/issues/new"' in form  # 换一个地点
    assert re.search(rf'<option value="{household.id}" selected>', form)
    # A household out of her grid is not found, as everywhere.
    other = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.neighbour_microgrid.id))).scalars().first()
    assert (await client.get(f"/issues/new?household={other.id}")).status_code == 404


async def test_it_ticks_the_leaders_own_grid_in_a_searchable_list(signed_in_as, people, db, csrf_headers):
    client = await signed_in_as(people.leader)
    form = (await client.get("/issues/new")).text
    assert "<select id=\"f-node_id\"" not in form and "data-place-picker" in form
    ticked = re.findall(r'<input type="radio" name="node_id" value="(\d+)" checked', form)
    assert ticked == [str(people.microgrid.id)]
    staff = await signed_in_as(people.admin)
    form = (await staff.get("/issues/new")).text
    places = re.findall(r'<li class="place-option" data-filter-text="([^"]*)"', form)
    count = (await db.execute(sa.select(sa.func.count()).select_from(GridNode).where(GridNode.level == Level.microgrid))).scalar()
    assert len(places) == count  # every micro-grid of the street, not the first 200
    assert 'data-filter="[data-place-picker] .place-option"' in form
    assert " · " in places[0]  # searchable by its community and compound too

    # Without JavaScript: the ticked radio is posted, the problem is where it says.
    client = await signed_in_as(people.leader)
    category = (await db.execute(sa.text("SELECT id FROM issue_category ORDER BY id LIMIT 1"))).scalar()
    answer = await client.post("/issues", data={"node_id": str(people.microgrid.id), "category_id": str(category),
                                                "description": "楼道堆放杂物", "urgency": "normal"},
                               headers=await csrf_headers(client), follow_redirects=False)
    assert answer.status_code == 303
    stored = (await db.execute(sa.select(Issue.node_id).where(Issue.description == "楼道堆放杂物"))).scalar()
    assert stored == people.microgrid.id
