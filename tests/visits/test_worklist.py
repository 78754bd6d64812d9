import re
from datetime import datetime, timedelta

from server.grid.models import Household
from server.visits.queries import natural_key
from tests.sync.helpers import CST, households_of, post_sync, visit


async def test_it_lists_the_leaders_households_in_walking_order(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    await post_sync(client, [visit(households[0].id)])
    page = await client.get("/worklist")
    assert page.status_code == 200
    html = page.text
    assert people.microgrid.name in html
    for h in households:
        assert f'data-household-id="{h.id}"' in html
    # In the order she walks them (issue 13: building, unit, floor, room), visited or not.
    shown = [int(i) for i in re.findall(r'data-household-id="(\d+)"', html)]
    address = {h.id: h.address for h in households}
    assert [address[i] for i in shown if i in address] == sorted(address.values(), key=natural_key)
    assert "visit-done" in html[html.index(f'data-household-id="{households[0].id}"'):][:1000]
    assert "本月未走访" in html or "从未走访" in html


async def test_it_shows_the_last_visit_date(db, people, signed_in_as):
    client = await signed_in_as(people.neighbour)
    household = (await households_of(db, people.neighbour_microgrid, limit=500))[-1]
    when = datetime.now(CST) - timedelta(days=40)
    await post_sync(client, [visit(household.id, created_at=when)])
    html = (await client.get("/worklist")).text
    row = html[html.index(f'data-household-id="{household.id}"'):].split("</li>")[0]
    assert when.strftime("%m-%d") in row and "本月未走访" in row


async def test_it_names_elderly_living_alone_first_among_the_unvisited(db, people, signed_in_as):
    """Two unvisited households made for the test: the plain one's address sorts first, so only
    the care order can put the elderly one ahead (in the 优先走访 card above the walking order)."""
    plain = Household(microgrid_id=people.microgrid.id, grid_path=people.microgrid.path, address="0栋0单元001",
                      head_name="排序甲", care_tags=[])
    alone = Household(microgrid_id=people.microgrid.id, grid_path=people.microgrid.path, address="99栋9单元999",
                      head_name="排序乙", care_tags=["elderly_alone"])
    db.add_all([plain, alone])
    await db.commit()
    try:
        client = await signed_in_as(people.leader)
        html = (await client.get("/worklist")).text
        at_alone = html.index(f'data-priority-id="{alone.id}"')
        at_plain = html.index(f'data-household-id="{plain.id}"')
        assert at_alone < at_plain
        assert f'data-priority-id="{plain.id}"' not in html
    finally:
        await db.delete(plain)
        await db.delete(alone)
        await db.commit()


async def test_it_sends_a_leader_home_to_the_worklist(people, signed_in_as):
    client = await signed_in_as(people.leader)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/worklist"


async def test_it_does_not_list_another_leaders_households(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    theirs = await households_of(db, people.neighbour_microgrid)
    assert theirs
    html = (await client.get("/worklist")).text
    assert all(f'data-household-id="{h.id}"' not in html for h in theirs)


async def test_it_lists_the_pages_to_keep_offline(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    body = (await client.get("/api/offline-pages")).json()
    households = await households_of(db, people.microgrid, limit=500)
    assert "/worklist" in body["urls"] and "/worklog/new/errand" in body["urls"]
    for h in households:
        assert f"/households/{h.id}" in body["urls"] and f"/households/{h.id}/visits/new" in body["urls"]
    assert len(body["urls"]) <= body["max"]


async def test_it_names_the_household_on_a_work_form_opened_from_it(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    page = (await client.get(f"/worklog/new/mediation?household={household.id}")).text
    head = page[page.index('class="node-meta household-head"'):][:300]
    assert household.address in head and household.head_name in head
    assert f'name="household_id" value="{household.id}"' in page
