"""Reads of the ledger: the filtered list, counts, rates, agendas. Every one scoped.

The ledger filters on cached columns of `issue` (status, deadline, month...) that the
fold keeps up to date, so the page never reads the event log; each filter is a range on
an indexed path column plus equality on an indexed column.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Level, PropertyCompany
from server.tree import COMMUNITY_LEN, SEGMENT, ancestor_paths, subtree_bounds
from server.issues.models import (
    Application,
    OPEN_STATUSES, SETTLED_STATUSES, EventKind, Issue, IssueCategory, IssueEvent, IssueMeeting, Source, Status,
)
from server.clock import today_in_china
from server.issues.scope import issue_scope
from server.validate import ascii_int, parse_id, parse_month

PAGE_SIZE = 50
COMPOUND_LEN = 3 * SEGMENT
# A category is "recurring" in a compound when this many problems came up there lately.
RECURRING_COUNT = 3
RECURRING_DAYS = 90


# 待交办: the statuses an assignment starts from (state.py ALLOWED[assign], less a re-assignment).
TO_ASSIGN_STATUSES = (Status.reported, Status.reopened)


@dataclass
class Filters:
    node: str = ""  # grid code of the subtree
    status: str = ""
    category: int | None = None
    overdue: bool = False
    month: str = ""  # YYYY-MM
    source: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Any) -> "Filters":
        def one(name: str) -> str:
            value = params.get(name) if hasattr(params, "get") else None
            return str(value or "").strip()[:40]
        page = ascii_int(one("page"), 1)
        return cls(
            node=one("node"),
            status=one("status") if one("status") in {s.value for s in Status} | {"open", "settled", "to_assign"} else "",
            category=parse_id(one("category")),
            overdue=one("overdue") in ("1", "on", "true"),
            month=parse_month(one("month")),
            source=one("source") if one("source") in {s.value for s in Source} else "",
            page=min(page, 1000) if page else 1,
        )

    def query(self, **override: Any) -> str:
        """The filters as a query string (for links and the export)."""
        from urllib.parse import urlencode

        values = {"node": self.node, "status": self.status, "category": self.category or "",
                  "overdue": "1" if self.overdue else "", "month": self.month, "source": self.source}
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, False)})


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def unindexed(column):
    """The same values, but no index applies (`col || ''`): steers both SQLite and
    PostgreSQL to walk the newest-first index instead when most rows match anyway."""
    return column.op("||")("")


def conditions(viewer: Viewer, filters: Filters, root: GridNode | None, today: date | None = None,
               *, walk: bool = False) -> list:
    today = today or today_in_china()
    path = unindexed(Issue.node_path) if walk else Issue.node_path
    status = unindexed(Issue.status) if walk else Issue.status
    conds: list = [issue_scope(viewer, path)]
    if root is not None:
        low, high = subtree_bounds(root.path)
        conds += [path >= low, path < high]
    if filters.status == "open":
        conds.append(status.in_(OPEN_STATUSES))
    elif filters.status == "settled":
        conds.append(status.in_(SETTLED_STATUSES))
    elif filters.status == "to_assign":
        conds.append(status.in_(TO_ASSIGN_STATUSES))
    elif filters.status:
        conds.append(status == filters.status)
    if filters.category:
        conds.append(Issue.category_id == filters.category)
    if filters.overdue:
        conds += [Issue.deadline < today, status.in_(OPEN_STATUSES)]
    if filters.month:
        conds.append((unindexed(Issue.month) if walk else Issue.month) == filters.month)
    if filters.source:
        conds.append(Issue.source == filters.source)
    return conds


def overdue_clause(today: date) -> list:
    return [Issue.deadline < today, Issue.status.in_(OPEN_STATUSES)]


@dataclass
class LedgerRow:
    issue: Issue
    category: str
    category_en: str
    place: str
    company: str
    where: str = ""  # 社区 · 小区 above the place (issue 13: a ledger item says where it is)


async def where_lines(db: AsyncSession, node_paths: list[str]) -> dict[str, str]:
    """'敦义村 · 魏家林盘' for each node path: its community and compound, one query for a page."""
    wanted = {p for path in node_paths for p in ancestor_paths(path)}
    if not wanted:
        return {}
    rows = await db.execute(sa.select(GridNode.path, GridNode.name).where(
        GridNode.path.in_(sorted(wanted)), GridNode.level.in_((Level.community, Level.compound))))
    names = dict(rows.all())
    return {path: " · ".join(names[p] for p in ancestor_paths(path) if p in names and p != path)
            for path in set(node_paths)}


async def list_issues(db: AsyncSession, conds: list, page: int = 1, limit: int = PAGE_SIZE) -> list[LedgerRow]:
    rows = await db.execute(
        sa.select(Issue, IssueCategory.name, IssueCategory.name_en, GridNode.name, PropertyCompany.name)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Issue.assignee_company_id)
        .where(*conds)
        .order_by(Issue.reported_at.desc(), Issue.id)
        .limit(limit).offset((page - 1) * limit)
    )
    found = [LedgerRow(issue, cat, cat_en, place, company or "") for issue, cat, cat_en, place, company in rows]
    where = await where_lines(db, [r.issue.node_path for r in found])
    for row in found:
        row.where = where.get(row.issue.node_path, "")
    return found


async def status_counts(db: AsyncSession, conds: list, today: date | None = None) -> dict[str, int]:
    """Problems per status, and how many are overdue: one index-only scan."""
    today = today or today_in_china()
    late = sa.func.sum(sa.case((Issue.deadline < today, 1), else_=0))
    rows = await db.execute(sa.select(Issue.status, sa.func.count(), late).where(*conds).group_by(Issue.status))
    counts = {s.value: 0 for s in Status}
    overdue = 0
    for status, n, n_late in rows:
        counts[status] = n
        if status in OPEN_STATUSES:
            overdue += n_late or 0
    counts["total"] = sum(counts.values())
    counts["overdue"] = overdue
    return counts


# Beyond this many matching problems the newest 50 are found faster by walking the
# reported_at index than by reading the subtree and sorting it.
WALK_FROM = 1000


# Counts and rates are cached per (scope, filters, day) and per *version of the ledger*:
# the newest event's arrival time. Every change to any problem is a new event, so a
# cached figure is never stale; between changes (most page views) no aggregate is
# recomputed. Each process keeps its own copy (server/cache.py).
CACHE_AGGREGATES = True


async def ledger_version(db: AsyncSession) -> str:
    latest = (await db.execute(sa.select(sa.func.max(IssueEvent.received_at)))).scalar()
    return str(latest)


async def cached_aggregate(db: AsyncSession, name: str, viewer: Viewer, key: Any, compute) -> Any:
    if not CACHE_AGGREGATES:
        return await compute()
    from server.cache import cached

    version = await ledger_version(db)
    return await cached(("issues", name, version, today_in_china(), viewer.grid_paths, viewer.company_ids, key), compute)


async def ledger_page(db: AsyncSession, viewer: Viewer, filters: Filters, root: GridNode | None,
                      today: date | None = None) -> tuple[dict[str, int], list[LedgerRow]]:
    conds = conditions(viewer, filters, root, today)
    key = (filters.query(), root.path if root else "")
    counts = await cached_aggregate(db, "counts", viewer, key, lambda: status_counts(db, conds, today))
    # PostgreSQL's planner finds the newest-first walk itself; SQLite's needs the hint.
    if counts["total"] >= WALK_FROM and db.get_bind().dialect.name == "sqlite":
        conds = conditions(viewer, filters, root, today, walk=True)
    return counts, await list_issues(db, conds, filters.page)


@dataclass
class RateRow:
    community: str
    month: str
    total: int
    settled: int  # resolved on the spot or verified, or declared unsolvable
    fed_back: int  # settled and the residents told
    resolved: int  # with an on-time verdict
    on_time: int

    @property
    def feedback_rate(self) -> float | None:
        return self.fed_back / self.settled if self.settled else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None


async def rates(db: AsyncSession, conds: list, community_names: dict[str, str], since: str | None = None) -> list[RateRow]:
    """Feedback rate and on-time rate per community and month, for the filtered problems
    (from month `since` on: by default the page shows the last three months).

    Closing needs feedback, so "closed without feedback" cannot happen: the feedback rate
    counts every settled problem (solved, verified or declared unsolvable) and how many
    of those the residents have been told about.
    """
    community = sa.func.substr(Issue.node_path, 1, COMMUNITY_LEN)
    settled = sa.func.sum(sa.case((Issue.status.in_(SETTLED_STATUSES), 1), else_=0))
    fed_back = sa.func.sum(sa.case((Issue.status.in_((Status.fed_back, Status.closed)), 1), else_=0))
    resolved = sa.func.sum(sa.case((Issue.on_time.is_not(None), 1), else_=0))
    on_time = sa.func.sum(sa.case((Issue.on_time.is_(True), 1), else_=0))
    rows = await db.execute(
        sa.select(community, Issue.month, sa.func.count(), settled, fed_back, resolved, on_time)
        .where(*conds, *([] if since is None else [Issue.month >= since]))
        .group_by(community, Issue.month).order_by(Issue.month.desc(), community)
    )
    return [
        RateRow(community_names.get(path, path), month, n, s or 0, f or 0, r or 0, o or 0)
        for path, month, n, s, f, r, o in rows
    ]


async def community_names(db: AsyncSession) -> dict[str, str]:
    rows = await db.execute(sa.select(GridNode.path, GridNode.name).where(GridNode.level.in_((Level.street, Level.community))))
    return dict(rows.all())


async def places_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """The places the ledger can be filtered by: the person's roots and the compounds above micro-grids."""
    roots = viewer.grid_paths
    if not roots:
        return []
    rows = await db.execute(
        sa.select(GridNode).where(
            viewer.subtree_clause(GridNode.path),
            sa.or_(GridNode.path.in_(roots), GridNode.level.in_((Level.community, Level.compound))),
        ).order_by(GridNode.path)
    )
    return list(rows.scalars())


async def categories(db: AsyncSession, *, active_only: bool = False) -> list[IssueCategory]:
    stmt = sa.select(IssueCategory).order_by(IssueCategory.sort_order, IssueCategory.id)
    if active_only:
        stmt = stmt.where(IssueCategory.active)
    return list((await db.execute(stmt)).scalars())


async def companies(db: AsyncSession, under: str | None = None) -> list[PropertyCompany]:
    """Property companies, those managing compounds under `under` first."""
    all_companies = list((await db.execute(sa.select(PropertyCompany).order_by(PropertyCompany.name))).scalars())
    if not under:
        return all_companies
    low, high = subtree_bounds(under[:COMPOUND_LEN])
    local = set((await db.execute(
        sa.select(GridNode.property_company_id).where(GridNode.path >= low, GridNode.path < high,
                                                      GridNode.property_company_id.is_not(None))
    )).scalars())
    return sorted(all_companies, key=lambda c: (c.id not in local, c.name))


async def timeline(db: AsyncSession, issue: Issue) -> list[IssueEvent]:
    from server.issues.state import ordered

    events = (await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))).scalars().all()
    return ordered(events)


async def photos_by_event(db: AsyncSession, event_ids: list[str]) -> dict[str, list[str]]:
    """Photo ids per event (photos reach the server after their record, through the outbox)."""
    if not event_ids:
        return {}
    import uuid

    from server.sync.models import Photo

    rows = await db.execute(
        sa.select(Photo.record_id, Photo.id).where(Photo.record_id.in_([uuid.UUID(e) for e in event_ids]))
        .order_by(Photo.received_at)
    )
    found: dict[str, list[str]] = {}
    for record_id, photo_id in rows:
        found.setdefault(str(record_id), []).append(str(photo_id))
    return found


# ---------------------------------------------------------------- monthly agendas

@dataclass
class AgendaItem:
    issue: Issue
    category: str
    place: str
    company: str
    reasons: list[str] = field(default_factory=list)  # why it is on the joint-analysis list
    application: dict[str, Any] = field(default_factory=dict)  # the waiting application's payload, with who filed it


@dataclass
class Agenda:
    community: GridNode
    month: str
    handling: dict[str, list[AgendaItem]]  # company name ('' = not assigned) -> items
    analysis: list[AgendaItem]  # accepted onto this month's (or an earlier) analysis agenda
    disposal: list[AgendaItem]  # accepted by the committee, with a solution plan
    # Waiting for the secretary / the committee: not on the lists until accepted.
    analysis_applications: list[AgendaItem] = field(default_factory=list)
    disposal_applications: list[AgendaItem] = field(default_factory=list)
    # Overdue or recurring: the secretary may want them analysed; suggestions, not members.
    suggestions: list[AgendaItem] = field(default_factory=list)

    def items(self, kind: str) -> list[AgendaItem]:
        if kind == "handling":
            return [item for items in self.handling.values() for item in items]
        return getattr(self, kind)


async def agenda(db: AsyncSession, viewer: Viewer, community: GridNode, month: str, today: date | None = None) -> Agenda:
    """The month's three lists for a community, built from the ledger.

    Open problems reported by the end of the month. The committee's accepted disposal
    applications go to joint disposal, the secretary's accepted analysis applications
    (for this month or before) to joint analysis, the rest to joint handling, grouped by
    property company. Applications still waiting are listed apart, for the secretary and
    the committee to answer; overdue and recurring-category problems are suggested for
    analysis but stay in joint handling until someone applies and the secretary accepts.
    """
    today = today or today_in_china()
    first, last = month_bounds(month)
    as_of = min(last, today)
    low, high = subtree_bounds(community.path)
    in_community = [Issue.node_path >= low, Issue.node_path < high, issue_scope(viewer)]
    compound = sa.func.substr(Issue.node_path, 1, COMPOUND_LEN)
    since = (as_of - timedelta(days=RECURRING_DAYS)).strftime("%Y-%m")
    recurring = set(
        (await db.execute(
            sa.select(compound, Issue.category_id).where(*in_community, Issue.month >= since, Issue.month <= month)
            .group_by(compound, Issue.category_id).having(sa.func.count() >= RECURRING_COUNT)
        )).all()
    )
    rows = await db.execute(
        sa.select(Issue, IssueCategory.name, GridNode.name, PropertyCompany.name)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Issue.assignee_company_id)
        .where(*in_community, Issue.status.in_(OPEN_STATUSES), Issue.month <= month)
        .order_by(Issue.reported_at)
    )
    out = Agenda(community, month, {}, [], [])
    handling: dict[str, list[AgendaItem]] = {}
    for issue, category, place, company in rows:
        item = AgendaItem(issue, category, place, company or issue.assignee_department or "")
        if issue.disposal_status == Application.applied:
            out.disposal_applications.append(item)
        if issue.analysis_status == Application.applied:
            out.analysis_applications.append(item)
        if issue.escalated:
            out.disposal.append(item)
            continue
        if issue.flagged and (issue.analysis_month or "") <= month:
            item.reasons.append("flagged")
            out.analysis.append(item)
            continue
        reasons = []
        if issue.deadline is not None and issue.deadline < as_of:
            reasons.append("overdue")
        if (issue.node_path[:COMPOUND_LEN], issue.category_id) in recurring:
            reasons.append("recurring")
        if issue.analysis_status == Application.applied:
            reasons.append("applied")
        handling.setdefault(item.company, []).append(item)
        if reasons and issue.analysis_status != Application.applied and not issue.flagged:
            out.suggestions.append(AgendaItem(issue, category, place, item.company, reasons))
    out.handling = dict(sorted(handling.items(), key=lambda kv: (kv[0] == "", kv[0])))
    await _with_applications(db, out.analysis_applications, EventKind.apply_analysis)
    await _with_applications(db, out.disposal_applications, EventKind.apply_disposal)
    return out


async def _with_applications(db: AsyncSession, items: list[AgendaItem], kind: str) -> None:
    """Each waiting application's 问题、理由 and applicant: the newest applied event of `kind`."""
    if not items:
        return
    rows = await db.execute(
        sa.select(IssueEvent.issue_id, IssueEvent.payload, IssueEvent.actor_name, IssueEvent.at)
        .where(IssueEvent.issue_id.in_([item.issue.id for item in items]), IssueEvent.kind == kind, IssueEvent.applied)
        .order_by(IssueEvent.at)
    )
    latest = {issue_id: {**(payload or {}), "by": name, "at": at} for issue_id, payload, name, at in rows}
    for item in items:
        item.application = latest.get(item.issue.id, {})


async def meetings_of(db: AsyncSession, community: GridNode, month: str) -> list[IssueMeeting]:
    rows = await db.execute(
        sa.select(IssueMeeting).where(IssueMeeting.community_path == community.path, IssueMeeting.month == month)
        .order_by(IssueMeeting.held_on, IssueMeeting.created_at)
    )
    return list(rows.scalars())


async def decisions_of(db: AsyncSession, viewer: Viewer, meeting: IssueMeeting) -> list[tuple[IssueEvent, Issue, str, str]]:
    """The meeting's decisions on problems the reader may see: a meeting spans a whole community,
    a micro-grid leader reading its minutes sees only their own part of it."""
    rows = await db.execute(
        sa.select(IssueEvent, Issue, IssueCategory.name, GridNode.name)
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id)
        .where(IssueEvent.meeting_id == meeting.id, issue_scope(viewer))
        .order_by(IssueEvent.at, IssueEvent.id)
    )
    return [tuple(row) for row in rows]


async def communities_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    rows = await db.execute(
        sa.select(GridNode).where(GridNode.level == Level.community, viewer.subtree_clause(GridNode.path))
        .order_by(GridNode.path)
    )
    found = list(rows.scalars())
    if found:
        return found
    # A leader or compound worker: the community above their part of the grid.
    paths = {p[:COMMUNITY_LEN] for p in viewer.grid_paths if len(p) >= COMMUNITY_LEN}
    if not paths:
        return []
    rows = await db.execute(sa.select(GridNode).where(GridNode.path.in_(paths)).order_by(GridNode.path))
    return list(rows.scalars())


# ---------------------------------------------------------------- public pages

async def announcements(db: AsyncSession, compound: GridNode) -> list[tuple[IssueEvent, Issue, str, str]]:
    low, high = subtree_bounds(compound.path)
    rows = await db.execute(
        sa.select(IssueEvent, Issue, IssueCategory.name, GridNode.name)
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .join(GridNode, GridNode.id == Issue.node_id)
        .where(Issue.node_path >= low, Issue.node_path < high, Issue.announced,
               IssueEvent.applied, sa.or_(IssueEvent.kind == EventKind.announce,
                                          sa.and_(IssueEvent.kind == EventKind.decision, IssueEvent.payload["outcome"].as_string() == "announce")))
        .order_by(IssueEvent.at.desc())
    )
    return [tuple(row) for row in rows]


async def leaders_named(db: AsyncSession, node: GridNode) -> list[str]:
    rows = await db.execute(
        sa.select(Person.name).join(Post, Post.person_id == Person.id)
        .where(Post.node_id == node.id, Post.role == Role.leader, current_post()).order_by(Post.post_kind)
    )
    return list(rows.scalars())
