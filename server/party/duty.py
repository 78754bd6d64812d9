"""The station's duty rota (值班): a leader per day, swaps, check-in, the duty log.

The community's staff fill a month with the community's micro-grid leaders in turn (and
change a day by hand); a leader asks someone else to take their day and the staff
approve it; on the day the leader checks in from the phone and keeps the duty log. The
leader who has checked in is "the leader on duty" the seed names: the one who files
joint-analysis applications (server/issues/service.py asks `on_duty`).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.clock import utcnow
from server.party.models import DutyLogEntry, DutySlot, DutySwap, ServiceStation, SwapStatus
from server.tree import COMMUNITY_LEN, subtree_bounds



def month_days(month: str) -> list[date]:
    year, mon = int(month[:4]), int(month[5:7])
    return [date(year, mon, d) for d in range(1, calendar.monthrange(year, mon)[1] + 1)]


async def on_duty(db: AsyncSession, person_id: int, path: str, day: date) -> bool:
    """Has this person checked in on duty on `day` at the station of the community holding `path`?"""
    found = await db.execute(
        sa.select(DutySlot.id).where(DutySlot.person_id == person_id, DutySlot.day == day,
                                     DutySlot.community_path == path[:COMMUNITY_LEN],
                                     DutySlot.checked_in_at.is_not(None)).limit(1)
    )
    return found.first() is not None


async def leaders_of(db: AsyncSession, community_path: str) -> list[tuple[int, str]]:
    """(person id, name) of the community's micro-grid leaders (A posts first), each once."""
    low, high = subtree_bounds(community_path)
    rows = await db.execute(
        sa.select(Person.id, Person.name).join(Post, Post.person_id == Person.id)
        .where(Post.node_path >= low, Post.node_path < high, Post.role == Role.leader, current_post(), Person.active)
        .order_by(Post.post_kind, Post.node_path, Person.id)
    )
    seen: dict[int, str] = {}
    for person_id, name in rows:
        seen.setdefault(person_id, name)
    return list(seen.items())


async def fill_month(db: AsyncSession, station: ServiceStation, month: str) -> int:
    """Give every day of `month` that has no one a leader, in turn; returns how many days were filled."""
    leaders = await leaders_of(db, station.community_path)
    if not leaders:
        return 0
    days = month_days(month)
    taken = set((await db.execute(
        sa.select(DutySlot.day).where(DutySlot.station_id == station.id, DutySlot.day >= days[0], DutySlot.day <= days[-1])
    )).scalars())
    filled = 0
    for i, day in enumerate(days):
        if day not in taken:
            db.add(DutySlot(station_id=station.id, community_path=station.community_path, day=day,
                            person_id=leaders[(i + days[0].month) % len(leaders)][0]))
            filled += 1
    return filled


@dataclass
class RotaDay:
    slot: DutySlot
    name: str
    swaps: list[tuple[DutySwap, str]]  # waiting swaps of this day, with the name asked to take it


async def rota(db: AsyncSession, station: ServiceStation, month: str) -> list[RotaDay]:
    days = month_days(month)
    slots = (await db.execute(
        sa.select(DutySlot, Person.name).join(Person, Person.id == DutySlot.person_id)
        .where(DutySlot.station_id == station.id, DutySlot.day >= days[0], DutySlot.day <= days[-1])
        .order_by(DutySlot.day)
    )).all()
    ids = [slot.id for slot, _ in slots]
    swaps: dict[int, list] = {}
    if ids:
        for swap, name in (await db.execute(
            sa.select(DutySwap, Person.name).join(Person, Person.id == DutySwap.to_person_id)
            .where(DutySwap.slot_id.in_(ids), DutySwap.status == SwapStatus.requested).order_by(DutySwap.id)
        )).all():
            swaps.setdefault(swap.slot_id, []).append((swap, name))
    return [RotaDay(slot, name, swaps.get(slot.id, [])) for slot, name in slots]


async def log_of(db: AsyncSession, slot: DutySlot) -> list[DutyLogEntry]:
    return list((await db.execute(sa.select(DutyLogEntry).where(DutyLogEntry.slot_id == slot.id)
                                  .order_by(DutyLogEntry.at))).scalars())


def check_in(slot: DutySlot) -> bool:
    """Mark the slot checked in (once); False when it already was."""
    if slot.checked_in_at is not None:
        return False
    slot.checked_in_at = utcnow()
    return True
