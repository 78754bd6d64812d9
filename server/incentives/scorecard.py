"""The evaluation mechanism (评价机制): a monthly scorecard per leader and per community, from the data.

A leader answers for the micro-grids of their A posts. For a month (or all time):

    households        active households in those micro-grids
    households_visited  of those, visited by the leader in the period; coverage = visited ÷ households
    care_households / care_visited   the same for households with a care tag
    visits, errands, mediations, hazard_checks   the leader's own records in the period
    problems          problems reported in the period in those micro-grids
    on_time rate      solved on time ÷ solved (of those problems)
    feedback rate     settled with feedback ÷ settled
    patrols           joint patrols the leader took part in
    satisfaction      (satisfied + ½ basically satisfied) ÷ ratings, residents' ratings in the period
    points            points earned in the period; points_balance, all time

score = Σ weight × component ÷ Σ weight, over the components that have data (a grid with
no care households is not marked down for them), × 100. The weights are the street's
(rules.py, versioned with the points); the page prints the formula next to the score.

One query per source for any number of leaders (person_id IN ..., indexed by person and
time), so the street's 1,352 leaders cost the same handful of queries as one.
"""
from __future__ import annotations

import asyncio
import calendar
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, PostKind, Role, current_post
from server.clock import CHINA
from server.grid import tally
from server.grid.models import GridNode, GridTally, Household, active_household
from server.incentives.models import IssueRating, PointsAccount, PointsEntry
from server.issues.models import SETTLED_STATUSES, Issue, Status
from server.patrols.models import Patrol
from server.training.models import TrainingAttendance
from server.tree import SEGMENT, in_subtree
from server.visits.models import Visit, WorkLogEntry

COMPONENTS = ("coverage", "care_coverage", "on_time", "feedback", "satisfaction", "patrols")
CHUNK = 900  # values per IN (...): under SQLite's and asyncpg's parameter limits


def month_range(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, counted on the street's clock."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=CHINA)
    end = start + timedelta(days=calendar.monthrange(year, mon)[1])
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


@dataclass
class Scorecard:
    person_id: int | None
    name: str
    grid: str  # micro-grid codes (a leader) or the community's code
    grid_name: str
    households: int = 0
    households_visited: int = 0
    care_households: int = 0
    care_visited: int = 0
    visits: int = 0
    errands: int = 0
    mediations: int = 0
    hazard_checks: int = 0
    problems: int = 0
    settled: int = 0
    fed_back: int = 0
    judged: int = 0  # problems with an on-time verdict
    on_time: int = 0
    overdue: int = 0  # open past their deadline, now
    patrols: int = 0
    ratings: int = 0
    satisfied: int = 0
    basic: int = 0
    points: int = 0
    points_balance: int = 0
    trainings: int = 0  # training sessions attended (checked in) in the period
    quiz_score: int = 0  # their quizzes' right answers ...
    quiz_total: int = 0  # ... of questions asked
    leaders: int = 1
    score: float | None = None
    components: dict[str, float | None] = field(default_factory=dict)

    def rate(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None

    def compute(self, weights: dict[str, int]) -> None:
        # Plain arithmetic, no helper calls: the street's dashboard computes 1,352 of these.
        self.components = components = {
            "coverage": self.households_visited / self.households if self.households else None,
            "care_coverage": self.care_visited / self.care_households if self.care_households else None,
            "on_time": self.on_time / self.judged if self.judged else None,
            "feedback": self.fed_back / self.settled if self.settled else None,
            "satisfaction": (self.satisfied + 0.5 * self.basic) / self.ratings if self.ratings else None,
            "patrols": min(self.patrols / self.leaders, 1.0) if self.leaders else None,
        }
        total = weighted = 0
        for name, value in components.items():
            if value is not None:
                weight = weights.get(name, 0)
                if weight > 0:
                    total += weight
                    weighted += weight * value
        self.score = round(100 * weighted / total, 1) if total else None

    @property
    def coverage(self) -> float | None:
        return self.components.get("coverage")

    def as_json(self) -> dict:
        out = asdict(self)
        out["coverage"] = None if self.coverage is None else round(self.coverage, 4)
        out["components"] = {k: (None if v is None else round(v, 4)) for k, v in self.components.items()}
        return out


def _add(total: Scorecard, card: Scorecard) -> None:
    for name in ("households", "households_visited", "care_households", "care_visited", "visits", "errands",
                 "mediations", "hazard_checks", "problems", "settled", "fed_back", "judged", "on_time", "overdue",
                 "patrols", "ratings", "satisfied", "basic", "points", "points_balance", "trainings", "quiz_score",
                 "quiz_total"):
        setattr(total, name, getattr(total, name) + getattr(card, name))


def _a_posts(root_path: str, scope_clause) -> list:
    return [Post.role == Role.leader, Post.post_kind == PostKind.primary.value, current_post(),
            in_subtree(Post.node_path, root_path), scope_clause(Post.node_path)]


async def leader_posts(db: AsyncSession, root_path: str, scope_clause) -> list[tuple[int, str, int, str, str, str]]:
    """(person, name, micro-grid id, code, name, path) of every current A post under root_path."""
    rows = await db.execute(
        sa.select(Post.person_id, Person.name, GridNode.id, GridNode.code, GridNode.name, GridNode.path)
        .join(Person, Person.id == Post.person_id).join(GridNode, GridNode.id == Post.node_id)
        .where(*_a_posts(root_path, scope_clause)).order_by(GridNode.path))
    return [tuple(r) for r in rows]


async def scorecards(db: AsyncSession, root_path: str, scope_clause, weights: dict[str, int],
                     month: str | None, today=None) -> list[Scorecard]:
    """One scorecard per leader with an A post under root_path, for `month` (None: all time)."""
    posts = await leader_posts(db, root_path, scope_clause)
    cards: dict[int, Scorecard] = {}
    grid_of: dict[int, int] = {}  # micro-grid id -> leader
    path_owner: dict[str, int] = {}
    for pid, name, mg_id, code, mg_name, path in posts:
        card = cards.get(pid)
        if card is None:
            card = cards[pid] = Scorecard(pid, name, code, mg_name)
        else:
            card.grid += "," + code
            card.grid_name += "、" + mg_name
        grid_of[mg_id] = pid
        path_owner[path] = pid
    if not cards:
        return []
    # The same leaders as a subquery: one statement per source whatever their number.
    people = sa.select(Post.person_id).where(*_a_posts(root_path, scope_clause)).scalar_subquery()
    grids = sa.select(Post.node_id).where(*_a_posts(root_path, scope_clause)).scalar_subquery()
    span = month_range(month) if month else None
    # The two longest reads, the households of each leader's micro-grids and the leaders' visits in
    # the period (a care tag: a non-empty JSON list), run each on a connection of its own
    # while the other sources are read here: SQLite reads in parallel under WAL (each
    # connection has its thread), PostgreSQL on its backends. The street's 1,352 cards for a full
    # month, idle machine: 206 ms -> 144 ms wall (the CPU is the same, over two cores).
    has_care = sa.cast(Household.care_tags, sa.String) != "[]"
    # The households of each leader's micro-grids, and of those with a care tag, as the grid's
    # tally keeps them on write (server/grid/tally.py): a city's street counted 5.47 million
    # households here (2.3 s at scale 100).
    households = sa.select(GridTally.node_id, GridTally.metric, GridTally.n).where(
        GridTally.node_id.in_(grids), GridTally.metric.in_((tally.HOUSEHOLDS, tally.CARE_HOUSEHOLDS)))
    # Visits by the micro-grid of the household visited: only their own micro-grids count for coverage.
    care_visit = sa.case((sa.and_(has_care, active_household()), Visit.household_id), else_=None)
    own_visit = sa.case((active_household(), Visit.household_id), else_=None)
    visits = sa.select(Visit.person_id, Household.microgrid_id, sa.func.count(),
                       sa.func.count(sa.distinct(own_visit)), sa.func.count(sa.distinct(care_visit))) \
        .join(Household, Household.id == Visit.household_id) \
        .where(Visit.person_id.in_(people), in_subtree(Visit.grid_path, root_path),
               in_subtree(Household.grid_path, root_path),
               *([Visit.visited_at >= span[0], Visit.visited_at < span[1]] if span else [])) \
        .group_by(Visit.person_id, Household.microgrid_id)
    beside = [asyncio.ensure_future(_beside(db, statement)) for statement in (households, visits)]
    try:
        await _the_rest(db, root_path, scope_clause, month, today, cards, grid_of, path_owner, people, span)
        counted, visited_rows = [await task for task in beside]
    finally:
        for task in beside:
            if not task.done():
                task.cancel()
        await asyncio.gather(*beside, return_exceptions=True)
    for mg_id, metric, n in counted:
        card = cards[grid_of[mg_id]]
        if metric == tally.HOUSEHOLDS:
            card.households += n
        else:
            card.care_households += n
    for pid, mg_id, n, visited, care_visited in visited_rows:
        card = cards[pid]
        card.visits += n
        if grid_of.get(mg_id) == pid:
            card.households_visited += visited
            card.care_visited += care_visited
    out = sorted(cards.values(), key=lambda c: c.grid)
    for card in out:
        card.compute(weights)
    return out


async def _beside(db: AsyncSession, statement) -> list:
    """The statement's rows, read on a connection of the caller's engine other than the caller's
    (committed data: the dashboards only read)."""
    async with AsyncSession(db.bind) as other:
        return (await other.execute(statement)).all()


async def _the_rest(db: AsyncSession, root_path: str, scope_clause, month: str | None, today, cards: dict,
                    grid_of: dict, path_owner: dict, people, span) -> None:
    """Every source but the households and the visits, into the cards."""

    def within(column):
        return [column >= span[0], column < span[1]] if span else []

    # Their work log in the period: errands, mediations, hazard checks.
    for pid, kind, n in await db.execute(
            sa.select(WorkLogEntry.person_id, WorkLogEntry.kind, sa.func.count())
            # Bounded by the node's path like every read of a partitioned table (a street-
            # partitioned database then reads one street; tests/test_partition_key.py).
            .where(WorkLogEntry.person_id.in_(people), in_subtree(WorkLogEntry.grid_path, root_path),
                   *within(WorkLogEntry.done_at))
            .group_by(WorkLogEntry.person_id, WorkLogEntry.kind)):
        attr = {"errand": "errands", "mediation": "mediations", "hazard_check": "hazard_checks"}.get(kind)
        if attr:
            setattr(cards[pid], attr, getattr(cards[pid], attr) + n)
    # Problems filed on their micro-grids (or a household in them): by the micro-grid's path.
    today = today or datetime.now(CHINA).date()
    issue_where = [in_subtree(Issue.node_path, root_path), scope_clause(Issue.node_path)]
    if month:
        issue_where.append(Issue.month == month)
    for path, status, on_time, feedback, deadline in await db.execute(
            sa.select(Issue.node_path, Issue.status, Issue.on_time, Issue.feedback_count, Issue.deadline).where(*issue_where)):
        pid = path_owner.get(path)
        if pid is None:
            continue
        card = cards[pid]
        card.problems += 1
        if status in SETTLED_STATUSES:
            card.settled += 1
            card.fed_back += status in (Status.fed_back, Status.closed)
        if on_time is not None:
            card.judged += 1
            card.on_time += bool(on_time)
        if status not in SETTLED_STATUSES and deadline is not None and deadline < today:
            card.overdue += 1
    rating_where = [in_subtree(IssueRating.node_path, root_path), scope_clause(IssueRating.node_path)]
    if month:
        rating_where.append(IssueRating.month == month)
    for path, rating in await db.execute(sa.select(IssueRating.node_path, IssueRating.rating).where(*rating_where)):
        pid = path_owner.get(path)
        if pid is not None:
            cards[pid].ratings += 1
            cards[pid].satisfied += rating == "satisfied"
            cards[pid].basic += rating == "basic"
    # Patrols: filed on compounds (the micro-grids' ancestors), participants by person id.
    compound_paths = {path[:3 * SEGMENT] for path in path_owner}
    patrol_where = [Patrol.compound_path.in_(sorted(compound_paths))] if len(compound_paths) < CHUNK else [
        in_subtree(Patrol.compound_path, root_path)]
    if month:
        patrol_where.append(Patrol.month == month)
    for recorder, participants in await db.execute(sa.select(Patrol.recorded_by, Patrol.participants).where(*patrol_where)):
        present = {recorder} | {p.get("person_id") for p in participants or [] if isinstance(p, dict)}
        for pid in present:
            if pid in cards:
                cards[pid].patrols += 1
    # Points: earned in the period (what work earned; spending is not counted), wherever it was
    # earned (a patrol's points sit on the compound); the balance from the accounts.
    if month:
        for pid, earned in await db.execute(
                sa.select(PointsEntry.person_id, sa.func.sum(PointsEntry.points))
                .where(PointsEntry.month == month, PointsEntry.person_id.in_(people),
                       PointsEntry.kind != "redemption").group_by(PointsEntry.person_id)):
            cards[pid].points = int(earned or 0)
    # The balance as the account keeps it (the sum of the entries, ledger.credit).
    totals = await db.execute(sa.select(PointsAccount.person_id, PointsAccount.balance)
                              .where(PointsAccount.person_id.in_(people)))
    for pid, total in totals:
        cards[pid].points_balance = int(total or 0)
        if not month:
            cards[pid].points = int(total or 0)
    if not month:  # all time: what work earned is the balance plus what was spent
        for pid, spent in await db.execute(
                sa.select(PointsEntry.person_id, sa.func.sum(PointsEntry.points))
                .where(PointsEntry.person_id.in_(people), PointsEntry.kind == "redemption")
                .group_by(PointsEntry.person_id)):
            cards[pid].points -= int(spent or 0)
    # Training (常态化培训): sessions the leader checked in to in the period, and the quiz answers.
    for pid, attended, score, total in await db.execute(
            sa.select(TrainingAttendance.person_id, sa.func.count(), sa.func.sum(TrainingAttendance.quiz_score),
                      sa.func.sum(TrainingAttendance.quiz_total))
            .where(TrainingAttendance.person_id.in_(people), TrainingAttendance.checked_in_at.is_not(None),
                   *within(TrainingAttendance.checked_in_at))
            .group_by(TrainingAttendance.person_id)):
        cards[pid].trainings = attended
        cards[pid].quiz_score, cards[pid].quiz_total = int(score or 0), int(total or 0)


def community_cards(leaders: list[Scorecard], communities: dict[str, tuple[str, str]], paths: dict[int, str],
                    weights: dict[str, int]) -> list[Scorecard]:
    """Sum the leaders' cards per community (path -> (code, name)); a community's score is from its sums."""
    totals: dict[str, Scorecard] = {}
    for card in leaders:
        community = paths[card.person_id][:2 * SEGMENT]
        code, name = communities.get(community, ("", ""))
        total = totals.get(community)
        if total is None:
            total = totals[community] = Scorecard(None, name, code, name, leaders=0)
        total.leaders += 1
        _add(total, card)
    for total in totals.values():
        total.compute(weights)
    return sorted(totals.values(), key=lambda c: c.grid)


def formula(weights: dict[str, int], names: dict[str, str]) -> str:
    """The score as people read it: "100 × (覆盖率 ×30 + ...) ÷ 100", `names` in the reader's language."""
    parts = [f"{names[k]} ×{weights[k]}" for k in COMPONENTS if weights.get(k)]
    return "100 × (" + " + ".join(parts) + ") ÷ " + str(sum(weights.get(k, 0) for k in COMPONENTS))


LOW_COVERAGE = 0.3  # under three households in ten visited this month: the community calls on the leader


def low_coverage(cards: list[Scorecard], low: float = LOW_COVERAGE) -> list[Scorecard]:
    """Leaders with households whose visit coverage is under `low`, lowest first (the staff home's card)."""
    found = [c for c in cards if c.households and (c.coverage or 0) < low]
    return sorted(found, key=lambda c: (c.coverage or 0, c.grid_name, c.name))


def needs_help(cards: list[Scorecard], low: float = LOW_COVERAGE) -> list[Scorecard]:
    """Leaders with coverage under `low` or a problem past its deadline: who the community should call on."""
    return [c for c in cards if (c.households and (c.coverage or 0) < low) or c.overdue]


@dataclass
class Trend:
    months: list[str]  # oldest first
    coverage: dict[str, float | None]
    points: dict[str, int]
    on_time: dict[str, float | None]


async def trends(db: AsyncSession, root_path: str, scope_clause, months: list[str]) -> Trend:
    """Month by month for a subtree: share of households visited, points earned, problems solved on time.
    Three grouped queries over the subtree's year (the dashboard caches the answer a minute)."""
    from server.visits.queries import _month_key  # the one China-month expression per database

    months = sorted(months)
    start, _ = month_range(months[0])
    _, end = month_range(months[-1])
    households = (await db.execute(sa.select(sa.func.count()).select_from(Household).where(
        in_subtree(Household.grid_path, root_path), scope_clause(Household.grid_path), active_household()))).scalar_one()
    visit_month = _month_key(Visit.visited_at, db.bind.dialect.name)
    visited = dict((await db.execute(
        sa.select(visit_month, sa.func.count(sa.distinct(Visit.household_id)))
        .where(in_subtree(Visit.grid_path, root_path), scope_clause(Visit.grid_path),
               Visit.visited_at >= start, Visit.visited_at < end).group_by(visit_month))).all())
    points = dict((await db.execute(
        sa.select(PointsEntry.month, sa.func.sum(PointsEntry.points))
        .where(PointsEntry.month.in_(months), in_subtree(PointsEntry.grid_path, root_path),
               scope_clause(PointsEntry.grid_path), PointsEntry.kind != "redemption").group_by(PointsEntry.month))).all())
    judged = sa.func.sum(sa.case((Issue.on_time.is_not(None), 1), else_=0))
    on_time = sa.func.sum(sa.case((Issue.on_time.is_(True), 1), else_=0))
    rates = {m: (j or 0, o or 0) for m, j, o in await db.execute(
        sa.select(Issue.month, judged, on_time).where(Issue.month.in_(months), in_subtree(Issue.node_path, root_path),
                                                       scope_clause(Issue.node_path)).group_by(Issue.month))}
    return Trend(
        months=months,
        coverage={m: (visited.get(m, 0) / households if households else None) for m in months},
        points={m: int(points.get(m) or 0) for m in months},
        on_time={m: (rates[m][1] / rates[m][0] if m in rates and rates[m][0] else None) for m in months},
    )
