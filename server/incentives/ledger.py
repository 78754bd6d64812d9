"""The points ledger in the database: folding records in, balances, history, manual entries, rankings.

`refresh(db, person_ids)` reads the people's verified records, folds them (earning.py)
and appends what is missing; it is idempotent, so it runs wherever it is cheap to run:
when a leader opens their points page and something of theirs changed since the last
fold; for the months in play, as a sender's records arrive (fold_on_arrival) and with an act
that earns someone else points (fold_others: a problem closed, a "satisfied", a patrol); after
the demo loads; and from `weiwang points recompute` (the nightly job: older months, rule changes).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from litestar.exceptions import NotFoundException

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.clock import CHINA, aware, month_of, today_in_china, utcnow
from server.grid.models import CareTag, Household
from server.incentives.earning import Work, china_month, earn, plan
from server.incentives.models import EntryKind, HolidayVisit, IncentiveRules, IssueRating, PointsAccount, PointsEntry, Rating
from server.incentives.rules import DEFAULT, RuleBook, load_rule_book
from server.issues.models import Issue, Status
from server.patrols.models import Patrol
from server.sync.models import SyncReceipt
from server.tree import ancestor_paths, in_subtree
from server.visits.models import Visit, WorkLogEntry

log = logging.getLogger(__name__)

# A record stored while a fold was reading may carry a received_at just before the fold's
# start: a person stays "changed" this long after a fold, so it is picked up next time.
SETTLE = timedelta(seconds=60)


async def _post_paths(db: AsyncSession, person_ids: list[int]) -> dict[int, list[str]]:
    rows = await db.execute(sa.select(Post.person_id, Post.node_path).where(Post.person_id.in_(person_ids)))
    out: dict[int, list[str]] = defaultdict(list)
    for pid, path in rows:
        out[pid].append(path)
    return out


# Folding a few people (a page open, records arriving) bounds every read of the partitioned
# tables by the paths of the posts they ever held: their records lie there (each was checked
# against their part of the grid when stored, and moves rewrite both), so the answer is the
# same and a street-partitioned database reads one street (tests/test_partition_key.py).
# The nightly recompute of a whole street reads unbounded.
BOUNDED = 50


_ELDERLY_ALONE = f'"{CareTag.elderly_alone.value}"'  # as it stands in the JSON list


def _roots(paths) -> list[str]:
    roots: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(root) for root in roots):
            roots.append(path)
    return roots


async def works_of(db: AsyncSession, person_ids: list[int], since: datetime | None = None) -> dict[int, list[Work]]:
    """Every verified record of these people that can earn points, as the fold sees it
    (only those from `since` on, when given: see `refresh`)."""
    out: dict[int, list[Work]] = {pid: [] for pid in person_ids}

    def after(column):
        return sa.true() if since is None else column >= since

    wanted = set(person_ids)
    posts = await _post_paths(db, person_ids)
    roots = _roots(p for paths in posts.values() for p in paths) if len(person_ids) <= BOUNDED else None

    def bound(column):
        if roots is None:
            return sa.true()
        return sa.or_(*[in_subtree(column, root) for root in roots]) if roots else sa.false()

    # The household's care tag prices the visit; an outer join, so a household moved out of
    # reach since still leaves the visit its (kept) points.
    # The tags as their JSON text, searched for the one quoted tag: every batch that arrives folds the
    # sender's month again, and decoding each visited household's list was a tenth of a sync.
    visits = await db.execute(
        sa.select(Visit.id, Visit.person_id, Visit.household_id, Visit.visited_at, Visit.grid_path,
                  sa.cast(Household.care_tags, sa.String))
        .outerjoin(Household, sa.and_(Household.id == Visit.household_id, bound(Household.grid_path)))
        .where(Visit.person_id.in_(person_ids), bound(Visit.grid_path), after(Visit.visited_at)))
    for vid, pid, hid, at, path, tags in visits:
        rule = "care_visit" if tags and _ELDERLY_ALONE in tags else "visit"
        at = aware(at)
        out[pid].append(Work(pid, rule, "visit", str(vid), at, path, f"visit:{hid}:{china_month(at)}"))
    work = await db.execute(
        sa.select(WorkLogEntry.id, WorkLogEntry.person_id, WorkLogEntry.kind, WorkLogEntry.done_at, WorkLogEntry.grid_path)
        .where(WorkLogEntry.person_id.in_(person_ids), bound(WorkLogEntry.grid_path), after(WorkLogEntry.done_at)))
    for wid, pid, kind, at, path in work:
        out[pid].append(Work(pid, kind, "work", str(wid), aware(at), path, f"{kind}:{wid}"))
    # Patrols are filed on the compound: look in the compounds above each person's posts.
    compounds = sorted({a for paths in posts.values() for p in paths for a in ancestor_paths(p)})
    if compounds:
        patrols = await db.execute(
            sa.select(Patrol.id, Patrol.recorded_by, Patrol.participants, Patrol.patrolled_at, Patrol.compound_path)
            .where(sa.or_(Patrol.compound_path.in_(compounds), Patrol.recorded_by.in_(person_ids)), after(Patrol.patrolled_at)))
        for patrol_id, recorder, participants, at, path in patrols:
            present = {recorder} | {p.get("person_id") for p in participants or [] if isinstance(p, dict)}
            for pid in present & wanted:
                out[pid].append(Work(pid, "patrol", "patrol", patrol_id, aware(at), path, f"patrol:{patrol_id}"))
    issues = await db.execute(
        sa.select(Issue.id, Issue.reported_by, Issue.closed_at, Issue.on_time, Issue.node_path)
        .where(Issue.reported_by.in_(person_ids), Issue.status == Status.closed.value, Issue.feedback_count > 0,
               Issue.closed_at.is_not(None), bound(Issue.node_path), after(Issue.closed_at)))
    for issue_id, pid, closed_at, on_time, path in issues:
        out[pid].append(Work(pid, "issue_closed", "issue", issue_id, aware(closed_at), path, f"issue_closed:{issue_id}"))
        if on_time:
            out[pid].append(Work(pid, "issue_on_time", "issue", issue_id, aware(closed_at), path, f"issue_on_time:{issue_id}"))
    # A resident's "satisfied" on the tracking page, for the leader who reported the problem.
    ratings = await db.execute(
        sa.select(Issue.id, Issue.reported_by, IssueRating.rated_at, Issue.node_path)
        .join(IssueRating, IssueRating.issue_id == Issue.id)
        .where(Issue.reported_by.in_(person_ids), IssueRating.rating == Rating.satisfied.value, bound(Issue.node_path),
               after(IssueRating.rated_at)))
    for issue_id, pid, rated_at, path in ratings:
        out[pid].append(Work(pid, "satisfied", "issue", issue_id, aware(rated_at), path, f"satisfied:{issue_id}"))
    # Holiday visits (节日走访慰问): one slot per target, for whoever marked it visited.
    holiday = await db.execute(
        sa.select(HolidayVisit.id, HolidayVisit.person_id, HolidayVisit.target_id, HolidayVisit.visited_at,
                  HolidayVisit.grid_path).where(HolidayVisit.person_id.in_(person_ids), after(HolidayVisit.visited_at)))
    for hv_id, pid, target_id, at, path in holiday:
        out[pid].append(Work(pid, "holiday_visit", "holiday", str(hv_id), aware(at), path, f"holiday_visit:{target_id}"))
    return out


async def _existing(db: AsyncSession, person_ids: list[int], keys: set[str] | None = None) -> dict[int, list]:
    """The people's entries that hold slots (all of them, or those of these slots only)."""
    query = sa.select(PointsEntry.id, PointsEntry.person_id, PointsEntry.points, PointsEntry.kind, PointsEntry.key)
    out: dict[int, list] = defaultdict(list)
    if keys is None:
        chunks = [query.where(PointsEntry.person_id.in_(person_ids), PointsEntry.key != "")]
    else:
        ordered = sorted(keys)
        chunks = [query.where(PointsEntry.person_id.in_(person_ids), PointsEntry.key.in_(ordered[i:i + 500]))
                  for i in range(0, len(ordered), 500)]
    for chunk in chunks:
        for row in await db.execute(chunk):
            out[row.person_id].append(row)
    return out


async def refresh(db: AsyncSession, person_ids: list[int], book: RuleBook | None = None,
                  since: datetime | None = None) -> int:
    """Fold these people's records into the ledger; returns how many entries were appended.

    Runs in a savepoint: when another fold of the same person got there first, the entry
    ids collide (they are derived from the slot), and folding again finds nothing to add.

    With `since` (the start of a month in China), only the records from then on are folded,
    against the entries of their own slots: every slot and cap lies inside one month (a
    household's visit point per month, the daily cap) or is keyed by its record, and the plan
    never takes back what it does not see, so the part folded comes out as a whole fold would
    make it. A partial fold leaves the account's `folded_at` alone: the next page open or the
    nightly recompute still folds everything.
    """
    person_ids = sorted(set(person_ids))
    if not person_ids:
        return 0
    book = book or await load_rule_book(db)
    for attempt in range(3):
        started = utcnow()
        works = await works_of(db, person_ids, since)
        targets = {pid: earn(works[pid], book) for pid in person_ids}
        keys = None if since is None else {key for t in targets.values() for key in t}
        existing = await _existing(db, person_ids, keys) if keys != set() else {}
        rows = []
        for pid in person_ids:
            rows += [e.row() for e in plan(pid, targets[pid], existing.get(pid, []))]
        try:
            async with db.begin_nested():
                if rows:
                    for i in range(0, len(rows), 2000):
                        await db.execute(sa.insert(PointsEntry), [{**r, "created_at": started} for r in rows[i:i + 2000]])
                    deltas: dict[int, int] = defaultdict(int)
                    for r in rows:
                        deltas[r["person_id"]] += r["points"]
                    await credit(db, deltas)
                if since is None:
                    await _mark_folded(db, person_ids, started, book.current.version)
            return len(rows)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0


def start_of_last_month() -> datetime:
    """Midnight in China on the first day of last month."""
    first = today_in_china().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return datetime(previous.year, previous.month, 1, tzinfo=CHINA)


# Record types whose arrival can earn their sender points (the work the fold reads for them).
EARNING_TYPES = frozenset({"visit", "errand", "mediation", "hazard_check", "patrol", "holiday_visit"})


async def fold_on_arrival(db: AsyncSession, viewer: Viewer, stored: set[str]) -> None:
    """After-store hook of the sync (server/app.py): the sender's records that earn points just
    arrived, from the outbox or a form, so fold them now, in the batch's transaction. The same
    `refresh` as everywhere: a replay adds nothing. Other people's points (a patrol's participants,
    a problem's reporter) are folded by the act that earns them (fold_others)."""
    if stored & EARNING_TYPES:
        # This month and last (a phone offline over a month's end): the sender's whole history
        # made every batch cost as much as the leader had ever done (a 200-record batch went
        # from 25-165 ms to 356-478 ms in bench_sync). Older records come with the full fold.
        await refresh(db, [viewer.person_id], since=start_of_last_month())


async def fold_others(db: AsyncSession, person_ids, *, but: int | None = None) -> None:
    """Points a person earns by someone else's act (a problem they reported closed with feedback,
    a resident's "satisfied", a patrol they took part in), folded in that act's transaction, the
    same bounded `refresh` as fold_on_arrival: rankings and scorecards show them at once instead
    of after the person's next page open or the nightly recompute. `but`: the actor, whose own
    records fold on arrival anyway. In a savepoint of its own: a fold that fails is logged and
    never costs the act."""
    ids = sorted({pid for pid in person_ids if pid and pid != but})
    if not ids:
        return
    try:
        async with db.begin_nested():
            await refresh(db, ids, since=start_of_last_month())
    except Exception:
        log.exception("points: folding %s after another's act failed; the next fold completes it", ids)


async def _ensure_accounts(db: AsyncSession, person_ids) -> None:
    """An account row for each of these people (a new one: never folded, balance 0). The caller
    runs in a savepoint: another transaction making the same row at once is an IntegrityError
    there, and the fold tries again."""
    person_ids = sorted(set(person_ids))
    have = set((await db.execute(sa.select(PointsAccount.person_id).where(PointsAccount.person_id.in_(person_ids)))).scalars())
    missing = [pid for pid in person_ids if pid not in have]
    if missing:
        await db.execute(sa.insert(PointsAccount), [{"person_id": pid, "balance": 0} for pid in missing])


async def credit(db: AsyncSession, deltas: dict[int, int]) -> None:
    """Add what was just appended for each person to their account's balance, in the same
    transaction as the entries: every write of an entry goes through here, so the balance
    stays the sum of the entries (tests/incentives/test_balances.py checks it after each kind)."""
    deltas = {pid: d for pid, d in deltas.items() if d}
    if not deltas:
        return
    await _ensure_accounts(db, deltas)
    account = PointsAccount.__table__  # Core: an executemany, not the ORM's bulk update by key
    await db.execute(account.update().where(account.c.person_id == sa.bindparam("pid"))
                     .values(balance=account.c.balance + sa.bindparam("delta")),
                     [{"pid": pid, "delta": d} for pid, d in sorted(deltas.items())])


# Accounts for people with entries and none yet, then every balance set to the sum (the
# migration that added the column runs the same two statements).
_MISSING_ACCOUNTS = sa.text("""
INSERT INTO points_account (person_id, balance)
SELECT person_id, 0 FROM points_entry
WHERE person_id NOT IN (SELECT person_id FROM points_account)
GROUP BY person_id
""")
_SET_BALANCES = sa.text("""
UPDATE points_account SET balance = COALESCE(
    (SELECT SUM(points) FROM points_entry WHERE points_entry.person_id = points_account.person_id), 0)
""")
_DRIFTED = sa.text("""
SELECT COUNT(*) FROM points_account
WHERE balance <> COALESCE((SELECT SUM(points) FROM points_entry WHERE points_entry.person_id = points_account.person_id), 0)
""")


async def rebuild_balances(db) -> int:
    """Set every balance to the sum of its entries (after a bulk load that wrote entries by
    hand, and as the nightly recompute's check); returns how many were off before."""
    drifted = (await db.execute(_DRIFTED)).scalar_one()
    missing = (await db.execute(_MISSING_ACCOUNTS)).rowcount or 0
    if drifted or missing:
        await db.execute(_SET_BALANCES)
    return int(drifted) + int(missing)


async def _mark_folded(db: AsyncSession, person_ids: list[int], at: datetime, version: int) -> None:
    await _ensure_accounts(db, person_ids)
    await db.execute(sa.update(PointsAccount).where(PointsAccount.person_id.in_(person_ids))
                     .values(folded_at=at, folded_version=version))


async def is_stale(db: AsyncSession, person_id: int, version: int, folded_at: datetime | None,
                   folded_version: int | None) -> bool:
    """Has anything that could earn this person points arrived since their last fold (their
    account's folded_at and folded_version, as Figures read them)?

    Their own synced records (one indexed lookup), or a new rule table. What other people's
    acts earn them (a problem closed, a "satisfied", a patrol joined) is folded by those acts
    (fold_others), so the street's every ledger event no longer makes every points page fold
    again: under a busy street's traffic (an event somewhere each minute) the page folded a
    leader's whole history on nearly every open, 42 ms instead of 8.
    """
    if folded_at is None or folded_version != version:
        return True
    newest = await db.execute(_NEWEST, {"person_id": person_id, "since": aware(folded_at) - SETTLE})
    return any(newest.one())


# Built once: anything of theirs synced since a time.
_NEWEST = sa.select(
    sa.select(SyncReceipt.received_at).where(SyncReceipt.person_id == sa.bindparam("person_id"),
                                             SyncReceipt.received_at > sa.bindparam("since")).limit(1).exists(),
)


@dataclass
class Figures:
    """What a points page shows at its top, and what says whether to fold first."""
    balance: int
    month_points: int  # earned in the month (spending not counted)
    folded_at: datetime | None
    folded_version: int | None
    rules_version: int


# One statement for the page's figures: the account (balance, how far folded), the month's
# earnings (index-only on ix_points_entry_person_month) and the rule table in force. A leader's
# points page is one of the most opened; it was seven statements (issue 10: <= 10 ms).
_FIGURES = sa.select(
    PointsAccount.balance, PointsAccount.folded_at, PointsAccount.folded_version,
    sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(
        PointsEntry.person_id == PointsAccount.person_id, PointsEntry.month == sa.bindparam("month"),
        PointsEntry.kind != "redemption").scalar_subquery(),
    sa.select(sa.func.max(IncentiveRules.version)).scalar_subquery(),
).where(PointsAccount.person_id == sa.bindparam("person_id"))


async def figures(db: AsyncSession, person_id: int, month: str) -> Figures | None:
    """None when the person has no account yet (nothing ever folded or written for them)."""
    row = (await db.execute(_FIGURES, {"person_id": person_id, "month": month})).first()
    if row is None:
        return None
    balance, folded_at, folded_version, month_points, rules = row
    return Figures(int(balance or 0), int(month_points or 0), folded_at, folded_version,
                   DEFAULT.version if rules is None else int(rules))


async def fresh_figures(db: AsyncSession, person_id: int, month: str, fold: bool = True) -> Figures:
    """The figures, after folding the person's records first when anything arrived since the
    last fold (is_stale, from the one statement above)."""
    found = await figures(db, person_id, month)
    if fold and (found is None or await is_stale(db, person_id, found.rules_version, found.folded_at,
                                                 found.folded_version)):
        await refresh(db, [person_id])
        await db.commit()
        found = await figures(db, person_id, month)
    if found is None:
        rules = (await db.execute(sa.select(sa.func.max(IncentiveRules.version)))).scalar()
        return Figures(0, 0, None, None, DEFAULT.version if rules is None else int(rules))
    return found


async def balance(db: AsyncSession, person_id: int) -> int:
    """The sum of the person's entries, as their account keeps it (a column read: never a stale
    object from the session)."""
    found = (await db.execute(sa.select(PointsAccount.balance).where(PointsAccount.person_id == person_id))).scalar()
    return int(found or 0)


HISTORY_PAGE = 20  # a phone's screenful or two; "older entries" pages on


async def history(db: AsyncSession, person_id: int, limit: int = HISTORY_PAGE,
                  before: str | None = None) -> tuple[list[PointsEntry], bool]:
    """The person's entries newest first, `limit` of them, after the entry `before` (its id,
    from the previous page's "older entries" link); and whether older ones are left."""
    query = sa.select(PointsEntry).where(PointsEntry.person_id == person_id)
    if before:
        mark = (await db.execute(sa.select(PointsEntry.at, PointsEntry.created_at).where(
            PointsEntry.id == before, PointsEntry.person_id == person_id))).first()
        if mark is not None:  # an id not theirs (or gone) is the first page
            at, created = mark
            query = query.where(sa.or_(
                PointsEntry.at < at,
                sa.and_(PointsEntry.at == at, PointsEntry.created_at < created),
                sa.and_(PointsEntry.at == at, PointsEntry.created_at == created, PointsEntry.id > before)))
    rows = list((await db.execute(query.order_by(PointsEntry.at.desc(), PointsEntry.created_at.desc(), PointsEntry.id)
                                  .limit(limit + 1))).scalars())
    return rows[:limit], len(rows) > limit


# --- staff: one person's page, manual entries -------------------------------------------

STAFF_ROLES = (Role.admin, Role.community)


async def get_leader_for(db: AsyncSession, viewer: Viewer, person_id: int) -> tuple[Person, str]:
    """A person holding a leader post in the viewer's part of the grid, and that post's path; 404 otherwise."""
    row = (await db.execute(
        sa.select(Person, Post.node_path).join(Post, Post.person_id == Person.id)
        .where(Person.id == person_id, Post.role == Role.leader, current_post(), viewer.subtree_clause(Post.node_path))
        .order_by(Post.post_kind, Post.node_path).limit(1))).first()
    if row is None:
        raise NotFoundException()
    return row[0], row[1]


class NotEnoughPoints(Exception):
    pass


async def lock_account(db: AsyncSession, person_id: int) -> None:
    """Take the person's account row for this transaction (FOR UPDATE on PostgreSQL; SQLite
    writes one transaction at a time anyway), so two spends at once are one after the other."""
    if await db.get(PointsAccount, person_id) is None:
        try:
            async with db.begin_nested():
                db.add(PointsAccount(person_id=person_id))
        except IntegrityError:
            pass
    await db.execute(sa.select(PointsAccount.person_id).where(PointsAccount.person_id == person_id).with_for_update())
    # A write makes SQLite take its lock now, not at commit.
    await db.execute(sa.update(PointsAccount).where(PointsAccount.person_id == person_id)
                     .values(person_id=PointsAccount.person_id))


async def add_manual(db: AsyncSession, *, person_id: int, points: int, reason: str, grid_path: str,
                     by: int, kind: str = EntryKind.manual.value, reverses_id: str | None = None,
                     entry_id_: str | None = None) -> PointsEntry:
    """An award (points > 0) or a deduction (< 0) by staff; a deduction never takes the balance below zero."""
    import uuid

    await lock_account(db, person_id)
    if points < 0 and await balance(db, person_id) + points < 0:
        raise NotEnoughPoints()
    now = utcnow()
    entry = PointsEntry(id=entry_id_ or str(uuid.uuid4()), person_id=person_id, points=points, kind=kind,
                        source_type="manual", grid_path=grid_path, at=now, month=month_of(now), reason=reason,
                        created_by=by, reverses_id=reverses_id)
    db.add(entry)
    await db.flush()
    await credit(db, {person_id: points})
    return entry


# --- rankings ----------------------------------------------------------------------------

PERIODS = ("month", "quarter", "year")


def period_months(period: str, month: str) -> list[str]:
    """The months of the month, quarter or year that `month` (YYYY-MM) falls in."""
    year, m = int(month[:4]), int(month[5:7])
    if period == "year":
        return [f"{year:04d}-{i:02d}" for i in range(1, 13)]
    if period == "quarter":
        first = (m - 1) // 3 * 3 + 1
        return [f"{year:04d}-{i:02d}" for i in range(first, first + 3)]
    return [month]


@dataclass
class Ranked:
    rank: int
    person_id: int
    name: str
    points: int


async def rankings(db: AsyncSession, viewer: Viewer, root_path: str, months: list[str], limit: int = 100) -> list[Ranked]:
    """Points earned in these months, per person, under `root_path` (already scoped by the caller):
    what the work earned, so spending on rewards does not lower anyone's rank."""
    from server.tree import in_subtree

    total = sa.func.sum(PointsEntry.points).label("total")
    rows = (await db.execute(
        sa.select(PointsEntry.person_id, Person.name, total)
        .join(Person, Person.id == PointsEntry.person_id)
        .where(PointsEntry.month.in_(months), in_subtree(PointsEntry.grid_path, root_path),
               viewer.subtree_clause(PointsEntry.grid_path), PointsEntry.kind != "redemption")
        .group_by(PointsEntry.person_id, Person.name)
        .order_by(total.desc(), PointsEntry.person_id).limit(limit))).all()
    out, rank, last = [], 0, None
    for i, (pid, name, pts) in enumerate(rows, start=1):
        if pts != last:
            rank, last = i, pts
        out.append(Ranked(rank, pid, name, int(pts)))
    return out
