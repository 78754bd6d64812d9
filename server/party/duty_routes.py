"""The station's duty pages: the month's rota, swaps, check-in on the day, the duty log,
and what the leader on duty has waiting."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.clock import recent_months, today_in_china, utcnow
from server.grid.models import GridNode
from server.issues.models import Application, Issue, IssueCategory, Status
from server.issues.scope import issue_scope
from server.party import duty, queries
from server.party.models import DutyLogEntry, DutySlot, DutySwap, SwapStatus
from server.party.routes import PARTY_ROLES, may_keep_station
from server.tree import subtree_bounds
from server.validate import ascii_int, parse_id, parse_month
from server.web import render, t

WAITING_SHOWN = 10


def _form_dict(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _station(db, viewer, code):
    community = await queries.community_for(db, viewer, code)
    station = await queries.station_of(db, community)
    if station is None:
        raise NotFoundException()
    return community, station


async def _slot(db, station, slot_id: int) -> DutySlot:
    slot = await db.get(DutySlot, slot_id)
    if slot is None or slot.station_id != station.id:
        raise NotFoundException()
    return slot


async def waiting_requests(db: AsyncSession, viewer: Viewer, community: GridNode) -> tuple[int, list, int]:
    """What waits for the desk: problems not yet taken on, and analysis applications not yet answered."""
    low, high = subtree_bounds(community.path)
    where = [Issue.node_path >= low, Issue.node_path < high, issue_scope(viewer),
             Issue.status.in_((Status.reported, Status.reopened))]
    count = (await db.execute(sa.select(sa.func.count()).select_from(Issue).where(*where))).scalar_one()
    rows = (await db.execute(
        sa.select(Issue, IssueCategory.name, GridNode.name).join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id).where(*where).order_by(Issue.reported_at.desc()).limit(WAITING_SHOWN)
    )).all()
    applications = (await db.execute(sa.select(sa.func.count()).select_from(Issue).where(
        Issue.node_path >= low, Issue.node_path < high, issue_scope(viewer),
        Issue.analysis_status == Application.applied))).scalar_one()
    return count, rows, applications


class StationController(Controller):
    path = "/stations"
    guards = [signed_in]

    @get("/{code:str}/rota", name="stations.rota")
    async def show_rota(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        viewer.require_role(*PARTY_ROLES)
        community, station = await _station(db, viewer, code)
        month = parse_month(request.query_params.get("month")) or today_in_china().strftime("%Y-%m")
        return await self._page(request, db, viewer, community, station, month)

    async def _page(self, request, db, viewer, community, station, month, *, errors=None, values=None, status_code=200):
        today = today_in_china()
        days = await duty.rota(db, station, month)
        today_slot = (await db.execute(sa.select(DutySlot).where(DutySlot.station_id == station.id,
                                                                 DutySlot.day == today))).scalar_one_or_none()
        on_duty_name = (await db.get(Person, today_slot.person_id)).name if today_slot else ""
        mine_today = today_slot is not None and today_slot.person_id == viewer.person_id
        waiting = await waiting_requests(db, viewer, community) if mine_today or may_keep_station(viewer, community.path) else None
        log = await duty.log_of(db, today_slot) if today_slot is not None else []
        leaders = await duty.leaders_of(db, community.path)
        return render(request, "party/rota.html", status_code=status_code, community=community, station=station,
                      month=month, months=recent_months(3) + [_next_month(today)], days=days, today=today,
                      today_slot=today_slot, on_duty_name=on_duty_name, mine_today=mine_today, waiting=waiting,
                      log=log, leaders=leaders, may_manage=may_keep_station(viewer, community.path),
                      errors=errors or {}, values=values or {}, saved=request.query_params.get("saved") == "1",
                      tab="home", back_url=f"/party?community={community.code}")

    @post("/{code:str}/rota/fill", name="stations.fill_rota")
    async def fill_rota(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        viewer.require_role(Role.admin, Role.community)
        community, station = await _station(db, viewer, code)
        if not may_keep_station(viewer, community.path):
            raise PermissionDeniedException()
        values = _form_dict(await request.form())
        month = parse_month(values.get("month")) or today_in_china().strftime("%Y-%m")
        filled = await duty.fill_month(db, station, month)
        audit.record(db, "fill_rota", viewer=viewer, object_type="station", object_id=station.id, request=request,
                     month=month, days=filled)
        await db.commit()
        return Redirect(path=f"/stations/{community.code}/rota?month={month}&saved=1", status_code=303)

    @post("/{code:str}/slots/{slot_id:int}/swap", name="stations.request_swap")
    async def request_swap(self, request: Request, db: AsyncSession, viewer: Viewer, code: str, slot_id: int) -> Any:
        """The leader on a day asks another of the community's leaders to take it."""
        viewer.require_role(*PARTY_ROLES)
        community, station = await _station(db, viewer, code)
        slot = await _slot(db, station, slot_id)
        if slot.person_id != viewer.person_id:
            raise PermissionDeniedException(t(request, "Only the leader on this day may ask for a swap."))
        values = _form_dict(await request.form())
        month = slot.day.strftime("%Y-%m")
        to_person = parse_id(values.get("to_person_id"))
        leaders = dict(await duty.leaders_of(db, community.path))
        errors = {}
        if to_person is None or to_person not in leaders or to_person == viewer.person_id:
            errors["to_person_id"] = t(request, "Please choose another leader of the community.")
        if slot.day < today_in_china():
            errors["to_person_id"] = t(request, "This day is over.")
        if errors:
            return await self._page(request, db, viewer, community, station, month, errors=errors, values=values,
                                    status_code=422)
        db.add(DutySwap(slot_id=slot.id, requested_by=viewer.person_id, to_person_id=to_person,
                        reason=values.get("reason", "").strip()[:200]))
        await db.commit()
        return Redirect(path=f"/stations/{community.code}/rota?month={month}&saved=1", status_code=303)

    @post("/{code:str}/swaps/{swap_id:int}/decide", name="stations.decide_swap")
    async def decide_swap(self, request: Request, db: AsyncSession, viewer: Viewer, code: str, swap_id: int) -> Any:
        """The community's staff approve a swap (the day changes hands) or decline it."""
        viewer.require_role(Role.admin, Role.community)
        community, station = await _station(db, viewer, code)
        if not may_keep_station(viewer, community.path):
            raise PermissionDeniedException()
        swap = await db.get(DutySwap, swap_id)
        slot = await _slot(db, station, swap.slot_id) if swap is not None else None
        if swap is None or slot is None:
            raise NotFoundException()
        values = _form_dict(await request.form())
        if swap.status == SwapStatus.requested:
            approve = values.get("decision") == "approve"
            swap.status = SwapStatus.approved if approve else SwapStatus.declined
            swap.decided_by, swap.decided_at = viewer.person_id, utcnow()
            if approve:
                slot.person_id, slot.checked_in_at = swap.to_person_id, None
            audit.record(db, "decide_swap", viewer=viewer, object_type="duty_swap", object_id=swap.id,
                         request=request, status=swap.status)
            await db.commit()
        return Redirect(path=f"/stations/{community.code}/rota?month={slot.day.strftime('%Y-%m')}&saved=1",
                        status_code=303)

    @post("/{code:str}/slots/{slot_id:int}/checkin", name="stations.check_in")
    async def check_in(self, request: Request, db: AsyncSession, viewer: Viewer, code: str, slot_id: int) -> Any:
        """On the day, from the phone: the leader on duty is at the station."""
        viewer.require_role(*PARTY_ROLES)
        community, station = await _station(db, viewer, code)
        slot = await _slot(db, station, slot_id)
        if slot.person_id != viewer.person_id or slot.day != today_in_china():
            raise PermissionDeniedException(t(request, "Only the leader on duty today checks in."))
        if duty.check_in(slot):
            await db.commit()
        return Redirect(path=f"/stations/{community.code}/rota?saved=1#today", status_code=303)

    @post("/{code:str}/slots/{slot_id:int}/log", name="stations.write_log")
    async def write_log(self, request: Request, db: AsyncSession, viewer: Viewer, code: str, slot_id: int) -> Any:
        viewer.require_role(*PARTY_ROLES)
        community, station = await _station(db, viewer, code)
        slot = await _slot(db, station, slot_id)
        if slot.person_id != viewer.person_id or slot.checked_in_at is None:
            raise PermissionDeniedException(t(request, "Only the leader on duty, checked in, keeps the duty log."))
        values = _form_dict(await request.form())
        requests_text = values.get("requests", "").strip()[:1000]
        done = values.get("done", "").strip()[:1000]
        visitors = ascii_int(values.get("visitors") or "0", 0, 999)
        errors = {}
        if visitors is None:
            errors["visitors"] = t(request, "Please enter a whole number.")
        if not requests_text and not done:
            errors["requests"] = t(request, "Please fill this in.")
        if errors:
            return await self._page(request, db, viewer, community, station, slot.day.strftime("%Y-%m"),
                                    errors=errors, values=values, status_code=422)
        db.add(DutyLogEntry(slot_id=slot.id, person_id=viewer.person_id, visitors=visitors, requests=requests_text,
                            done=done))
        await db.commit()
        return Redirect(path=f"/stations/{community.code}/rota?saved=1#today", status_code=303)


def _next_month(today) -> str:
    return f"{today.year + (today.month == 12):04d}-{today.month % 12 + 1:02d}"


DUTY_HANDLERS = [StationController]
