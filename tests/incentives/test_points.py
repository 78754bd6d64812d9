"""Glimmer points earned through the sync path, shown on the points page, adjusted by staff, ranked."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.grid.models import Household
from server.incentives.models import IncentiveRules, PointsEntry
from server.incentives.rules import load_rule_book
from tests.conftest import csrf_headers
from tests.sync.helpers import CST, households_of, post_sync, record, visit


def balance_on(html: str) -> int:
    return int(re.search(r'id="balance">(-?\d+)<', html).group(1))


async def entries_of(db, person_id: int) -> list[PointsEntry]:
    db.expire_all()
    return list((await db.execute(sa.select(PointsEntry).where(PointsEntry.person_id == person_id)
                                  .order_by(PointsEntry.created_at, PointsEntry.id))).scalars())


async def _elderly_household(db, microgrid) -> Household:
    for h in await households_of(db, microgrid):
        if "elderly_alone" in h.care_tags:
            return h
    h = (await households_of(db, microgrid))[0]
    h.care_tags = ["elderly_alone"]
    await db.commit()
    return h


async def test_it_awards_a_synced_care_visit_once_however_often_it_is_replayed(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(leader)
    elderly = await _elderly_household(db, people.microgrid)
    first = visit(elderly.id, kind="care")
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "created"
    page = await client.get("/points")
    assert page.status_code == 200 and balance_on(page.text) == 3
    assert "走访独居老人户" in page.text

    # The phone syncs the same record again, and visits the same household again this month.
    await post_sync(client, [first, visit(elderly.id, kind="routine")])
    assert balance_on((await client.get("/points")).text) == 3
    entries = await entries_of(db, leader.id)
    # Priced by the rule version in force (other tests may have saved newer versions).
    in_force = (await load_rule_book(db)).current.version
    assert [(e.kind, e.rule, e.points, e.source_id, e.rule_version) for e in entries] == [
        ("earned", "care_visit", 3, first["id"], in_force)]


async def _earned(db, person_id: int) -> list[tuple[str, int, str]]:
    return [(e.rule, e.points, e.source_id) for e in await entries_of(db, person_id)]


async def test_it_folds_points_in_the_same_transaction_as_the_records_arrive(db, people, signed_in_as, new_leader,
                                                                            monkeypatch):
    from server.incentives import ledger
    from server.incentives.models import PointsAccount

    leader = await new_leader()
    client = await signed_in_as(leader)
    elderly = await _elderly_household(db, people.microgrid)
    first = visit(elderly.id, kind="care")
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "created"
    # No page opened: the points are in the ledger already. Only this month and last were folded,
    # so the account is not marked folded: the page's full fold still runs, and adds nothing.
    assert await _earned(db, leader.id) == [("care_visit", 3, first["id"])]
    account = await db.get(PointsAccount, leader.id)
    assert account is None or account.folded_at is None
    assert await ledger.refresh(db, [leader.id]) == 0
    await db.commit()
    # A replay adds nothing.
    assert (await post_sync(client, [first])).json()["results"][0]["status"] == "duplicate"
    assert len(await entries_of(db, leader.id)) == 1
    # The form posted without JavaScript takes the same path.
    other = next(h for h in await households_of(db, people.microgrid) if h.id != elderly.id)
    response = await client.post(f"/households/{other.id}/visits", data={"kind": "routine"},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    assert sorted(r for r, _, _ in await _earned(db, leader.id)) == ["care_visit", "visit"]

    # A fold that fails never costs the record: it is stored, and the points come with the next page open.
    async def broken(*args, **kwargs):
        raise RuntimeError("fold broken")

    monkeypatch.setattr(ledger, "refresh", broken)
    late = record("hazard_check", {"hazard": "电动车楼道充电", "place": "2栋", "microgrid_id": people.microgrid.id})
    assert (await post_sync(client, [late])).json()["results"][0]["status"] == "created"
    assert "hazard_check" not in {r for r, _, _ in await _earned(db, leader.id)}
    monkeypatch.undo()
    await client.get("/points")
    assert ("hazard_check", 2, late["id"]) in await _earned(db, leader.id)


async def test_it_caps_a_days_errands(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(leader)
    morning = datetime.now(CST).replace(hour=9, minute=0, second=0, microsecond=0)
    errands = [record("errand", {"service": "social_security", "microgrid_id": people.microgrid.id},
                      created_at=morning + timedelta(minutes=i)) for i in range(7)]
    results = (await post_sync(client, errands)).json()["results"]
    assert {r["status"] for r in results} == {"created"}
    # 7 errands × 3 points, but at most 15 a day for typed work.
    assert balance_on((await client.get("/points")).text) == 15
    assert sorted(e.points for e in await entries_of(db, leader.id)) == [3, 3, 3, 3, 3]


async def test_it_lets_community_staff_award_and_deduct_with_a_reason_and_audits_it(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(people.secretary)
    url = f"/points/people/{leader.id}"
    response = await client.post(url + "/adjust", data={"direction": "award", "points": "10", "reason": "疫情期间值守"},
                                 headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    page = (await client.get(url)).text
    assert balance_on(page) == 10 and "疫情期间值守" in page

    # A deduction larger than the balance is refused, the input kept, nothing stored.
    too_much = await client.post(url + "/adjust", data={"direction": "deduct", "points": "11", "reason": "重复登记"},
                                 headers=await csrf_headers(client))
    assert too_much.status_code == 422 and "扣分后积分不能低于零" in too_much.text and "重复登记" in too_much.text
    await client.post(url + "/adjust", data={"direction": "deduct", "points": "4", "reason": "重复登记"},
                      headers=await csrf_headers(client))
    assert [e.points for e in await entries_of(db, leader.id)] == [10, -4]
    audits = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "points_adjust",
                                                           AuditEntry.person_id == people.secretary.id))).scalars().all()
    assert [(a.detail["leader_id"], a.detail["points"]) for a in audits if a.detail["leader_id"] == leader.id] == [
        (leader.id, 10), (leader.id, -4)]


async def test_it_refuses_a_reasonless_or_odd_amount(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(people.secretary)
    response = await client.post(f"/points/people/{leader.id}/adjust", data={"direction": "award", "points": "1e3", "reason": ""},
                                 headers=await csrf_headers(client))
    assert response.status_code == 422
    assert "请写明原因" in response.text and "1 到 200" in response.text
    assert await entries_of(db, leader.id) == []


async def test_it_ranks_a_communitys_leaders_and_only_theirs(db, people, signed_in_as, new_leader):
    ours = await new_leader("本社区甲")
    theirs = await new_leader("外社区乙", microgrid=None)
    # Put the second leader's points in another community.
    other_mg = (await db.execute(sa.text(
        "SELECT id, path FROM grid_node WHERE level='microgrid' AND path >= :lo AND path < :hi LIMIT 1"),
        {"lo": people.other_community.path, "hi": people.other_community.path + ":"})).first()
    admin = await signed_in_as(people.admin)
    for who, points in ((ours, 7), (theirs, 9)):
        await admin.post(f"/points/people/{who.id}/adjust", data={"direction": "award", "points": str(points), "reason": "排行"},
                         headers=await csrf_headers(admin))
    await db.execute(sa.update(PointsEntry).where(PointsEntry.person_id == theirs.id).values(grid_path=other_mg.path))
    await db.commit()

    street = (await admin.get("/points/rankings?period=year")).text
    assert "本社区甲" in street and "外社区乙" in street
    assert street.index("外社区乙") < street.index("本社区甲")  # 9 before 7
    secretary = await signed_in_as(people.secretary)
    community = (await secretary.get("/points/rankings?period=quarter")).text
    assert "本社区甲" in community and "外社区乙" not in community
    assert (await secretary.get(f"/points/rankings?grid={people.other_community.code}")).status_code == 404
    leader = await signed_in_as(people.leader)
    assert (await leader.get("/points/rankings")).status_code == 403


async def test_it_keeps_the_version_each_point_was_earned_under(db, people, signed_in_as, new_leader):
    leader = await new_leader()
    admin = await signed_in_as(people.admin)
    page = (await admin.get("/points/rules")).text
    assert "积分规则" in page and 'name="errand"' in page
    form = dict(re.findall(r'name="(\w+)" type="text" value="(\d+)"', page))
    form.update(errand="5", note="帮办加分")
    response = await admin.post("/points/rules", data=form, headers=await csrf_headers(admin), follow_redirects=False)
    assert response.status_code == 303
    version = (await db.execute(sa.select(sa.func.max(IncentiveRules.version)))).scalar_one()
    client = await signed_in_as(leader)
    await post_sync(client, [record("errand", {"service": "other", "microgrid_id": people.microgrid.id})])
    await client.get("/points")
    [entry] = await entries_of(db, leader.id)
    assert (entry.points, entry.rule_version) == (5, version)
    # A leader reads the table but cannot change it.
    assert "保存为新版本" not in (await client.get("/points/rules")).text
    assert (await client.post("/points/rules", data=form, headers=await csrf_headers(client))).status_code == 403
    # Back to the defaults for the other tests.
    form.update(errand="3", note="复原")
    await admin.post("/points/rules", data=form, headers=await csrf_headers(admin))


async def test_the_fold_on_arrival_reads_two_months_and_the_full_fold_completes_it(db, people, signed_in_as, new_leader):
    """The sync folds only this month and last (so a batch does not cost the leader's whole
    history); a record older than that waits for the full fold, which then adds exactly it."""
    from server.incentives import ledger

    leader = await new_leader()
    client = await signed_in_as(leader)
    first, second = [h for h in await households_of(db, people.microgrid) if "elderly_alone" not in (h.care_tags or [])][:2]
    old = visit(first.id, created_at=datetime.now(CST) - timedelta(days=100))
    today = [visit(first.id), visit(second.id), visit(second.id)]  # the second visit to a household this month earns nothing
    results = (await post_sync(client, [old, *today])).json()["results"]
    assert [r["status"] for r in results] == ["created"] * 4
    assert sorted(s for _, _, s in await _earned(db, leader.id)) == sorted([today[0]["id"], today[1]["id"]])
    assert await ledger.refresh(db, [leader.id]) == 1
    await db.commit()
    assert sorted(s for _, _, s in await _earned(db, leader.id)) == sorted([old["id"], today[0]["id"], today[1]["id"]])
    assert await ledger.refresh(db, [leader.id]) == 0


async def test_the_history_pages_on_with_older_entries(db, engine, people, signed_in_as, new_leader):
    from server.db import make_sessionmaker
    from server.incentives import ledger

    leader = await new_leader()
    async with make_sessionmaker(engine)() as s:
        for i in range(ledger.HISTORY_PAGE + 5):
            await ledger.add_manual(s, person_id=leader.id, points=1, reason=f"第{i}次", grid_path=people.microgrid.path,
                                    by=people.admin.id)
        await s.commit()
    client = await signed_in_as(leader)
    first = (await client.get("/points")).text
    assert balance_on(first) == ledger.HISTORY_PAGE + 5
    assert first.count('class="list-item points-entry"') == ledger.HISTORY_PAGE
    older = re.search(r'id="older-entries" href="\?before=([0-9a-f-]+)"', first).group(1)
    second = (await client.get(f"/points?before={older}")).text
    assert second.count('class="list-item points-entry"') == 5 and 'id="older-entries"' not in second
    shown = set(re.findall(r"第(\d+)次", first)) | set(re.findall(r"第(\d+)次", second))
    assert shown == {str(i) for i in range(ledger.HISTORY_PAGE + 5)}  # every entry once, none lost between pages
    # Someone else's entry id (or nonsense) as the mark: the first page, nothing of theirs.
    other = await new_leader()
    async with make_sessionmaker(engine)() as s:
        theirs = await ledger.add_manual(s, person_id=other.id, points=2, reason="别人的", grid_path=people.microgrid.path,
                                         by=people.admin.id)
        await s.commit()
    page = (await client.get(f"/points?before={theirs.id}")).text
    assert page.count('class="list-item points-entry"') == ledger.HISTORY_PAGE and "别人的" not in page
    assert (await client.get("/points?before=" + "x" * 37)).status_code == 400
