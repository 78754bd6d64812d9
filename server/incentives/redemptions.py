"""Rewards: the street's catalogue, a leader's request, the community's approval, the hand-over.

A redemption's status is a fold over its events, like a problem's (server/issues/state.py):

    request ─→ requested ─ approve ─→ approved ─ hand_over ─→ handed_over
                   └────── refuse ─→ refused ←─ refuse ─┘

Asking holds the points and one item at once: a `redemption` entry of minus the price in
the points ledger, and the stock one lower. Refusing gives both back (a reversing entry,
never a delete). The request takes the leader's account row and the item's row FOR UPDATE
(ledger.lock_account), so two requests at once are served one after the other and the
balance can never go below zero, nor the stock.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import month_of, utcnow
from server.i18n import N_
from server.incentives import ledger
from server.incentives.models import (PointsEntry, Redemption, RedemptionEvent, RedemptionStatus, RewardItem)

STATUS_LABELS = {
    RedemptionStatus.requested: N_("Waiting for approval"),
    RedemptionStatus.approved: N_("Approved: to be handed over"),
    RedemptionStatus.handed_over: N_("Handed over"),
    RedemptionStatus.refused: N_("Not approved"),
}
# kind -> (statuses it may act on, status after)
STEPS = {
    "approve": ({RedemptionStatus.requested}, RedemptionStatus.approved),
    "refuse": ({RedemptionStatus.requested, RedemptionStatus.approved}, RedemptionStatus.refused),
    "hand_over": ({RedemptionStatus.approved}, RedemptionStatus.handed_over),
}


class RewardProblem(Exception):
    """Why a request or a step was refused: a message id for the page."""


def fold(kinds: Iterable[str]) -> str:
    """The status after these events, in order; a step not valid at its place changes nothing."""
    status = RedemptionStatus.requested
    for kind in kinds:
        allowed, after = STEPS.get(kind, (set(), status))
        if status in allowed:
            status = after
    return status.value


async def request_reward(db: AsyncSession, *, person_id: int, item_id: int, grid_path: str) -> Redemption:
    """Hold the points and one item for this leader (the caller commits)."""
    await ledger.lock_account(db, person_id)
    item = (await db.execute(sa.select(RewardItem).where(RewardItem.id == item_id).with_for_update())).scalar_one_or_none()
    if item is None or not item.active:
        raise RewardProblem(N_("This reward is no longer offered."))
    if item.stock <= 0:
        raise RewardProblem(N_("This reward is out of stock."))
    if await ledger.balance(db, person_id) < item.points:
        raise RewardProblem(N_("Not enough points for this reward."))
    now = utcnow()
    redemption = Redemption(id=str(uuid.uuid4()), person_id=person_id, item_id=item.id, points=item.points,
                            grid_path=grid_path, requested_at=now)
    db.add(redemption)
    await db.flush()
    db.add(RedemptionEvent(id=str(uuid.uuid4()), redemption_id=redemption.id, kind="request", actor_id=person_id, at=now))
    db.add(PointsEntry(id=str(uuid.uuid4()), person_id=person_id, points=-item.points, kind="redemption", rule="",
                       source_type="reward", source_id=redemption.id, grid_path=grid_path, at=now, month=month_of(now),
                       reason=item.name, created_by=person_id))
    await db.execute(sa.update(RewardItem).where(RewardItem.id == item.id).values(stock=RewardItem.stock - 1))
    await db.flush()
    await ledger.credit(db, {person_id: -item.points})
    return redemption


async def step(db: AsyncSession, redemption: Redemption, kind: str, *, actor_id: int, note: str = "") -> str:
    """Approve, refuse or hand over; refusing gives the points and the item back."""
    await ledger.lock_account(db, redemption.person_id)
    kinds = list((await db.execute(sa.select(RedemptionEvent.kind).where(RedemptionEvent.redemption_id == redemption.id)
                                   .order_by(RedemptionEvent.at, RedemptionEvent.id))).scalars())
    before = fold(kinds)
    allowed, _ = STEPS[kind]
    if before not in allowed:
        raise RewardProblem(N_("This request has moved on already."))
    now = utcnow()
    db.add(RedemptionEvent(id=str(uuid.uuid4()), redemption_id=redemption.id, kind=kind, actor_id=actor_id, note=note[:200],
                           at=now))
    redemption.status = fold([*kinds, kind])
    if kind == "refuse":
        held = (await db.execute(sa.select(PointsEntry.id).where(
            PointsEntry.source_type == "reward", PointsEntry.source_id == redemption.id, PointsEntry.points < 0))).scalar()
        db.add(PointsEntry(id=str(uuid.uuid4()), person_id=redemption.person_id, points=redemption.points, kind="reversal",
                           source_type="reward", source_id=redemption.id, grid_path=redemption.grid_path, at=now,
                           month=month_of(now), reverses_id=held, reason=note[:200], created_by=actor_id))
        await db.execute(sa.update(RewardItem).where(RewardItem.id == redemption.item_id).values(stock=RewardItem.stock + 1))
        await db.flush()
        await ledger.credit(db, {redemption.person_id: redemption.points})
    await db.flush()
    return redemption.status


@dataclass
class RequestRow:
    redemption: Redemption
    item_name: str
    person_name: str


async def requests_for(db: AsyncSession, scope_clause, *, person_id: int | None = None, limit: int = 100) -> list[RequestRow]:
    from server.accounts.models import Person

    where = [scope_clause(Redemption.grid_path)] if person_id is None else [Redemption.person_id == person_id]
    rows = await db.execute(
        sa.select(Redemption, RewardItem.name, Person.name).join(RewardItem, RewardItem.id == Redemption.item_id)
        .join(Person, Person.id == Redemption.person_id).where(*where)
        .order_by(sa.case((Redemption.status == RedemptionStatus.requested.value, 0),
                          (Redemption.status == RedemptionStatus.approved.value, 1), else_=2),
                  Redemption.requested_at.desc()).limit(limit))
    return [RequestRow(r, item, name) for r, item, name in rows]
