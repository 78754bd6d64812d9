"""A year of door-to-door work on the demo street, and the points it earned.

`weiwang demo` runs this after the street (and the made-up ledger, when asked for), so
the points pages, rankings and scorecards have twelve months to show. Every A-post
leader visits a share of their households each month (some leaders much less than
others: the dashboard's "leaders who need help"), and records errands, mediations and
hazard checks. The points come from the real fold (earning.py), so folding again later
adds nothing.

It also gives the street the article's own leader: 李春秀, A-post leader of a micro-grid
in 青禾名都小区, 斜江社区, whose all-time tally is exactly 38 errands, 86 mediations and
33 hazard checks. One community and one of its estates take those names (the grid demo's
names are made up anyway).

Deterministic per seed, relative to the current month (this month must have data).
Core bulk inserts, like the grid demo: about 200,000 visits for the full street.
"""
from __future__ import annotations

import gc
import hashlib
import io
import json
import random
import uuid
from bisect import bisect
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.models import Person, Post, PostKind, Role
from server.bulk import bulk_insert, indexes_set_aside, utc_text
from server.clock import CHINA, aware, month_of, utcnow
from server.grid.models import CareTag, CompoundKind, GridNode, Household, Level
from server.incentives.earning import NAMESPACE, Work, china_month, earn
from server.incentives.models import AllowanceBudget, AllowanceClaim, Commendation, IssueRating, PayoutBatch, PointsAccount, PointsEntry
from server.incentives.rules import RuleBook
from server.issues.models import Issue, Status
from server.tree import community_of
from server.visits.models import NEEDS, POLICIES, SERVICES, ErrandStep, Visit, WorkLogEntry

MONTHS = 12
STAR = "李春秀"
STAR_COMMUNITY = "斜江社区"
STAR_COMPOUND = "青禾名都小区"
STAR_TALLY = {"errand": 38, "mediation": 86, "hazard_check": 33}
PARTIES = ["楼上楼下漏水纠纷", "停车位纠纷", "养犬扰民纠纷", "装修噪音纠纷", "邻里公共区域占用纠纷", "物业费纠纷"]
HAZARDS = [("电动车楼道充电", "楼道"), ("消防通道堵塞", "地下车库"), ("燃气软管老化", "住户厨房"), ("灭火器过期", "单元大厅"),
           ("私拉电线", "自行车棚"), ("窨井盖松动", "小区道路")]
OUTCOMES = ["settled"] * 6 + ["partly", "referred"]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _month_starts(now: datetime) -> list[datetime]:
    """The first instant (China time) of each of the last MONTHS months, oldest first."""
    local = now.astimezone(CHINA)
    year, month = local.year, local.month
    starts = []
    for _ in range(MONTHS):
        starts.append(datetime(year, month, 1, tzinfo=CHINA))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(starts))


VISIT_COLUMNS = ("id", "household_id", "grid_path", "person_id", "kind", "needs", "policies", "note", "visited_at",
                 "received_at")
ENTRY_COLUMNS = ("id", "person_id", "points", "kind", "rule", "rule_version", "source_type", "source_id", "key",
                 "grid_path", "at", "month", "reverses_id", "reason", "created_by", "created_at")


def _below(rng: random.Random):
    """below(n): the number randrange(n) draws, the way CPython's random module draws it for an
    integer n >= 1 (getrandbits(n.bit_length()) drawn again while it is n or more), without
    randrange's argument checks; written out rather than borrowing Random's private
    _randbelow. tests/incentives/test_demo_shortcuts.py holds it to randrange."""
    bits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = bits(k)
        while r >= n:
            r = bits(k)
        return r
    return below


def _clock(rng: random.Random, months: list[datetime], now: datetime):
    """when(i): a working-hours moment (China time) in month `i` of `months`, never in the future.
    Seconds since the epoch, the months' instants worked out once: this runs 230,000 times.
    The draws are randrange(days), randint(8, 19), randrange(60) (and randint(5, 600)) spelled
    out: randrange(n) is below(n), randint(a, b) is a + below(b - a + 1) (see _below), inlined
    here for days (28 or 30: 5 bits), hours (12: 4 bits) and minutes (60: 6 bits)."""
    below, bits, utc, from_seconds = _below(rng), rng.getrandbits, timezone.utc, datetime.fromtimestamp
    now_seconds = now.timestamp()
    spans = [(start.timestamp(), 28 if start.month == 2 else 30) for start in months]

    def when(i: int) -> datetime:
        start, days = spans[i]
        day = bits(5)
        while day >= days:
            day = bits(5)
        hour = bits(4)
        while hour >= 12:
            hour = bits(4)
        minute = bits(6)
        while minute >= 60:
            minute = bits(6)
        seconds = start + day * 86400 + (8 + hour) * 3600 + minute * 60
        if seconds > now_seconds:
            seconds = max(now_seconds - (5 + below(596)) * 60, start + 9 * 3600)
        return from_seconds(seconds, utc)
    return when


_V4_CLEAR, _V4_SET = ~((0xc000 << 48) | (0xf000 << 64)), (0x8000 << 48) | (4 << 76)  # uuid.UUID(version=...)
_V5_CLEAR, _V5_SET = _V4_CLEAR, (0x8000 << 48) | (5 << 76)


def _uuid4_text(n: int) -> tuple[str, str]:
    """uuid.UUID(int=n, version=4) as (.hex, str()), without making the UUID."""
    h = f"{(n & _V4_CLEAR) | _V4_SET:032x}"
    return h, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_ENTRY_NAMESPACE = hashlib.sha1(NAMESPACE.bytes)


def _entry_id(person_id: int, key: str) -> str:
    """earning.entry_id(person_id, key, 0) (uuid5 spelled out, the namespace hashed once): 240,000 calls."""
    digest = _ENTRY_NAMESPACE.copy()
    digest.update(f"{person_id}|{key}|0".encode())
    h = f"{(int.from_bytes(digest.digest()[:16]) & _V5_CLEAR) | _V5_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def _name_the_star(conn: AsyncConnection, rng: random.Random) -> int | None:
    """斜江社区 / 青禾名都小区 / 李春秀: the article's names on one community, estate and A-post leader."""
    g, p, post = GridNode.__table__, Person.__table__, Post.__table__
    row = (await conn.execute(
        sa.select(g.c.id, g.c.path).where(g.c.level == Level.compound.value, g.c.kind == CompoundKind.residential.value,
                                          g.c.property_company_id.is_not(None)).order_by(g.c.path))).first()
    if row is None:
        return None
    compound_id, compound_path = row
    community_path = compound_path[:16]
    await conn.execute(g.update().where(g.c.path == community_path).values(name=STAR_COMMUNITY))
    await conn.execute(g.update().where(g.c.id == compound_id).values(name=STAR_COMPOUND))
    leader = (await conn.execute(
        sa.select(post.c.person_id).join(g, g.c.id == post.c.node_id)
        .where(post.c.role == Role.leader.value, post.c.post_kind == PostKind.primary.value,
               g.c.path >= compound_path, g.c.path < compound_path + ":").order_by(g.c.path).limit(1))).scalar()
    if leader is not None:
        await conn.execute(p.update().where(p.c.id == leader).values(name=STAR, gender="female", birth_year=1968,
                                                                     political_status="party_member"))
    return leader


# A year of history for about one street's leaders (晋原: 1,352). `weiwang demo --scale 100` makes a
# city of some 135,000: a year for each would be two hundred million rows and hours of loading, while
# the pages need only leaders with a past to show. Past this many, the first communities (in grid
# order) whose leaders fit get the history, and the rest start with a clean record.
HISTORY_LEADERS = 1500


async def _history_scope(conn: AsyncConnection) -> list[str] | None:
    """The community paths whose leaders get a year of history; None for all of them."""
    g, post = GridNode.__table__, Post.__table__
    per_community = (await conn.execute(
        sa.select(community_of(g.c.path), sa.func.count()).join(g, g.c.id == post.c.node_id)
        .where(post.c.role == Role.leader.value, post.c.post_kind == PostKind.primary.value, post.c.ended_on.is_(None))
        .group_by(community_of(g.c.path)).order_by(community_of(g.c.path)))).all()
    if sum(n for _, n in per_community) <= HISTORY_LEADERS:
        return None
    scope, total = [], 0
    for path, n in per_community:
        if scope and total + n > HISTORY_LEADERS:
            break
        scope.append(path)
        total += n
    return scope


async def load_incentives_demo(conn: AsyncConnection, seed: int = 1, now: datetime | None = None) -> dict[str, int]:
    # A million small objects (rows, Work records, times) and not one cycle among them: the
    # cyclic collector's passes over the growing heap cost 1-1.5 s of the ~20 s, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return await _load_history(conn, seed, now)
    finally:
        if collecting:
            gc.enable()


async def _load_history(conn: AsyncConnection, seed: int, now: datetime | None) -> dict[str, int]:
    rng = random.Random(seed * 7919 + 10)
    now = now or utcnow()
    star = await _name_the_star(conn, rng)
    g, post, h = GridNode.__table__, Post.__table__, Household.__table__
    scope = await _history_scope(conn)
    leaders = (await conn.execute(
        sa.select(post.c.person_id, g.c.id, g.c.path).join(g, g.c.id == post.c.node_id)
        .where(post.c.role == Role.leader.value, post.c.post_kind == PostKind.primary.value, post.c.ended_on.is_(None),
               *([] if scope is None else [community_of(g.c.path).in_(scope)]))
        .order_by(g.c.path))).all()
    households: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for hid, mg_id, tags in (await conn.execute(
            sa.select(h.c.id, h.c.microgrid_id, h.c.care_tags)
            .where(*([] if scope is None else [community_of(h.c.grid_path).in_(scope)])).order_by(h.c.id))).all():
        households[mg_id].append((hid, CareTag.elderly_alone.value in (tags or [])))
    months = _month_starts(now)
    when = _clock(rng, months, now)
    sqlite = conn.dialect.name == "sqlite"
    # Rows are built as the driver stores them (see server/bulk.py): a UUID as 32 hex digits in SQLite and
    # as text for PostgreSQL's COPY, a time as UTC text in SQLite. Per-value conversion of 450,000
    # rows afterwards took a quarter of the demo's time.
    visits: list[tuple] = []
    visit_stamps: dict[str, tuple] = {}  # visit id -> (stored time, China month): its entry's, made once
    work: list[dict] = []
    works: dict[int, list[Work]] = defaultdict(list)
    needs, policies, services = list(NEEDS), list(POLICIES), list(SERVICES)
    # The draws below are rng.choice / rng.choices / randrange spelled out (same draws, same
    # street per seed), with the JSON of each one-item list made once.
    random_, below, bits = rng.random, _below(rng), rng.getrandbits
    need_json = [json.dumps([n]) for n in needs]
    policy_json = [json.dumps([p]) for p in policies]
    n_needs, n_policies = len(needs), len(policies)
    visit_kinds, visit_weights = ("routine", "policy", "survey"), [6, 9, 10]  # choices(..., (6, 3, 1)) cumulated
    for person_id, mg_id, path in leaders:
        # Each leader has a habit: most visit a third to most of their households a month, a few hardly any.
        diligence = rng.choice((0.08, 0.15)) if rng.random() < 0.08 else rng.uniform(0.25, 0.65)
        homes = households.get(mg_id, [])
        mine = works[person_id]
        for i, start in enumerate(months):
            month_key = f"{start.year:04d}-{start.month:02d}"
            # The street took the app up over the year: older months have fewer visits on record.
            month_share = diligence * (0.45 + 0.55 * i / (len(months) - 1))
            if i == len(months) - 1:
                month_share *= 0.6  # this month is not over yet
            share_alone = month_share + 0.2
            for hid, alone in homes:
                if random_() >= (share_alone if alone else month_share):
                    continue
                at = when(i)
                hex_id, vid = _uuid4_text(bits(128))
                kind = "care" if alone else visit_kinds[bisect(visit_weights, random_() * 10.0, 0, 2)]
                need = need_json[below(n_needs)] if random_() < 0.3 else "[]"
                policy = policy_json[below(n_policies)] if kind == "policy" else "[]"
                stamp = at.isoformat(" ", "microseconds")[:26] if sqlite else at  # `at` is UTC
                visits.append((hex_id if sqlite else vid, hid, path, person_id, kind, need, policy, "", stamp, stamp))
                visit_stamps[vid] = (stamp, month_key)  # when(i) is always in month i, China time
                mine.append(Work(person_id, "care_visit" if alone else "visit", "visit", vid, at, path,
                                 f"visit:{hid}:{month_key}"))
            if person_id == star:
                continue
            for kind, chance in (("errand", 0.3), ("mediation", 0.2), ("hazard_check", 0.25)):
                for _ in range(sum(rng.random() < chance for _ in range(1 + int(diligence * 4)))):
                    work.append(_work_row(rng, kind, person_id, mg_id, path, when(i), services))
        if person_id == star:
            for kind, n in STAR_TALLY.items():
                for k in range(n):
                    work.append(_work_row(rng, kind, person_id, mg_id, path, when(k * len(months) // n), services))
    for row in work:
        works[row["person_id"]].append(Work(row["person_id"], row["kind"], "work", str(row["id"]), row["done_at"],
                                            row["grid_path"], f"{row['kind']}:{row['id']}"))
    holiday_counts = await _holidays(conn, rng, now, works, None if scope is None else scope[0])
    catalogue = await _catalogue(conn, now)
    ratings = await _ratings(conn, rng, now)
    # Problems reported by the leaders and closed with feedback, and residents' "satisfied": points too.
    for issue_id, pid, closed_at, on_time, path in (await conn.execute(
            sa.select(Issue.__table__.c.id, Issue.__table__.c.reported_by, Issue.__table__.c.closed_at,
                      Issue.__table__.c.on_time, Issue.__table__.c.node_path)
            .where(Issue.__table__.c.reported_by.is_not(None), Issue.__table__.c.status == Status.closed.value,
                   Issue.__table__.c.feedback_count > 0))).all():
        works[pid].append(Work(pid, "issue_closed", "issue", issue_id, aware(closed_at), path, f"issue_closed:{issue_id}"))
        if on_time:
            works[pid].append(Work(pid, "issue_on_time", "issue", issue_id, aware(closed_at), path, f"issue_on_time:{issue_id}"))
    for issue_id, pid, path, rating, at in ratings:
        if pid is not None and rating == "satisfied":
            works[pid].append(Work(pid, "satisfied", "issue", issue_id, at, path, f"satisfied:{issue_id}"))
    book = RuleBook()
    entries: list[tuple] = []
    earned: list[tuple[int, int, str, str]] = []  # (person, points, month, grid path) for the commendations
    balances: dict[int, int] = {}
    created = utc_text(now) if sqlite else now
    for pid in sorted(works):
        # An empty ledger: plan() would append each slot's earning as it is (entry 0 of the slot).
        total = 0
        for key, e in earn(works[pid], book).items():
            if e.points > 0:
                w = e.work
                stamp, month = visit_stamps.get(w.source_id) or (utc_text(w.at) if sqlite else w.at, china_month(w.at))
                entries.append((_entry_id(pid, key), pid, e.points, "earned", w.rule, e.version, w.source_type,
                                w.source_id, key, w.grid_path, stamp, month, None, "", None, created))
                earned.append((pid, e.points, month, w.grid_path))
                total += e.points
        balances[pid] = total
    accounts = [{"person_id": pid, "folded_at": now, "folded_version": book.current.version, "balance": balances[pid]}
                for pid in sorted(works)]
    commendations = _commendation_round(earned, star, now)
    budgets, claims = await _allowances(conn, rng, leaders, now)
    errand_steps = _errand_steps(rng, work, now)
    big = (Visit.__table__, WorkLogEntry.__table__, ErrandStep.__table__, PointsEntry.__table__)
    async with indexes_set_aside(conn, *big):
        await bulk_insert(conn, Visit.__table__, visits, VISIT_COLUMNS)
        for table, rows in ((WorkLogEntry.__table__, work), (ErrandStep.__table__, errand_steps)):
            await bulk_insert(conn, table, rows)
        await bulk_insert(conn, PointsEntry.__table__, entries, ENTRY_COLUMNS)
    for table, rows in ((PointsAccount.__table__, accounts), (Commendation.__table__, commendations),
                        (AllowanceBudget.__table__, budgets), (AllowanceClaim.__table__, claims)):
        await bulk_insert(conn, table, rows)
    return {"visits": len(visits), "work_log": len(work), "points_entries": len(entries),
            "ratings": len(ratings), "commended": len(commendations), "allowance_claims": len(claims), "catalogue": catalogue, **holiday_counts}


CATALOGUE = [  # name, description, points, stock, colour of the photo
    ("社区超市购物卡", "50元，社区合作超市通用", 80, 40, (196, 48, 43)),
    ("不锈钢保温杯", "500毫升", 30, 60, (64, 110, 160)),
    ("折叠雨伞", "走访下雨不怕", 25, 50, (40, 140, 110)),
    ("东北大米 5公斤", "节日慰问同款", 45, 30, (214, 170, 60)),
    ("强光手电筒", "夜间巡查、排查隐患用", 35, 25, (70, 70, 80)),
    ("体检套餐", "县人民医院基础体检一次", 150, 10, (120, 80, 150)),
]


def _catalogue_photo(colour: tuple[int, int, int]) -> bytes:
    """A plain picture for a demo item (no font needed): a soft gradient and a round badge."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (245, 243, 238))
    draw = ImageDraw.Draw(image)
    for y in range(600):
        shade = tuple(int(c + (255 - c) * (1 - y / 600) * 0.55) for c in colour)
        draw.line([(0, y), (800, y)], fill=shade)
    draw.ellipse((250, 150, 550, 450), fill=(255, 255, 255), outline=colour, width=18)
    draw.rounded_rectangle((340, 240, 460, 360), radius=24, fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def _catalogue(conn: AsyncConnection, now: datetime) -> int:
    """The street's rewards catalogue, each item with a photo stored like every photo (server/photos.py)."""
    from server import photos
    from server.incentives.catalogue import photo_record_id
    from server.incentives.models import RewardItem
    from server.sync.models import Photo, SyncReceipt

    admin = (await conn.execute(sa.select(Post.__table__.c.person_id).where(Post.__table__.c.role == Role.admin.value)
                                .order_by(Post.__table__.c.person_id).limit(1))).scalar()
    if admin is None:
        return 0
    receipts, stored = [], []
    for name, description, points, stock, colour in CATALOGUE:
        item_id = (await conn.execute(RewardItem.__table__.insert().values(
            name=name, description=description, points=points, stock=stock, active=True, created_by=admin,
            created_at=now - timedelta(days=200)).returning(RewardItem.__table__.c.id))).scalar_one()
        photo = photos.clean_photo(_catalogue_photo(colour))
        record_id = photo_record_id(item_id)
        receipts.append({"id": record_id, "type": "reward_photo", "person_id": admin, "device_id": None,
                         "content_hash": "0" * 64, "status": "created", "grid_path": None, "received_at": now,
                         "version": 1})
        stored.append({"id": uuid.uuid5(record_id, "demo"), "record_id": record_id, "person_id": admin,
                       "content_type": photo.content_type, "width": photo.width, "height": photo.height,
                       "size": len(photo.data), "sha256": photo.sha256, "data": photo.data, "received_at": now})
    await bulk_insert(conn, SyncReceipt.__table__, receipts)
    await bulk_insert(conn, Photo.__table__, stored)
    return len(CATALOGUE)


HOLIDAY_TAGS = [CareTag.elderly_alone.value, CareTag.low_income.value, CareTag.disabled.value, CareTag.special_support.value]


async def _holidays(conn: AsyncConnection, rng: random.Random, now: datetime, works: dict[int, list[Work]],
                    community: str | None = None) -> dict[str, int]:
    """Two street campaigns drawn like the app draws them (holidays.draw_targets): last 春节, finished
    with most doors visited, and a New Year one running now, about a third done. Their visits earn
    points through the same fold as everything else (`works`). For a city (`community` given: the
    history's first community) they are that community's campaigns."""
    from server.incentives.holidays import draw_targets
    from server.incentives.models import HolidayCampaign, HolidayTarget, HolidayVisit

    g = GridNode.__table__
    street = community or (await conn.execute(
        sa.select(g.c.path).where(g.c.level == Level.street.value).order_by(g.c.path))).scalar()
    if street is None:
        return {}
    today = now.astimezone(CHINA).date()
    spring_year = today.year if today.month >= 3 else today.year - 1
    spring = (date(spring_year, 1, 20), date(spring_year, 2, 28))
    running = (today - timedelta(days=10), today + timedelta(days=35))
    t = HolidayTarget.__table__
    targets = 0
    visits: list[dict] = []
    for name, (starts, ends), share in ((f"{spring_year}年春节走访慰问", spring, 0.92), ("元旦走访慰问", running, 0.35)):
        campaign_id = (await conn.execute(HolidayCampaign.__table__.insert().values(
            name=name, node_path=street, starts_on=starts, ends_on=ends, care_tags=HOLIDAY_TAGS, include_leaders=True,
            created_by=None, created_at=datetime.combine(starts, datetime.min.time(), CHINA) - timedelta(days=5))
            .returning(HolidayCampaign.__table__.c.id))).scalar_one()
        campaign = HolidayCampaign(id=campaign_id, name=name, node_path=street, starts_on=starts, ends_on=ends,
                                   care_tags=HOLIDAY_TAGS, include_leaders=True)
        targets += await draw_targets(conn, campaign)
        first = datetime.combine(starts, datetime.min.time(), CHINA).astimezone(timezone.utc)
        last = min(datetime.combine(ends, datetime.min.time(), CHINA).astimezone(timezone.utc) + timedelta(hours=20), now)
        span = max(int((last - first).total_seconds()) - 9 * 3600, 3600)
        for target_id, path, visitor in (await conn.execute(sa.select(t.c.id, t.c.grid_path, t.c.visitor_id).where(
                t.c.campaign_id == campaign_id, t.c.visitor_id.is_not(None)).order_by(t.c.id))).all():
            if rng.random() >= share:
                continue
            at = first + timedelta(seconds=9 * 3600 + rng.randrange(span))
            vid = _uuid(rng)
            visits.append({"id": vid, "target_id": target_id, "campaign_id": campaign_id, "person_id": visitor,
                           "grid_path": path, "note": "", "visited_at": at, "received_at": at})
            works[visitor].append(Work(visitor, "holiday_visit", "holiday", str(vid), at, path, f"holiday_visit:{target_id}"))
    await bulk_insert(conn, HolidayVisit.__table__, visits)
    return {"holiday_targets": targets, "holiday_visits": len(visits)}


FUND_FEN = 35_000_000  # the article's ¥350,000 a year, shared by the communities
CLAIM_NOTES = {"duty": ["防汛值守", "节日值班", "疫苗接种现场引导"], "meal": ["夜间值守误餐", "巡查误餐"],
               "travel": ["去县城代办社保", "陪同老人就医"]}


async def _allowances(conn: AsyncConnection, rng: random.Random, leaders, now: datetime) -> tuple[list[dict], list[dict]]:
    """This year's budget per community, and a season of claims: older ones paid, recent ones waiting."""
    g = GridNode.__table__
    communities = [p for (p,) in (await conn.execute(sa.select(g.c.path).where(g.c.level == Level.community.value)
                                                      .order_by(g.c.path))).all()]
    year = now.astimezone(CHINA).year
    share = FUND_FEN // max(len(communities), 1)
    budgets = [{"year": year, "node_path": p, "amount_fen": share, "set_by": None, "set_at": now} for p in communities]
    claims = []
    for person_id, _mg_id, path in leaders:
        if rng.random() >= 0.15:
            continue
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(("duty", "meal", "meal", "travel"))
            age = rng.randint(0, 80)
            day = (now - timedelta(days=age)).astimezone(CHINA).date()
            status = "paid" if age > 40 else rng.choice(("claimed", "approved", "approved", "refused"))
            fen = {"duty": rng.choice((5000, 8000, 10000)), "meal": rng.choice((1500, 1850, 2000, 2500)),
                   "travel": rng.randrange(600, 6000, 50)}[kind]
            at = now - timedelta(days=age, hours=rng.randint(1, 8))
            claims.append({"id": _uuid(rng), "person_id": person_id, "grid_path": path, "kind": kind, "claimed_on": day,
                           "amount_fen": fen, "note": rng.choice(CLAIM_NOTES[kind]), "status": status,
                           "decided_by": None, "decided_at": at if status != "claimed" else None, "batch_id": None,
                           "created_at": at, "received_at": at})
    paid = [c for c in claims if c["status"] == "paid"]
    if paid and communities:
        street_path = communities[0][:8]
        batch_id = (await conn.execute(PayoutBatch.__table__.insert().values(
            node_path=street_path, total_fen=sum(c["amount_fen"] for c in paid), claims=len(paid), created_by=None,
            created_at=now - timedelta(days=40)).returning(PayoutBatch.__table__.c.id))).scalar_one()
        for c in paid:
            c["batch_id"] = batch_id
    return budgets, claims


STAR_CITATION = "担任微网格长以来，帮助行动不便群众办理政务事项38件、调解纠纷86次、协助排查安全隐患33次。"


def _commendation_round(earned_points: list[tuple[int, int, str, str]], star: int | None, now: datetime) -> list[dict]:
    """Last quarter's round: the five leaders who earned most, and 李春秀, commended by the street."""
    local = now.astimezone(CHINA)
    year, quarter = local.year, (local.month - 1) // 3  # the quarter before this one
    if quarter == 0:
        year, quarter = year - 1, 4
    months = {f"{year}-{m:02d}" for m in range((quarter - 1) * 3 + 1, quarter * 3 + 1)}
    earned: dict[int, int] = defaultdict(int)
    paths: dict[int, str] = {}
    for pid, points, month, path in earned_points:
        if month in months:
            earned[pid] += points
            paths.setdefault(pid, path)
    chosen = sorted(earned, key=lambda pid: (-earned[pid], pid))[:5]
    if star is not None and star in earned and star not in chosen:
        chosen.append(star)
    decided = now - timedelta(days=3)
    return [{"id": str(uuid.uuid5(uuid.UUID(int=pid), f"commendation-{year}-Q{quarter}")), "period": f"{year}-Q{quarter}",
             "person_id": pid, "grid_path": paths[pid], "title": "优秀微网格长",
             "citation": STAR_CITATION if pid == star else "", "points": earned[pid], "status": "approved",
             "proposed_by": None, "proposed_at": decided - timedelta(days=7), "decided_by": None, "decided_at": decided}
            for pid in chosen]


def _work_row(rng, kind, person_id, mg_id, path, at, services) -> dict:
    hazard, place = rng.choice(HAZARDS)
    return {"id": _uuid(rng), "kind": kind, "person_id": person_id, "microgrid_id": mg_id, "grid_path": path,
            "household_id": None, "service": rng.choice(services) if kind == "errand" else "",
            "parties": rng.choice(PARTIES) if kind == "mediation" else "",
            "outcome": rng.choice(OUTCOMES) if kind == "mediation" else "",
            "hazard": hazard if kind == "hazard_check" else "", "place": place if kind == "hazard_check" else "",
            "fixed": (rng.random() < 0.6) if kind == "hazard_check" else None, "note": "", "done_at": at, "received_at": at,
            "issue_id": None, "errand_status": "accepted" if kind == "errand" else "", "errand_department": ""}


def _errand_steps(rng, work: list[dict], now: datetime) -> list[dict]:
    """An errand's life (server/visits/errands.py): older ones done (a few referred), the last
    fortnight's still accepted or being handled. The rows' status is what the steps fold to."""
    steps = []
    for row in work:
        if row["kind"] != "errand":
            continue
        age = (now - row["done_at"]).days
        base = {"entry_id": row["id"], "department": "", "note": "", "told": "", "actor_id": row["person_id"],
                "actor_name": "", "received_at": now, "applied": True, "why": ""}
        if age < 14 and rng.random() < 0.6:
            if rng.random() < 0.5:
                steps.append({**base, "id": str(uuid.uuid5(row["id"], "start")), "kind": "start",
                              "at": row["done_at"] + timedelta(hours=2)})
                row["errand_status"] = "in_progress"
            continue
        finish = min(row["done_at"] + timedelta(days=rng.randint(1, 5)), now)
        if rng.random() < 0.1:
            steps.append({**base, "id": str(uuid.uuid5(row["id"], "refer")), "kind": "refer", "at": finish,
                          "department": rng.choice(["县社保局", "县医保局", "县残联", "镇便民服务中心"]), "told": "in_person"})
            row["errand_status"], row["errand_department"] = "referred", steps[-1]["department"]
        else:
            steps.append({**base, "id": str(uuid.uuid5(row["id"], "done")), "kind": "done", "at": finish, "told": "in_person"})
            row["errand_status"] = "done"
    return steps


async def _ratings(conn: AsyncConnection, rng: random.Random, now: datetime) -> list[tuple]:
    """Residents rate about half the problems that got feedback (most are satisfied)."""
    i = Issue.__table__
    rows = (await conn.execute(sa.select(i.c.id, i.c.reported_by, i.c.node_path, i.c.closed_at, i.c.last_event_at).where(
        i.c.feedback_count > 0, i.c.status.in_((Status.fed_back.value, Status.closed.value))).order_by(i.c.id))).all()
    out: list[tuple] = []
    inserts = []
    for issue_id, reporter, path, closed_at, last in rows:
        if rng.random() >= 0.5:
            continue
        rating = rng.choices(("satisfied", "basic", "unsatisfied"), (70, 22, 8))[0]
        at = min(now, aware(closed_at or last or now) + timedelta(hours=rng.randint(1, 72)))
        out.append((issue_id, reporter, path, rating, at))
        inserts.append({"issue_id": issue_id, "rating": rating, "node_path": path, "month": month_of(at), "rated_at": at})
    await bulk_insert(conn, IssueRating.__table__, inserts)
    return out


