"""Reads of door-to-door work: the worklist and the tallies, every one scoped."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone


import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import CHINA, aware
from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer, bound_subtree_clause
from server.grid.models import GridNode, Household, active_household, care_rank
from server.sync.models import Photo
from server.visits.models import Visit, WorkKind, WorkLogEntry

# Months are the street's months, not UTC's: a visit at 07:00 on the 1st in Dayi counts there.
LOCAL = CHINA


def month_start(now: datetime | None = None) -> datetime:
    local = (now or datetime.now(timezone.utc)).astimezone(LOCAL)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


_NUMBER = re.compile(r"(\d+)")
# An address ending in a room number ("3栋2单元1203室", "1组12号"): what comes before it and the number.
_ROOM = re.compile(r"^(?P<place>.*?)(?P<room>\d+)\s*[室号户]?$")


def natural_key(address: str) -> tuple:
    """Building, unit, floor, room as people count them: 2栋 before 10栋, 101, 102, 201 … 1001."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBER.split(address) if part)


def floor_of(address: str) -> tuple[str, int | None]:
    """(the place before the room, the floor) for a heading: "3栋2单元", 12 from "3栋2单元1203室".

    Rooms under 100 have no floor (a settlement's "1组12号"): the heading is the place alone.
    """
    match = _ROOM.match(address.strip())
    if not match:
        return address, None
    room = int(match.group("room"))
    return match.group("place"), (room // 100 if room >= 100 else None)


CARE_FIRST_RANKS = 1  # only the first of CARE_PRIORITY (elderly living alone) goes on top


@dataclass
class WorkRow:
    household: sa.Row  # the columns the worklist shows (WORKLIST_COLUMNS), not an ORM object
    last_visit: datetime | None
    visited_this_month: bool
    floor: tuple[str, int | None]  # floor_of(address): the heading it walks under, worked out once


@dataclass
class Worklist:
    microgrids: list[GridNode]
    rows_by_microgrid: dict[int, list[WorkRow]]
    total: int
    unvisited: int
    backup_ids: frozenset[int] = frozenset()  # micro-grids held as B岗 (代管): listed after her own

    @property
    def priority(self) -> list[WorkRow]:
        """Unvisited households that need care most (独居老人 first): named on top, then walked in order."""
        rows = [r for rows in self.rows_by_microgrid.values() for r in rows
                if not r.visited_this_month and care_rank(r.household.care_tags) < CARE_FIRST_RANKS]
        return sorted(rows, key=lambda r: (care_rank(r.household.care_tags), natural_key(r.household.address)))[:10]

    @property
    def own(self) -> list[GridNode]:
        return [m for m in self.microgrids if m.id not in self.backup_ids]

    @property
    def backup(self) -> list[GridNode]:
        return [m for m in self.microgrids if m.id in self.backup_ids]


def backup_microgrid_ids(viewer: Viewer) -> frozenset[int]:
    """Micro-grids this person leads only as B岗 (the backup of a neighbour's grid)."""
    own = {p.node_id for p in viewer.posts if p.role == Role.leader and p.post_kind != "B"}
    return frozenset(p.node_id for p in viewer.posts if p.role == Role.leader and p.post_kind == "B" and p.node_id not in own)


async def leader_microgrids(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """The micro-grids where this person holds a leader post: her A-post grids first, then B (代管)."""
    node_ids = [p.node_id for p in viewer.posts if p.role == Role.leader]
    if not node_ids:
        return []
    backup = backup_microgrid_ids(viewer)
    rows = await db.execute(sa.select(GridNode).where(GridNode.id.in_(node_ids)).order_by(GridNode.path))
    return sorted(rows.scalars(), key=lambda m: (m.id in backup, natural_key(m.name), m.path))


@lru_cache(maxsize=16)
def _worklist_households(roots: int) -> sa.Select:
    """Built once per number of scope roots (issue 15); the bounds come from viewer.subtree_params()."""
    return sa.select(Household.id, Household.microgrid_id, Household.address, Household.head_name,
                     Household.care_tags).where(
        Household.microgrid_id.in_(sa.bindparam("microgrid_ids", expanding=True)),
        bound_subtree_clause(Household.grid_path, roots), active_household())


_LAST_VISITS = (sa.select(Visit.household_id, sa.func.max(Visit.visited_at))
                .where(Visit.household_id.in_(sa.bindparam("household_ids", expanding=True)))
                .group_by(Visit.household_id))


async def worklist(db: AsyncSession, viewer: Viewer, now: datetime | None = None) -> Worklist:
    """The leader's households in the order she walks them: building, unit, floor, room (issue 13)."""
    microgrids = await leader_microgrids(db, viewer)
    if not microgrids:
        return Worklist([], {}, 0, 0, backup_microgrid_ids(viewer))
    ids = [m.id for m in microgrids]
    connection = await db.connection()  # plain rows: a leader's 100-odd households without ORM objects
    households = (await connection.execute(
        _worklist_households(len(viewer.grid_paths)), {"microgrid_ids": ids, **viewer.subtree_params()}
    )).all()
    last = dict((await connection.execute(_LAST_VISITS, {"household_ids": [h.id for h in households]})).all()) \
        if households else {}
    start = month_start(now)
    rows_by: dict[int, list[WorkRow]] = {m.id: [] for m in microgrids}
    unvisited = 0
    for h in households:
        last_visit = aware(last.get(h.id))
        this_month = last_visit is not None and last_visit >= start
        unvisited += not this_month
        rows_by[h.microgrid_id].append(WorkRow(h, last_visit, this_month, floor_of(h.address)))
    for rows in rows_by.values():
        rows.sort(key=lambda r: (natural_key(r.household.address), r.household.id))
    return Worklist(microgrids, rows_by, len(households), unvisited, backup_microgrid_ids(viewer))


async def household_visits(db: AsyncSession, household: Household, limit: int = 10) -> list[tuple[Visit, str, list]]:
    """The latest visits, who made them, and their photos' ids."""
    rows = [tuple(r) for r in await db.execute(
        sa.select(Visit, Person.name).join(Person, Person.id == Visit.person_id)
        .where(Visit.household_id == household.id).order_by(Visit.visited_at.desc()).limit(limit)
    )]
    photos: dict = {}
    if rows:
        for photo_id, record_id in await db.execute(
            sa.select(Photo.id, Photo.record_id).where(Photo.record_id.in_([v.id for v, _ in rows])).order_by(Photo.received_at)
        ):
            photos.setdefault(record_id, []).append(photo_id)
    return [(visit, name, photos.get(visit.id, [])) for visit, name in rows]


COUNTED = ("visits", WorkKind.errand.value, WorkKind.mediation.value, WorkKind.hazard_check.value)


@dataclass
class Tally:
    """One leader's counts, as in the article: errands / mediations / hazard checks, and visits."""

    person_id: int
    name: str = ""
    this_month: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)


def _month_key(column, dialect: str):
    # Months in China time; the conversion differs per database.
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


async def tallies(db: AsyncSession, person_ids: list[int], now: datetime | None = None) -> dict[int, Tally]:
    """Counts per person, per month and in total: two grouped queries whatever the number of people."""
    if not person_ids:
        return {}
    dialect = db.bind.dialect.name
    current = (now or datetime.now(timezone.utc)).astimezone(LOCAL).strftime("%Y-%m")
    result = {pid: Tally(pid) for pid in person_ids}
    visit_month = _month_key(Visit.visited_at, dialect)
    work_month = _month_key(WorkLogEntry.done_at, dialect)
    visit_rows = await db.execute(
        sa.select(Visit.person_id, visit_month, sa.func.count())
        .where(Visit.person_id.in_(person_ids)).group_by(Visit.person_id, visit_month)
    )
    work_rows = await db.execute(
        sa.select(WorkLogEntry.person_id, WorkLogEntry.kind, work_month, sa.func.count())
        .where(WorkLogEntry.person_id.in_(person_ids)).group_by(WorkLogEntry.person_id, WorkLogEntry.kind, work_month)
    )
    entries = [(pid, "visits", month, n) for pid, month, n in visit_rows] + [tuple(r) for r in work_rows]
    for pid, kind, month, n in entries:
        tally = result[pid]
        tally.total[kind] += n
        tally.by_month.setdefault(month, dict.fromkeys(COUNTED, 0))[kind] += n
        if month == current:
            tally.this_month[kind] += n
    for tally in result.values():
        tally.by_month = dict(sorted(tally.by_month.items(), reverse=True))
    return result


def _leader_posts(viewer: Viewer) -> list:
    return [Post.role == Role.leader, current_post(), viewer.subtree_clause(Post.node_path)]


async def leaders_under(db: AsyncSession, viewer: Viewer, limit: int = 50, offset: int = 0) -> list[tuple[Person, GridNode]]:
    """Leaders (A and B posts) whose micro-grid lies in the viewer's part of the grid, a page at a time
    in the grid's order (a street has 1,352: no page lists them all)."""
    rows = await db.execute(
        sa.select(Person, GridNode)
        .join(Post, Post.person_id == Person.id)
        .join(GridNode, GridNode.id == Post.node_id)
        .where(*_leader_posts(viewer))
        .order_by(GridNode.path, Post.post_kind, Person.id)
        .limit(limit).offset(offset)
    )
    return [tuple(r) for r in rows]


async def count_leaders_under(db: AsyncSession, viewer: Viewer) -> int:
    return (await db.execute(sa.select(sa.func.count()).select_from(Post).where(*_leader_posts(viewer)))).scalar() or 0


async def recent_work(db: AsyncSession, person_id: int, limit: int = 20) -> list[WorkLogEntry]:
    rows = await db.execute(
        sa.select(WorkLogEntry).where(WorkLogEntry.person_id == person_id)
        .order_by(WorkLogEntry.done_at.desc()).limit(limit)
    )
    return list(rows.scalars())
