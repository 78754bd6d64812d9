"""The calendar of due and overdue compounds, a compound's trend chart and its repeated failures."""
from __future__ import annotations

import re

import sqlalchemy as sa
from datetime import date, datetime, timedelta

from server.patrols import queries

from .conftest import CST, checklist_of, compound_of, patrol_record, patroller_of, post_sync, unpatrolled_compound


async def test_it_shows_which_compounds_are_done_due_or_overdue(db, people, signed_in_as, checklist):
    version_id, items = checklist
    next_door = await compound_of(db, people.neighbour_microgrid)
    await post_sync(await signed_in_as(people.neighbour), [patrol_record(next_door, version_id, items)])
    secretary = await signed_in_as(people.secretary)

    months, rows = await queries.calendar(db, await _viewer(db, people.secretary))
    by_code = {r.compound.code: r for r in rows}
    assert len(months) == 6 and by_code[next_door.code].state == "done"
    assert all(r.compound.path.startswith(people.community.path) for r in rows)

    months, rows = await queries.calendar(db, await _viewer(db, people.secretary), today=date(2031, 5, 25))
    assert {r.state for r in rows} == {"overdue"}  # nobody patrolled in May 2031, past the 20th

    page = await secretary.get("/patrols")
    assert page.status_code == 200 and next_door.name in page.text and "已巡查" in page.text
    overdue = await secretary.get("/patrols?state=done")
    assert next_door.name in overdue.text


async def test_it_draws_the_pass_rate_by_month_and_lists_repeated_failures(db, people, signed_in_as):
    compound = await unpatrolled_compound(db, people.community)
    version_id, items = await checklist_of(db, compound)
    client = await signed_in_as(await patroller_of(db, people, compound))
    two_months_ago = datetime.now(CST) - timedelta(days=62)
    await post_sync(client, [
        patrol_record(compound, version_id, items, fail={1: "fixed", 2: "fixed"}, created_at=two_months_ago),
        patrol_record(compound, version_id, items, fail={1: "problem"}),
    ])

    page = await client.get(f"/patrols/compounds/{compound.code}")

    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)
    assert svg.count('<rect class="bar') >= 2 and "style=" not in svg and "<script" not in svg
    assert "每月合格率" in page.text
    repeated = re.search(r'id="repeated".*?</section>', page.text, re.S).group(0)
    assert items[1].title in repeated and items[2].title not in repeated
    rates = await queries.monthly_rates(db, compound)
    assert len(rates) == 12 and rates[-1].failed >= 1


async def _viewer(db, person):
    from tests.issues.conftest import viewer_of

    return await viewer_of(db, person)


async def test_it_puts_a_repeatedly_failing_item_on_the_joint_analysis_list(db, people, signed_in_as):
    from server.issues import queries as ledger_queries
    from server.issues.models import Issue, Source
    from tests.conftest import csrf_headers

    compound = await unpatrolled_compound(db, people.community)
    version_id, items = await checklist_of(db, compound)
    client = await signed_in_as(await patroller_of(db, people, compound))
    earlier = datetime.now(CST) - timedelta(days=35)
    await post_sync(client, [
        patrol_record(compound, version_id, items, fail={6: "fixed"}, created_at=earlier),
        patrol_record(compound, version_id, items, fail={6: "fixed"}),
    ])
    page = await client.get(f"/patrols/compounds/{compound.code}")
    assert "列入联动分析" in page.text

    response = await client.post(f"/patrols/compounds/{compound.code}/analysis", data={"item_key": items[6].key},
                                 headers=await csrf_headers(client), follow_redirects=False)

    assert response.status_code == 303
    # An application to the secretary, not a place on the agenda: she decides.
    issue = (await db.execute(sa.select(Issue).where(Issue.node_id == compound.id,
                                                     Issue.analysis_status == "applied"))).scalar_one()
    assert issue.source == Source.patrol and items[6].title in issue.description and issue.is_open()
    assert not issue.flagged
    from server.grid.models import GridNode

    community = await db.get(GridNode, compound.parent_id)
    month = datetime.now(CST).strftime("%Y-%m")
    agenda = await ledger_queries.agenda(db, await _viewer(db, await patroller_of(db, people, compound)), community, month)
    assert issue.id in {item.issue.id for item in agenda.analysis_applications}
    assert issue.id not in {item.issue.id for item in agenda.analysis}
    page = await client.get(f"/patrols/compounds/{compound.code}")
    assert "联动分析申请待审" in page.text
    leader = await signed_in_as(people.leader)
    assert (await leader.post(f"/patrols/compounds/{compound.code}/analysis", data={"item_key": items[6].key},
                              headers=await csrf_headers(leader))).status_code == 403


async def test_it_speaks_english_too(db, people, signed_in_as, compound, checklist):
    client = await signed_in_as(people.secretary)
    client.cookies.set("lang", "en")
    expected = {"/patrols": "Every compound is patrolled once a month",
                f"/patrols/compounds/{compound.code}": "Start a patrol",
                f"/patrols/compounds/{compound.code}/new": "Make it a problem",
                "/patrols/templates": "Street-wide default"}
    for url, text in expected.items():
        page = await client.get(url)
        assert page.status_code == 200 and text in page.text, url
    page = await client.get(f"/patrols/compounds/{compound.code}/new")
    assert "保洁" in page.text  # the checklist itself is data, in Chinese
