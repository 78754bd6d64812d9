"""The station's duty rota: filling a month, swaps, check-in once on the day, the duty log,
and what the leader on duty sees waiting."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from server.clock import today_in_china
from server.party.models import DutyLogEntry, DutySlot, DutySwap, ServiceStation


async def _station(db, people) -> ServiceStation:
    return (await db.execute(sa.select(ServiceStation).where(ServiceStation.community_id == people.community.id))).scalar_one()


async def test_staff_fill_a_month_with_the_communitys_leaders_and_a_leader_cannot(db, people, signed_in_as, csrf_headers):
    month = (today_in_china() + timedelta(days=62)).strftime("%Y-%m")
    leader = await signed_in_as(people.leader)
    assert (await leader.post(f"/stations/{people.community.code}/rota/fill", headers=await csrf_headers(leader),
                              data={"month": month})).status_code == 403
    secretary = await signed_in_as(people.secretary)
    response = await secretary.post(f"/stations/{people.community.code}/rota/fill", headers=await csrf_headers(secretary),
                                    data={"month": month}, follow_redirects=False)
    assert response.status_code == 303
    station = await _station(db, people)
    slots = (await db.execute(sa.select(DutySlot).where(DutySlot.station_id == station.id,
                                                        sa.func.substr(sa.cast(DutySlot.day, sa.String), 1, 7) == month))).scalars().all()
    assert 28 <= len(slots) <= 31 and len({s.day for s in slots}) == len(slots)
    assert len({s.person_id for s in slots}) > 1  # in turn, not one person all month
    # Filling again adds nothing: every day has someone.
    await secretary.post(f"/stations/{people.community.code}/rota/fill", headers=await csrf_headers(secretary),
                         data={"month": month})
    count = (await db.execute(sa.select(sa.func.count()).select_from(DutySlot).where(
        DutySlot.station_id == station.id, sa.func.substr(sa.cast(DutySlot.day, sa.String), 1, 7) == month))).scalar_one()
    assert count == len(slots)
    page = await secretary.get(f"/stations/{people.community.code}/rota?month={month}")
    assert page.status_code == 200 and f"{month} 值班表" in page.text


async def test_a_swap_is_asked_by_the_leader_of_the_day_and_approved_by_staff(db, people, signed_in_as, csrf_headers):
    station = await _station(db, people)
    day = today_in_china() + timedelta(days=3)
    slot = (await db.execute(sa.select(DutySlot).where(DutySlot.station_id == station.id, DutySlot.day == day))).scalar_one_or_none()
    if slot is None:
        slot = DutySlot(station_id=station.id, community_path=station.community_path, day=day, person_id=people.leader.id)
        db.add(slot)
    slot.person_id = people.leader.id
    await db.commit()
    await db.refresh(slot)
    url = f"/stations/{people.community.code}/slots/{slot.id}/swap"
    neighbour = await signed_in_as(people.neighbour)
    assert (await neighbour.post(url, headers=await csrf_headers(neighbour),
                                 data={"to_person_id": str(people.neighbour.id)})).status_code == 403
    leader = await signed_in_as(people.leader)
    bad = await leader.post(url, headers=await csrf_headers(leader), data={"to_person_id": str(people.admin.id), "reason": "外出"})
    assert bad.status_code == 422 and "请选择本社区的其他微网格长" in bad.text and "外出" in bad.text
    asked = await leader.post(url, headers=await csrf_headers(leader), follow_redirects=False,
                              data={"to_person_id": str(people.neighbour.id), "reason": "家中有事"})
    assert asked.status_code == 303
    swap = (await db.execute(sa.select(DutySwap).where(DutySwap.slot_id == slot.id))).scalars().one()
    assert swap.status == "requested" and swap.to_person_id == people.neighbour.id
    decide = f"/stations/{people.community.code}/swaps/{swap.id}/decide"
    leader = await signed_in_as(people.leader)
    assert (await leader.post(decide, headers=await csrf_headers(leader), data={"decision": "approve"})).status_code == 403
    secretary = await signed_in_as(people.secretary)
    page = await secretary.get(f"/stations/{people.community.code}/rota?month={day.strftime('%Y-%m')}")
    assert "申请换班" in page.text and "家中有事" in page.text
    await secretary.post(decide, headers=await csrf_headers(secretary), data={"decision": "approve"})
    slot_id, swap_id = slot.id, swap.id
    db.expire_all()
    assert (await db.get(DutySlot, slot_id)).person_id == people.neighbour.id
    assert (await db.get(DutySwap, swap_id)).status == "approved"


async def test_check_in_on_the_day_once_then_the_log_and_the_waiting_requests(
        db, people, signed_in_as, csrf_headers, put_on_duty, new_problem):
    waiting_id = (await new_problem(description="值班台待处理的问题")).id
    slot = await put_on_duty(people.leader, checked_in=False)
    slot_id = slot.id
    other = await signed_in_as(people.neighbour)
    checkin = f"/stations/{people.community.code}/slots/{slot_id}/checkin"
    assert (await other.post(checkin, headers=await csrf_headers(other))).status_code == 403
    leader = await signed_in_as(people.leader)
    log_url = f"/stations/{people.community.code}/slots/{slot_id}/log"
    assert (await leader.post(log_url, headers=await csrf_headers(leader), data={"requests": "x"})).status_code == 403
    assert (await leader.post(checkin, headers=await csrf_headers(leader), follow_redirects=False)).status_code == 303
    db.expire_all()
    first = (await db.get(DutySlot, slot_id)).checked_in_at
    assert first is not None
    await leader.post(checkin, headers=await csrf_headers(leader))
    db.expire_all()
    assert (await db.get(DutySlot, slot_id)).checked_in_at == first  # once
    page = await leader.get(f"/stations/{people.community.code}/rota")
    assert "今日值班" in page.text and "已签到" in page.text and "值班台待处理的问题" in page.text
    assert f"/issues/{waiting_id}" in page.text
    bad = await leader.post(log_url, headers=await csrf_headers(leader), data={"visitors": "两", "requests": ""})
    assert bad.status_code == 422
    saved = await leader.post(log_url, headers=await csrf_headers(leader), follow_redirects=False,
                              data={"visitors": "3", "requests": "咨询高龄补贴办理", "done": "已告知所需材料"})
    assert saved.status_code == 303
    # The newest entry of this slot (another test may have kept the same day's slot and logged on it).
    entry = (await db.execute(sa.select(DutyLogEntry).where(DutyLogEntry.slot_id == slot_id)
                              .order_by(DutyLogEntry.id.desc()).limit(1))).scalars().one()
    assert (entry.visitors, entry.requests, entry.done) == (3, "咨询高龄补贴办理", "已告知所需材料")
    assert "咨询高龄补贴办理" in (await leader.get(f"/stations/{people.community.code}/rota")).text


async def test_the_patrol_roster_lists_the_branch_as_branch_committee(db, people, signed_in_as, branch_head):
    """Participants by role as the seed lists them: the grid Party branch's people take part as 支委."""
    leader = await signed_in_as(people.leader)
    compound = people.microgrid.path[:24]
    from server.grid.models import GridNode

    code = (await db.execute(sa.select(GridNode.code).where(GridNode.path == compound))).scalar_one()
    page = await leader.get(f"/patrols/compounds/{code}/new")
    assert page.status_code == 200
    assert f'name="participant_role-{branch_head.id}" value="branch_committee"' in page.text
