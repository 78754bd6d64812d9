"""Next month's patrol re-checks the items that became problems last time, with the problems' state."""
from __future__ import annotations

from datetime import datetime, timedelta

from server.issues import service as ledger
from server.issues.models import Status
from server.patrols import queries

from .conftest import CST, checklist_of, patrol_record, patroller_of, post_sync, unpatrolled_compound


async def test_it_lists_last_times_problems_for_re_check(db, people, signed_in_as):
    compound = await unpatrolled_compound(db, people.community)
    version_id, items = await checklist_of(db, compound)
    client = await signed_in_as(await patroller_of(db, people, compound))
    last_month = datetime.now(CST) - timedelta(days=31)
    record = patrol_record(compound, version_id, items, fail={0: "fixed", 5: "problem", 9: "problem"},
                           created_at=last_month)
    assert (await post_sync(client, [record])).json()["results"][0]["status"] == "created"
    first_problem = record["data"]["answers"][5]["problem_id"]
    # The ledger moves on: one of the two problems is solved on the spot a few days later.
    secretary = await ledger_viewer(db, await patroller_of(db, people, compound))
    await ledger.record_event(db, secretary, first_problem, "solve_on_spot", {"note": "已清运"})
    await db.commit()

    last, rows = await queries.recheck_list(db, compound)
    assert last.id == record["id"]
    assert [r.item.key for r in rows] == [items[5].key, items[9].key]
    assert [r.issue.status for r in rows] == [Status.resolved, Status.reported]

    page = await client.get(f"/patrols/compounds/{compound.code}/new")
    assert page.status_code == 200
    assert 'id="recheck"' in page.text and "复查上次的 2 项" in page.text
    assert page.text.count("check-item check-recheck") == 2
    assert "已解决，待反馈" in page.text or "resolved" in page.text

    # This month's patrol then reports them as re-checked.
    now = patrol_record(compound, version_id, items)
    assert (await post_sync(client, [now])).json()["results"][0]["status"] == "created"
    report = await client.get(f"/patrols/{now['id']}")
    assert "复查上次巡查的问题" in report.text and items[9].title in report.text


async def test_it_has_nothing_to_re_check_after_a_clean_patrol(db, people, signed_in_as):
    compound = await unpatrolled_compound(db, people.community)
    version_id, items = await checklist_of(db, compound)
    client = await signed_in_as(await patroller_of(db, people, compound))
    await post_sync(client, [patrol_record(compound, version_id, items, fail={2: "fixed"})])

    _, rows = await queries.recheck_list(db, compound)
    page = await client.get(f"/patrols/compounds/{compound.code}/new")

    assert rows == [] and 'id="recheck"' not in page.text


async def ledger_viewer(db, person):
    from tests.issues.conftest import viewer_of

    return await viewer_of(db, person)
