"""Who may use the Party organisation and station pages (merged into the access matrix).

"inside" is the leader's community, "outside" another. `community` in the matrix is the
demo's 社区党委书记 of the inside community, so she names delegates there.
"""
from __future__ import annotations

import itertools

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode
from tests.accounts.access_matrix import SIGNIN, entry, expect


async def _community_code(env, where) -> str:
    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        return (await db.execute(sa.select(GridNode.code).where(GridNode.path == path))).scalar_one()


async def _page(env, where, role):
    return f"/party?community={await _community_code(env, where)}"


async def _delegate(env, where, role):
    return f"/party/{await _community_code(env, where)}/delegate"


async def _station(env, where, role):
    return f"/party/{await _community_code(env, where)}/station"


ACCESS = {
    ("GET", "/party"): entry(_page, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=403),
                             why="everyone who works in a community sees its Party organisation and station"),
    ("POST", "/party/{code:str}/delegate"): entry(
        _delegate, data={"person_id": ""}, answers=expect(403, visitor=SIGNIN, community=(303, 404)),
        why="only the community Party secretary names her delegate"),
    ("POST", "/party/{code:str}/station"): entry(
        _station, data={"name": "矩阵服务站", "address": "东街1号", "phone": "028-88220000"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="the community's staff and the street keep the station's address and phone"),
}


_DAYS = itertools.count()


async def _slot(env, where, role, suffix):
    """Today's slot (inside: the leader's community's station, held by the person asking when they may)."""
    from datetime import date, timedelta

    from server.party.models import DutySlot, ServiceStation

    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        station = (await db.execute(sa.select(ServiceStation).where(ServiceStation.community_path == path))).scalar_one()
        day = date(2031, 1, 1) + timedelta(days=next(_DAYS))  # a day of its own for every call
        slot = DutySlot(station_id=station.id, community_path=path, day=day, person_id=env.people.leader.id)
        db.add(slot)
        await db.commit()
        code = await _community_code(env, where)
        return f"/stations/{code}/slots/{slot.id}/{suffix}"


async def _today_slot(env, where, role, suffix):
    """Today's slot at the station, held by the matrix's leader (checked in for the log)."""
    from server.clock import today_in_china, utcnow
    from server.party.models import DutySlot, ServiceStation

    async with make_sessionmaker(env.engine)() as db:
        path = env.microgrid(where).path[:16]
        station = (await db.execute(sa.select(ServiceStation).where(ServiceStation.community_path == path))).scalar_one()
        slot = (await db.execute(sa.select(DutySlot).where(DutySlot.station_id == station.id,
                                                           DutySlot.day == today_in_china()))).scalar_one_or_none()
        if slot is None:
            slot = DutySlot(station_id=station.id, community_path=path, day=today_in_china(), person_id=env.people.leader.id)
            db.add(slot)
        slot.person_id = env.people.leader.id
        slot.checked_in_at = utcnow() if suffix == "log" else None
        await db.commit()
        return f"/stations/{await _community_code(env, where)}/slots/{slot.id}/{suffix}"


async def _swap(env, where, role):
    from server.party.models import DutySwap

    url = await _slot(env, where, role, "swap")
    slot_id = int(url.split("/")[4])
    async with make_sessionmaker(env.engine)() as db:
        swap = DutySwap(slot_id=slot_id, requested_by=env.people.leader.id, to_person_id=env.people.neighbour.id)
        db.add(swap)
        await db.commit()
        return f"/stations/{await _community_code(env, where)}/swaps/{swap.id}/decide"


async def _rota(env, where, role, suffix=""):
    return f"/stations/{await _community_code(env, where)}/rota{suffix}"


ACCESS.update({
    ("GET", "/stations/{code:str}/rota"): entry(_rota, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=403)),
    ("POST", "/stations/{code:str}/rota/fill"): entry(
        lambda e, w, r: _rota(e, w, r, "/fill"), data={"month": "2031-02"},
        answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="the community's staff (and the street) make the rota"),
    ("POST", "/stations/{code:str}/slots/{slot_id:int}/swap"): entry(
        lambda e, w, r: _slot(e, w, r, "swap"), data={"to_person_id": "1"},
        answers=expect(403, visitor=SIGNIN, leader=(422, 404), compound=(403, 404), community=(403, 404), admin=403),
        why="only the leader of the day asks for a swap (an unknown colleague is a form error)"),
    ("POST", "/stations/{code:str}/swaps/{swap_id:int}/decide"): entry(
        _swap, data={"decision": "decline"}, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303),
        why="the community's staff approve swaps"),
    ("POST", "/stations/{code:str}/slots/{slot_id:int}/checkin"): entry(
        lambda e, w, r: _today_slot(e, w, r, "checkin"),
        answers=expect(403, visitor=SIGNIN, leader=(303, 404), compound=(403, 404), community=(403, 404), admin=403),
        why="only the leader of the day, on that day"),
    ("POST", "/stations/{code:str}/slots/{slot_id:int}/log"): entry(
        lambda e, w, r: _today_slot(e, w, r, "log"), data={"requests": "矩阵"},
        answers=expect(403, visitor=SIGNIN, leader=(303, 404), compound=(403, 404), community=(403, 404), admin=403),
        why="only the leader of the day, checked in, keeps the log"),
})


async def _material(env, where, role):
    from server.training.models import TrainingMaterial

    async with make_sessionmaker(env.engine)() as db:
        material = TrainingMaterial(owner_path=env.microgrid(where).path[:16], kind="guide", title="矩阵资料", body="正文")
        db.add(material)
        await db.commit()
        return f"/training/materials/{material.id}"


async def _material_pdf(env, where, role):
    from server.training.models import TrainingMaterial, TrainingMaterialFile

    async with make_sessionmaker(env.engine)() as db:
        material = TrainingMaterial(owner_path=env.microgrid(where).path[:16], kind="policy", title="矩阵原件", body="正文",
                                    pdf_size=9)
        db.add(material)
        await db.flush()
        db.add(TrainingMaterialFile(material_id=material.id, sha256="0" * 64, data=b"%PDF-1.7\n"))
        await db.commit()
        return f"/training/materials/{material.id}/file.pdf"


ACCESS.update({
    ("GET", "/training/materials"): entry("/training/materials", answers=expect(200, visitor=SIGNIN, property=403)),
    ("GET", "/training/materials/{material_id:int}"): entry(
        _material, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=403),
        why="a community's materials are its own; the street's are everyone's"),
    ("GET", "/training/materials/{material_id:int}/file.pdf"): entry(
        _material_pdf, answers=expect((200, 404), visitor=SIGNIN, admin=200, property=403),
        why="the original of a material is read by whoever may read the material"),
    ("POST", "/training/materials"): entry(
        "/training/materials", data={"kind": "guide", "title": "矩阵资料", "body": "正文"},
        answers=expect(403, visitor=SIGNIN, community=303, admin=303),
        why="the street's office and community staff keep the library"),
})
