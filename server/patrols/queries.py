"""Reads for patrols: who may patrol where, which checklist applies, the calendar, history.

Who patrols a compound: staff whose part of the grid holds it (community staff, the
compound's grid worker, the street), and the micro-grid leaders of the micro-grids inside
it (a leader's own subtree is only their micro-grid, but the monthly patrol is of their
whole compound). Anyone else gets 404, as everywhere else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Level
from server.tree import SEGMENT, in_subtree
from server.clock import recent_months, today_in_china
from server.issues.models import Issue, IssueCategory
from server.patrols.models import RURAL, Patrol, PatrolAnswer, PatrolItem, PatrolTemplate, PatrolTemplateVersion, Result

PATROL_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)
TEMPLATE_ROLES = (Role.admin, Role.community)
COMPOUND_LEN = 3 * SEGMENT  # street, community, compound
# This month's patrol is due by this day; after it, a compound without one is overdue.
DUE_DAY = 20
CALENDAR_MONTHS = 6
TREND_MONTHS = 12
# An item failing this often in the last REPEAT_MONTHS goes on the joint-analysis list.
REPEAT_FAILURES = 2
REPEAT_MONTHS = 6


# ---------------------------------------------------------------- scope

def leader_compound_paths(viewer: Viewer) -> set[str]:
    """Compounds holding one of the viewer's micro-grids (leaders patrol their compound)."""
    return {p.path[:COMPOUND_LEN] for p in viewer.posts if p.role == Role.leader and len(p.path) > COMPOUND_LEN}


def can_patrol(viewer: Viewer, compound: GridNode) -> bool:
    if compound.level != Level.compound:
        return False
    staff_paths = [p.path for p in viewer.posts if p.role in (Role.admin, Role.community, Role.compound)]
    return any(compound.path.startswith(path) for path in staff_paths) or compound.path in leader_compound_paths(viewer)


def patrol_clause(viewer: Viewer, column) -> sa.ColumnElement[bool]:
    """Rows (patrols, answers, compounds) whose compound path the viewer may patrol."""
    clauses = []
    staff_paths = sorted({p.path for p in viewer.posts if p.role in (Role.admin, Role.community, Role.compound)})
    clauses += [in_subtree(column, path) for path in staff_paths]
    if leader_paths := leader_compound_paths(viewer):
        clauses.append(column.in_(sorted(leader_paths)))
    if not clauses:
        return sa.false()
    return sa.or_(*clauses) if len(clauses) > 1 else clauses[0]


async def get_compound_for(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or not can_patrol(viewer, node):
        raise NotFoundException()
    return node


async def get_patrol_for(db: AsyncSession, viewer: Viewer, patrol_id: str) -> tuple[Patrol, GridNode]:
    patrol = await db.get(Patrol, patrol_id) if len(patrol_id) == 36 else None
    compound = await db.get(GridNode, patrol.compound_id) if patrol else None
    if patrol is None or compound is None or not can_patrol(viewer, compound):
        raise NotFoundException()
    return patrol, compound


async def compounds_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    rows = await db.execute(
        sa.select(GridNode).where(GridNode.level == Level.compound, patrol_clause(viewer, GridNode.path))
        .order_by(GridNode.path)
    )
    return list(rows.scalars())


# ---------------------------------------------------------------- templates

async def template_for(db: AsyncSession, compound_path: str, compound_kind: str | None = None) -> PatrolTemplate:
    """The checklist a compound uses: its community's own, else the street-wide default. A rural
    settlement (散居林盘) uses the nearest template that keeps a settlements' checklist
    (`version_for`), so a community's own estate checklist does not take it from them."""
    owners = [""] + [compound_path[:i] for i in range(SEGMENT, len(compound_path) + 1, SEGMENT)]
    rows = (await db.execute(sa.select(PatrolTemplate).where(PatrolTemplate.owner_path.in_(owners)))).scalars().all()
    if not rows:
        raise NotFoundException("No patrol checklist is set up")
    if compound_kind == RURAL and any(t.rural_version_id for t in rows):
        rows = [t for t in rows if t.rural_version_id]
    return max(rows, key=lambda t: len(t.owner_path))


async def version_items(db: AsyncSession, version_id: int) -> list[PatrolItem]:
    rows = await db.execute(
        sa.select(PatrolItem).where(PatrolItem.version_id == version_id).order_by(PatrolItem.sort_order, PatrolItem.id)
    )
    return list(rows.scalars())


def sections(items: list[PatrolItem]) -> list[tuple[str, list[PatrolItem]]]:
    """Items grouped by section, in checklist order."""
    grouped: dict[str, list[PatrolItem]] = {}
    for item in items:
        grouped.setdefault(item.section, []).append(item)
    return list(grouped.items())


async def versions_of(db: AsyncSession, template: PatrolTemplate) -> list[tuple[PatrolTemplateVersion, int, int]]:
    """Each version with its item count and how many patrols used it, newest first."""
    items = sa.select(sa.func.count()).where(PatrolItem.version_id == PatrolTemplateVersion.id).scalar_subquery()
    used = sa.select(sa.func.count()).where(Patrol.version_id == PatrolTemplateVersion.id).scalar_subquery()
    rows = await db.execute(
        sa.select(PatrolTemplateVersion, items, used).where(PatrolTemplateVersion.template_id == template.id)
        .order_by(PatrolTemplateVersion.number.desc())
    )
    return [tuple(row) for row in rows]


async def templates_for(db: AsyncSession, viewer: Viewer) -> list[tuple[PatrolTemplate, bool]]:
    """Templates that concern the viewer, each with whether they may edit it: the street-wide
    default (edited by the street) and their communities' own."""
    rows = (await db.execute(sa.select(PatrolTemplate).order_by(PatrolTemplate.owner_path))).scalars().all()
    return [(t, may_edit_template(viewer, t)) for t in rows
            if not t.owner_path or may_edit_template(viewer, t)]


def may_edit_template(viewer: Viewer, template: PatrolTemplate) -> bool:
    if viewer.is_admin:
        return True
    return bool(template.owner_path) and any(
        p.role == Role.community and template.owner_path.startswith(p.path) for p in viewer.posts
    )


async def categories_by_code(db: AsyncSession) -> dict[str, IssueCategory]:
    rows = await db.execute(sa.select(IssueCategory).order_by(IssueCategory.sort_order, IssueCategory.id))
    return {c.code: c for c in rows.scalars()}


# ---------------------------------------------------------------- months

def month_key(day: date) -> str:
    return day.strftime("%Y-%m")


def months_back(n: int, today: date | None = None) -> list[str]:
    """The last n months, oldest first, ending with this one (China time)."""
    return recent_months(n, today)[::-1]


# ---------------------------------------------------------------- calendar

@dataclass
class CalendarRow:
    compound: GridNode
    community: str
    # month -> (patrols that month, pass rate of the latest or None)
    cells: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    state: str = "due"  # done | due | overdue (this month)


async def calendar(db: AsyncSession, viewer: Viewer, today: date | None = None) -> tuple[list[str], list[CalendarRow]]:
    today = today or today_in_china()
    months = months_back(CALENDAR_MONTHS, today)
    compounds = await compounds_for(db, viewer)
    names = dict((await db.execute(
        sa.select(GridNode.path, GridNode.name).where(GridNode.level == Level.community)
    )).all())
    stats = await db.execute(
        sa.select(Patrol.compound_id, Patrol.month, sa.func.count(), sa.func.sum(Patrol.pass_count),
                  sa.func.sum(Patrol.fail_count))
        .where(Patrol.month >= months[0], patrol_clause(viewer, Patrol.compound_path))
        .group_by(Patrol.compound_id, Patrol.month)
    )
    by_compound: dict[int, dict[str, tuple[int, float | None]]] = {}
    for compound_id, month, count, passed, failed in stats:
        judged = (passed or 0) + (failed or 0)
        by_compound.setdefault(compound_id, {})[month] = (count, (passed or 0) / judged if judged else None)
    this_month = months[-1]
    rows = []
    for compound in compounds:
        cells = by_compound.get(compound.id, {})
        if this_month in cells:
            state = "done"
        elif today.day > DUE_DAY:
            state = "overdue"
        else:
            state = "due"
        rows.append(CalendarRow(compound, names.get(compound.path[:2 * SEGMENT], ""), cells, state))
    return months, rows


# ---------------------------------------------------------------- history and trends

async def patrols_of(db: AsyncSession, compound: GridNode, limit: int = 24) -> list[Patrol]:
    rows = await db.execute(
        sa.select(Patrol).where(Patrol.compound_id == compound.id)
        .order_by(Patrol.patrolled_at.desc(), Patrol.id).limit(limit)
    )
    return list(rows.scalars())


@dataclass
class MonthRate:
    month: str
    passed: int
    failed: int

    @property
    def rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None


async def monthly_rates(db: AsyncSession, compound: GridNode, today: date | None = None) -> list[MonthRate]:
    months = months_back(TREND_MONTHS, today)
    rows = dict((month, (p, f)) for month, p, f in (await db.execute(
        sa.select(Patrol.month, sa.func.sum(Patrol.pass_count), sa.func.sum(Patrol.fail_count))
        .where(Patrol.compound_id == compound.id, Patrol.month >= months[0])
        .group_by(Patrol.month)
    )).all())
    return [MonthRate(m, int(rows.get(m, (0, 0))[0] or 0), int(rows.get(m, (0, 0))[1] or 0)) for m in months]


@dataclass
class RepeatedFailure:
    key: str
    title: str
    section: str
    failures: int
    months: list[str]
    category_code: str = ""
    issue: Issue | None = None  # the latest problem made from it, if any


async def repeated_failures(db: AsyncSession, compound: GridNode, today: date | None = None,
                            threshold: int = REPEAT_FAILURES) -> list[RepeatedFailure]:
    """Items that failed in at least `threshold` patrols lately: the joint-analysis list."""
    since = months_back(REPEAT_MONTHS, today)[0]
    rows = (await db.execute(
        sa.select(PatrolAnswer.item_key, PatrolAnswer.month, PatrolItem.title, PatrolItem.section,
                  PatrolItem.category_code, Issue)
        .join(PatrolItem, PatrolItem.id == PatrolAnswer.item_id)
        .outerjoin(Issue, Issue.id == PatrolAnswer.issue_id)
        .where(PatrolAnswer.compound_path == compound.path, PatrolAnswer.result == Result.failed,
               PatrolAnswer.month >= since)
        .order_by(PatrolAnswer.month, Issue.reported_at)
    )).all()
    found: dict[str, RepeatedFailure] = {}
    for key, month, title, section, category_code, issue in rows:
        entry = found.setdefault(key, RepeatedFailure(key, title, section, 0, []))
        entry.failures += 1
        entry.title, entry.section, entry.category_code = title, section, category_code  # the latest wording
        if issue is not None:
            entry.issue = issue
        if month not in entry.months:
            entry.months.append(month)
    repeated = [f for f in found.values() if f.failures >= threshold]
    return sorted(repeated, key=lambda f: (-f.failures, f.key))


# ---------------------------------------------------------------- one patrol

@dataclass
class AnswerRow:
    answer: PatrolAnswer
    item: PatrolItem
    issue: Issue | None


async def answers_of(db: AsyncSession, patrol: Patrol) -> list[AnswerRow]:
    rows = await db.execute(
        sa.select(PatrolAnswer, PatrolItem, Issue)
        .join(PatrolItem, PatrolItem.id == PatrolAnswer.item_id)
        .outerjoin(Issue, Issue.id == PatrolAnswer.issue_id)
        .where(PatrolAnswer.patrol_id == patrol.id)
        .order_by(PatrolAnswer.sort_order, PatrolItem.sort_order)
    )
    return [AnswerRow(*row) for row in rows]


async def recheck_list(db: AsyncSession, compound: GridNode, before: Patrol | None = None) -> tuple[Patrol | None, list[AnswerRow]]:
    """The compound's previous patrol and its failures that became problems: this patrol re-checks them.

    Failures fixed on the spot are done with (unless one was since put on the joint-analysis
    list, which makes it a problem); the others are looked at again, with the state their
    problem has reached in the ledger.
    """
    query = sa.select(Patrol).where(Patrol.compound_id == compound.id)
    if before is not None:
        query = query.where(sa.or_(Patrol.patrolled_at < before.patrolled_at,
                                   sa.and_(Patrol.patrolled_at == before.patrolled_at, Patrol.id < before.id)))
    last = (await db.execute(query.order_by(Patrol.patrolled_at.desc(), Patrol.id.desc()).limit(1))).scalar_one_or_none()
    if last is None:
        return None, []
    rows = [r for r in await answers_of(db, last)
            if r.answer.result == Result.failed and (r.issue is not None or not r.answer.fixed_on_spot)]
    return last, rows


async def roster_of(db: AsyncSession, compound: GridNode) -> list[tuple[Person, Post]]:
    """People who may take part: posts on the compound or inside it, its community's staff,
    and the staff of the compound's property company."""
    community_path = compound.path[:2 * SEGMENT]
    clauses = [
        sa.and_(Post.node_path >= compound.path, Post.node_path < compound.path + ":",
                Post.role.in_([Role.compound, Role.leader])),
        sa.and_(Post.node_path == community_path, Post.role == Role.community),
    ]
    if compound.property_company_id:
        clauses.append(sa.and_(Post.role == Role.property, Post.company_id == compound.property_company_id))
    rows = (await db.execute(
        sa.select(Person, Post).join(Post, Post.person_id == Person.id)
        .where(Person.active, current_post(), sa.or_(*clauses)).order_by(Post.role, Post.node_path, Person.id)
    )).all()
    seen: set[int] = set()
    out = []
    for person, post in rows:
        if person.id not in seen:
            seen.add(person.id)
            out.append((person, post))
    return out



async def answer_grid(db: AsyncSession, patrols: list[Patrol]) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str]]]:
    """patrol id -> {item key: result}, and every item key seen (key, section, title), in checklist order."""
    if not patrols:
        return {}, []
    rows = (await db.execute(
        sa.select(PatrolAnswer.patrol_id, PatrolAnswer.item_key, PatrolAnswer.result, PatrolItem.section,
                  PatrolItem.title, PatrolItem.sort_order)
        .join(PatrolItem, PatrolItem.id == PatrolAnswer.item_id)
        .where(PatrolAnswer.patrol_id.in_([p.id for p in patrols]))
    )).all()
    grid: dict[str, dict[str, str]] = {}
    items: dict[str, tuple[int, str, str]] = {}
    for patrol_id, key, result, section, title, order in rows:
        grid.setdefault(patrol_id, {})[key] = result
        items.setdefault(key, (order, section, title))
    ordered = sorted(items.items(), key=lambda kv: (kv[1][0], kv[0]))
    return grid, [(key, section, title) for key, (_order, section, title) in ordered]
