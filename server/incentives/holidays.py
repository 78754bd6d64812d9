"""Holiday visits (节日走访慰问): campaigns, their target lists, who visits whom, progress.

The street (for the whole street or one community) or a community (for itself) opens a
campaign: a name (春节, 中秋...), a period, and whom to visit. Its target list is drawn
once, when it is created: the leaders of the subtree (visited by their community's
staff) and the households carrying the chosen care tags (独居老人, 低保, 残疾人...), each
visited by default by the A-post leader of the household's own micro-grid. Staff
reassign a target to anyone holding a post in that community.

The visitor marks a target visited from the phone, offline like every record: sync type
`holiday_visit` (the client's UUID is the key, receipts make a replay a no-op). A target
is visited once: a second mark of the same target (a double tap, two phones) is accepted
and changes nothing, the first one stands. A mark made on the phone outside the
campaign's period, or for a target given to someone else since, is refused with its
reason. Each visit earns its visitor the rule table's `holiday_visit` points (ledger.py).

Scope: staff see campaigns that cover or lie in their part of the grid and only the
targets inside it; a leader sees only the targets given to her.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Post, PostKind, Role, current_post
from server.accounts.scope import Viewer
from server.clock import CHINA, today_in_china, utcnow
from server.grid import queries as grid_queries
from server.grid.models import CareTag, GridNode, Household, Level, active_household
from server.i18n import N_
from server.incentives.models import HolidayCampaign, HolidayTarget, HolidayVisit
from server.sync.registry import SyncRecord, SyncType, add_row
from server.sync.service import CREATED, store_one
from server.tree import COMMUNITY_LEN, ancestor_paths, community_of, in_subtree
from server.validate import PathId, ascii_int, parse_day
from server.web import render, request_language, t

STAFF_ROLES = (Role.admin, Role.community)
VIEW_ROLES = (Role.admin, Role.community, Role.compound)
VISITOR_ROLES = frozenset({Role.leader, Role.community, Role.compound, Role.admin})
# The care tags a campaign draws unless the creator chooses otherwise.
DEFAULT_TAGS = (CareTag.elderly_alone.value, CareTag.low_income.value, CareTag.disabled.value,
                CareTag.special_support.value)
MAX_DAYS = 120
LIST_LIMIT = 100

MSG_NOT_YOURS = N_("This visit is not on your list (it may have been given to someone else).")
MSG_OUTSIDE_PERIOD = N_("This campaign runs from %(start)s to %(end)s: a visit outside those days is not counted.")
MSG_NAME = N_("A name of 1 to 40 characters, e.g. 春节走访慰问.")
MSG_START = N_("Enter the first day (YYYY-MM-DD).")
MSG_END = N_("Enter the last day: not before the first, not in the past, at most 120 days after the first.")
MSG_WHOM = N_("Choose at least one care tag, or the leaders.")
MSG_VISITOR = N_("Choose someone who works in this community.")

STATES = {"upcoming": N_("Not started"), "running": N_("Running"), "finished": N_("Finished")}


def state_of(campaign: HolidayCampaign, today: date | None = None) -> str:
    today = today or today_in_china()
    if today < campaign.starts_on:
        return "upcoming"
    return "running" if today <= campaign.ends_on else "finished"


# --- who sees what ------------------------------------------------------------------------

def _campaign_visible(viewer: Viewer):
    """Campaigns of the viewer's part of the grid: at or under their roots, or above them (the street's)."""
    above = sorted({a for root in viewer.grid_paths for a in ancestor_paths(root)})
    return sa.or_(viewer.subtree_clause(HolidayCampaign.node_path), HolidayCampaign.node_path.in_(above or [""]))


def _is_staff(viewer: Viewer) -> bool:
    return viewer.has_role(*VIEW_ROLES)


async def get_campaign_for(db: AsyncSession, viewer: Viewer, campaign_id: int) -> HolidayCampaign:
    """The campaign if the viewer may see it (staff: it covers their part; anyone: a target is theirs); 404 otherwise."""
    campaign = await db.get(HolidayCampaign, campaign_id)
    if campaign is None:
        raise NotFoundException()
    if _is_staff(viewer) and any(campaign.node_path.startswith(r) or r.startswith(campaign.node_path)
                                 for r in viewer.grid_paths):
        return campaign
    mine = (await db.execute(sa.select(HolidayTarget.id).where(
        HolidayTarget.campaign_id == campaign.id, HolidayTarget.visitor_id == viewer.person_id).limit(1))).first()
    if mine is None:
        raise NotFoundException()
    return campaign


def target_scope(viewer: Viewer):
    """Targets a viewer sees: staff those inside their part of the grid, anyone those given to them."""
    own = HolidayTarget.visitor_id == viewer.person_id
    return sa.or_(viewer.subtree_clause(HolidayTarget.grid_path), own) if _is_staff(viewer) else own


async def get_target_for(db: AsyncSession, viewer: Viewer, target_id: int) -> HolidayTarget:
    target = (await db.execute(sa.select(HolidayTarget).where(
        HolidayTarget.id == target_id, target_scope(viewer)))).scalar_one_or_none()
    if target is None:
        raise NotFoundException()
    return target


# --- progress -----------------------------------------------------------------------------

@dataclass
class Progress:
    path: str
    name: str
    code: str = ""
    targets: int = 0
    done: int = 0
    households: int = 0
    households_done: int = 0
    leaders: int = 0
    leaders_done: int = 0

    @property
    def share(self) -> float | None:
        return self.done / self.targets if self.targets else None


async def progress_by_community(db: AsyncSession, viewer: Viewer, campaign: HolidayCampaign) -> list[Progress]:
    """Targets and visited targets per community, of the targets the viewer sees: one grouped query."""
    community = community_of(HolidayTarget.grid_path).label("community")
    done = sa.case((HolidayVisit.id.is_not(None), 1), else_=0)
    rows = (await db.execute(
        sa.select(community, HolidayTarget.kind, sa.func.count(), sa.func.sum(done))
        .select_from(HolidayTarget).outerjoin(HolidayVisit, HolidayVisit.target_id == HolidayTarget.id)
        .where(HolidayTarget.campaign_id == campaign.id, target_scope(viewer))
        .group_by(community, HolidayTarget.kind))).all()
    names = {path: (name, code) for path, name, code in await db.execute(
        sa.select(GridNode.path, GridNode.name, GridNode.code).where(GridNode.path.in_(sorted({r[0] for r in rows}) or [""])))}
    out: dict[str, Progress] = {}
    for path, kind, n, n_done in rows:
        p = out.setdefault(path, Progress(path, *names.get(path, ("", ""))))
        p.targets += n
        p.done += int(n_done or 0)
        if kind == "leader":
            p.leaders, p.leaders_done = p.leaders + n, p.leaders_done + int(n_done or 0)
        else:
            p.households, p.households_done = p.households + n, p.households_done + int(n_done or 0)
    return sorted(out.values(), key=lambda p: p.path)


def total_of(rows: list[Progress]) -> Progress:
    total = Progress("", "")
    for p in rows:
        for name in ("targets", "done", "households", "households_done", "leaders", "leaders_done"):
            setattr(total, name, getattr(total, name) + getattr(p, name))
    return total


@dataclass
class TargetRow:
    target: HolidayTarget
    label: str  # the household's address and head, or the leader's name
    grid_name: str
    visitor: str
    visited: HolidayVisit | None
    care_tags: list[str]


async def target_rows(db: AsyncSession, viewer: Viewer, where: list, limit: int = LIST_LIMIT,
                      offset: int = 0) -> tuple[list[TargetRow], int]:
    """Targets (scoped) with what a list shows, not-visited first, `limit` from `offset`; and how
    many match in all."""
    visitor = sa.orm.aliased(Person)
    visited_person = sa.orm.aliased(Person)
    clauses = [target_scope(viewer), *where]
    count = (await db.execute(sa.select(sa.func.count()).select_from(HolidayTarget)
                              .outerjoin(HolidayVisit, HolidayVisit.target_id == HolidayTarget.id).where(*clauses))).scalar_one()
    rows = (await db.execute(
        sa.select(HolidayTarget, HolidayVisit, Household.address, Household.head_name, Household.care_tags,
                  visited_person.name, GridNode.name, visitor.name)
        .outerjoin(HolidayVisit, HolidayVisit.target_id == HolidayTarget.id)
        # Bounded by the target's path: the household lies on it (the street key of a partitioned table).
        .outerjoin(Household, sa.and_(Household.id == HolidayTarget.household_id,
                                      Household.grid_path == HolidayTarget.grid_path))
        .outerjoin(visited_person, visited_person.id == HolidayTarget.person_id)
        .outerjoin(GridNode, GridNode.path == HolidayTarget.grid_path)
        .outerjoin(visitor, visitor.id == HolidayTarget.visitor_id)
        .where(*clauses)
        .order_by(HolidayVisit.id.is_not(None), HolidayTarget.grid_path, HolidayTarget.kind.desc(), HolidayTarget.id)
        .limit(limit).offset(offset))).all()
    out = []
    for target, visit, address, head, tags, leader_name, grid_name, visitor_name in rows:
        label = f"{address} · {head}" if target.kind == "household" else (leader_name or "")
        out.append(TargetRow(target, label, grid_name or "", visitor_name or "", visit, list(tags or [])))
    return out, count


# --- creating a campaign ------------------------------------------------------------------

def _has_any_tag(tags: list[str]):
    # Care tags are a JSON list stored as text: '"elderly_alone"' occurs only for that tag.
    text = sa.cast(Household.care_tags, sa.String)
    return sa.or_(*[text.like(f'%"{tag}"%') for tag in tags]) if tags else sa.false()


async def draw_targets(db: AsyncSession | AsyncConnection, campaign: HolidayCampaign) -> int:
    """The campaign's target list with default visitors, inserted in the caller's transaction
    (a session, or the demo's connection: Core statements only)."""
    root = campaign.node_path
    a_leader = dict((await db.execute(sa.select(Post.node_id, Post.person_id).where(
        Post.role == Role.leader, Post.post_kind == PostKind.primary.value, current_post(),
        in_subtree(Post.node_path, root)).order_by(Post.node_id, Post.person_id))).all())
    rows: list[dict[str, Any]] = []
    if campaign.care_tags:
        for hid, mg_id, path in await db.execute(
                sa.select(Household.id, Household.microgrid_id, Household.grid_path)
                .where(in_subtree(Household.grid_path, root), active_household(), _has_any_tag(campaign.care_tags))
                .order_by(Household.grid_path, Household.id)):
            rows.append({"campaign_id": campaign.id, "kind": "household", "household_id": hid, "person_id": None,
                         "grid_path": path, "visitor_id": a_leader.get(mg_id)})
    if campaign.include_leaders:
        # Each community's first staff member visits its leaders (staff reassign as they share the work).
        staff: dict[str, int] = {}
        for path, pid in await db.execute(sa.select(Post.node_path, Post.person_id).where(
                Post.role == Role.community, current_post(), in_subtree(Post.node_path, root[:COMMUNITY_LEN] if len(root) > COMMUNITY_LEN else root))
                .order_by(Post.node_path, Post.person_id)):
            staff.setdefault(path[:COMMUNITY_LEN], pid)
        seen: set[int] = set()
        for pid, path in await db.execute(sa.select(Post.person_id, Post.node_path).where(
                Post.role == Role.leader, current_post(), in_subtree(Post.node_path, root))
                .order_by(Post.person_id, Post.post_kind, Post.node_path)):
            if pid in seen:
                continue
            seen.add(pid)
            rows.append({"campaign_id": campaign.id, "kind": "leader", "household_id": None, "person_id": pid,
                         "grid_path": path, "visitor_id": staff.get(path[:COMMUNITY_LEN])})
    for i in range(0, len(rows), 2000):
        await db.execute(sa.insert(HolidayTarget), rows[i:i + 2000])
    return len(rows)


async def node_choices(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """Where the viewer may open a campaign: the street (and each of its communities) for the
    street administrator, their own community for community staff."""
    roots = await grid_queries.root_nodes_for(db, viewer)
    out: list[GridNode] = []
    for root in roots:
        if viewer.is_admin and root.level == Level.street:
            out.append(root)
            out += (await db.execute(sa.select(GridNode).where(
                GridNode.level == Level.community, in_subtree(GridNode.path, root.path)).order_by(GridNode.path))).scalars().all()
        elif root.level in (Level.street, Level.community):
            out.append(root)
    return out


# --- the record a phone sends -------------------------------------------------------------

class HolidayVisitData(msgspec.Struct):
    """A holiday visit (节日走访慰问) done: which target of the visitor's list, a note."""

    target_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


PREFETCHED = "sync_prefetched"  # cleared by the sync service after every batch
MARKED = ("holiday_marked",)


async def _prefetch_targets(db: AsyncSession, viewer: Viewer, records: list[SyncRecord]) -> None:
    """The batch's targets given to the sender, their campaign's days and whether they are visited: one query."""
    ids = sorted({r.data.target_id for r in records})
    kept = db.info.setdefault(PREFETCHED, {})
    rows = await db.execute(
        sa.select(HolidayTarget.id, HolidayTarget.campaign_id, HolidayTarget.grid_path, HolidayCampaign.starts_on,
                  HolidayCampaign.ends_on, HolidayVisit.id.label("visit_id"))
        .join(HolidayCampaign, HolidayCampaign.id == HolidayTarget.campaign_id)
        .outerjoin(HolidayVisit, HolidayVisit.target_id == HolidayTarget.id)
        .where(HolidayTarget.id.in_(ids), HolidayTarget.visitor_id == viewer.person_id))
    marked = kept.setdefault(MARKED, set())  # targets visited already, or by an earlier record of this batch
    for row in rows:
        kept[(HolidayTarget, row.id)] = row
        if row.visit_id is not None:
            marked.add(row.id)


async def apply_holiday_visit(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: HolidayVisitData = record.data
    kept = db.info.get(PREFETCHED, {})
    target = kept.get((HolidayTarget, data.target_id))
    if target is None:
        return {"target_id": record.t(MSG_NOT_YOURS)}
    day = record.created_at.astimezone(CHINA).date()
    if not target.starts_on <= day <= target.ends_on:
        return {"target_id": record.t(MSG_OUTSIDE_PERIOD, start=target.starts_on.isoformat(),
                                      end=target.ends_on.isoformat())}
    record.grid_path = target.grid_path
    marked = kept.setdefault(MARKED, set())
    if target.id in marked:
        return None  # visited already (a double tap, another phone): the first mark stands
    marked.add(target.id)
    add_row(db, HolidayVisit, {"id": record.id, "target_id": target.id, "campaign_id": target.campaign_id,
                               "person_id": viewer.person_id, "grid_path": target.grid_path,
                               "note": data.note.strip(), "visited_at": record.created_at,
                               "received_at": utcnow()})
    return None


HOLIDAY_VISIT = SyncType(name="holiday_visit", schema=HolidayVisitData, apply=apply_holiday_visit,
                         prefetch=_prefetch_targets, roles=VISITOR_ROLES, max_photos=0,
                         description="A holiday visit (节日走访慰问) to a target on the sender's list.")
SYNC_TYPES = [HOLIDAY_VISIT]


# --- pages --------------------------------------------------------------------------------

async def _my_targets(db: AsyncSession, viewer: Viewer) -> list[tuple[HolidayCampaign, list[TargetRow]]]:
    """The targets given to the viewer in running campaigns, per campaign."""
    today = today_in_china()
    campaigns = (await db.execute(sa.select(HolidayCampaign).where(
        HolidayCampaign.starts_on <= today, HolidayCampaign.ends_on >= today,
        HolidayCampaign.id.in_(sa.select(HolidayTarget.campaign_id).where(HolidayTarget.visitor_id == viewer.person_id)))
        .order_by(HolidayCampaign.ends_on, HolidayCampaign.id))).scalars().all()
    out = []
    for c in campaigns:
        rows, _ = await target_rows(db, viewer, [HolidayTarget.campaign_id == c.id, HolidayTarget.visitor_id == viewer.person_id])
        out.append((c, rows))
    return out


class HolidayController(Controller):
    path = "/holidays"
    guards = [signed_in]

    @get("/", name="holidays.list")
    async def list_campaigns(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Staff: the campaigns of their part of the grid with progress; a leader: those with targets of hers."""
        today = today_in_china()
        if _is_staff(viewer):
            campaigns = (await db.execute(sa.select(HolidayCampaign).where(_campaign_visible(viewer))
                                          .order_by(HolidayCampaign.starts_on.desc(), HolidayCampaign.id.desc()).limit(50))).scalars().all()
        else:
            campaigns = (await db.execute(sa.select(HolidayCampaign).where(HolidayCampaign.id.in_(
                sa.select(HolidayTarget.campaign_id).where(HolidayTarget.visitor_id == viewer.person_id)))
                .order_by(HolidayCampaign.starts_on.desc()).limit(50))).scalars().all()
        items = [(c, state_of(c, today), total_of(await progress_by_community(db, viewer, c))) for c in campaigns]
        return render(request, "incentives/holidays.html", items=items, states=STATES,
                      may_create=viewer.has_role(*STAFF_ROLES), tab="me", back_url="/me")

    @get("/new", name="holidays.new")
    async def new_campaign(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*STAFF_ROLES)
        today = today_in_china()
        values = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
                  "care_tags": list(DEFAULT_TAGS), "include_leaders": "on"}
        return render(request, "incentives/holiday_form.html", values=values, errors={},
                      nodes=await node_choices(db, viewer), back_url="/holidays")

    @post("/", name="holidays.create")
    async def create_campaign(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Open a campaign and draw its target list at once (audited)."""
        viewer.require_role(*STAFF_ROLES)
        form = await request.form()
        values: dict[str, Any] = {k: (form.get(k) or "").strip() if isinstance(form.get(k), str) else ""
                                  for k in ("name", "starts_on", "ends_on", "grid", "include_leaders")}
        values["care_tags"] = [v for v in form.getall("care_tags", []) if v in CareTag.__members__]
        nodes = await node_choices(db, viewer)
        node = next((n for n in nodes if n.code == values["grid"]), None)
        if values["grid"] and node is None:
            raise NotFoundException()
        node = node or (nodes[0] if nodes else None)
        if node is None:
            raise NotFoundException()
        errors: dict[str, str] = {}
        today = today_in_china()
        if not values["name"] or len(values["name"]) > 40:
            errors["name"] = t(request, MSG_NAME)
        starts = parse_day(values["starts_on"], earliest=today - timedelta(days=MAX_DAYS), latest=today + timedelta(days=365))
        if starts is None:
            errors["starts_on"] = t(request, MSG_START)
        ends = parse_day(values["ends_on"], earliest=max(starts or today, today), latest=(starts or today) + timedelta(days=MAX_DAYS))
        if ends is None:
            errors["ends_on"] = t(request, MSG_END)
        include_leaders = values["include_leaders"] == "on"
        if not values["care_tags"] and not include_leaders:
            errors["care_tags"] = t(request, MSG_WHOM)
        if errors:
            return render(request, "incentives/holiday_form.html", status_code=422, values=values, errors=errors,
                          nodes=nodes, back_url="/holidays")
        campaign = HolidayCampaign(name=values["name"], node_path=node.path, starts_on=starts, ends_on=ends,
                                   care_tags=values["care_tags"], include_leaders=include_leaders,
                                   created_by=viewer.person_id)
        db.add(campaign)
        await db.flush()
        drawn = await draw_targets(db, campaign)
        audit.record(db, "holiday_campaign", viewer=viewer, object_type="holiday_campaign", object_id=campaign.id,
                     request=request, name=campaign.name, grid=node.code, starts_on=starts.isoformat(),
                     ends_on=ends.isoformat(), care_tags=campaign.care_tags, include_leaders=include_leaders, targets=drawn)
        await db.commit()
        return Redirect(path=f"/holidays/{campaign.id}", status_code=303)

    @get("/{campaign_id:int}", name="holidays.show")
    async def show_campaign(self, request: Request, db: AsyncSession, viewer: Viewer, campaign_id: PathId,
                            show: str = Parameter(default="todo", max_length=8),
                            community: str = Parameter(default="", max_length=40),
                            page: int = Parameter(default=1, ge=1, le=10_000)) -> Any:
        """Progress by community (cards) and the targets the viewer sees, not yet visited first
        (the street picks a community by its card)."""
        campaign = await get_campaign_for(db, viewer, campaign_id)
        state = show if show in ("todo", "done", "all") else "todo"
        progress = await progress_by_community(db, viewer, campaign)
        where = [HolidayTarget.campaign_id == campaign.id]
        node = await grid_queries.get_node_for(db, viewer, community) if community else None
        if node is not None:
            where.append(in_subtree(HolidayTarget.grid_path, node.path))
        if state != "all":
            where.append(HolidayVisit.id.is_(None) if state == "todo" else HolidayVisit.id.is_not(None))
        # A street's campaign has thousands of targets: LIST_LIMIT a page, the pages counted.
        rows, count = await target_rows(db, viewer, where, limit=LIST_LIMIT, offset=(page - 1) * LIST_LIMIT)
        pages = max(1, -(-count // LIST_LIMIT))
        if page > pages:  # past the end (the list shrank as visits were marked): the last page
            page = pages
            rows, count = await target_rows(db, viewer, where, limit=LIST_LIMIT, offset=(page - 1) * LIST_LIMIT)
        return render(request, "incentives/holiday.html", campaign=campaign, status=state_of(campaign), states=STATES,
                      progress=progress, total=total_of(progress), rows=rows, count=count, state=state, community=node,
                      staff=_is_staff(viewer), limit=LIST_LIMIT, page=page, pages=pages, tab="me",
                      back_url="/holidays")

    @get("/mine", name="holidays.mine")
    async def show_my_visits(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The visitor's list in running campaigns, each target marked from the phone (kept offline)."""
        return render(request, "incentives/holiday_mine.html", groups=await _my_targets(db, viewer), errors={},
                      tab="me", back_url="/holidays")

    @post("/visits", name="holidays.visit")
    async def mark_visited(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The mark without JavaScript: the same `store_one` as the outbox."""
        form = await request.form()
        data: dict[str, Any] = {"note": (form.get("note") or "").strip()[:200] if isinstance(form.get("note"), str) else ""}
        target_id = ascii_int(form.get("target_id"), 1, 2**31 - 1)
        data["target_id"] = target_id if target_id is not None else (form.get("target_id") or "")
        result = await store_one(db, viewer, "holiday_visit", data, request_language(request))
        if result.status == CREATED:
            return Redirect(path="/holidays/mine", status_code=303)
        return render(request, "incentives/holiday_mine.html", status_code=422, groups=await _my_targets(db, viewer),
                      errors=result.errors, failed=target_id, tab="me", back_url="/holidays")

    @get("/targets/{target_id:int}", name="holidays.target")
    async def show_target(self, request: Request, db: AsyncSession, viewer: Viewer, target_id: PathId) -> Any:
        """One target: who visits it, done or not; staff give it to someone else here."""
        viewer.require_role(*VIEW_ROLES)
        target = await get_target_for(db, viewer, target_id)
        return await _target_page(request, db, viewer, target, {}, 200)

    @post("/targets/{target_id:int}/visitor", name="holidays.assign")
    async def assign_visitor(self, request: Request, db: AsyncSession, viewer: Viewer, target_id: PathId) -> Any:
        """Give a target to someone else who works in its community (audited); a visited one stays as it is."""
        viewer.require_role(*STAFF_ROLES)
        target = await get_target_for(db, viewer, target_id)
        if not viewer.sees_path(target.grid_path):
            raise NotFoundException()
        form = await request.form()
        person_id = ascii_int(form.get("visitor_id"), 1, 2**31 - 1)
        candidates = dict(await visitor_choices(db, target))
        if person_id not in candidates:
            return await _target_page(request, db, viewer, target, {"visitor_id": t(request, MSG_VISITOR)}, 422)
        visited = (await db.execute(sa.select(HolidayVisit.id).where(HolidayVisit.target_id == target.id))).first()
        if visited is None and target.visitor_id != person_id:
            before = target.visitor_id
            target.visitor_id = person_id
            audit.record(db, "holiday_assign", viewer=viewer, object_type="holiday_target", object_id=target.id,
                         request=request, campaign_id=target.campaign_id, before=before, after=person_id)
            await db.commit()
        return Redirect(path=f"/holidays/targets/{target.id}?saved=1", status_code=303)


async def visitor_choices(db: AsyncSession, target: HolidayTarget) -> list[tuple[int, str]]:
    """Who may visit a target: anyone holding a current leader or staff post in its community."""
    community = target.grid_path[:COMMUNITY_LEN]
    rows = await db.execute(
        sa.select(Person.id, Person.name).join(Post, Post.person_id == Person.id)
        .where(Post.role.in_((Role.leader, Role.compound, Role.community)), current_post(),
               in_subtree(Post.node_path, community)).distinct().order_by(Person.name, Person.id))
    return [(pid, name) for pid, name in rows]


async def _target_page(request: Request, db: AsyncSession, viewer: Viewer, target: HolidayTarget,
                       errors: dict[str, str], status: int) -> Any:
    campaign = await db.get(HolidayCampaign, target.campaign_id)
    rows, _ = await target_rows(db, viewer, [HolidayTarget.id == target.id], limit=1)
    return render(request, "incentives/holiday_target.html", status_code=status, campaign=campaign, row=rows[0],
                  choices=await visitor_choices(db, target) if viewer.has_role(*STAFF_ROLES) else [],
                  errors=errors, tab="me", back_url=f"/holidays/{campaign.id}")


HOLIDAY_HANDLERS: list = [HolidayController]


async def offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """A visitor keeps their list on the phone: holiday visits happen door to door, often with no signal."""
    mine = (await db.execute(sa.select(HolidayTarget.id).where(HolidayTarget.visitor_id == viewer.person_id).limit(1))).first()
    return ["/holidays/mine"] if mine is not None else []


OFFLINE_PAGES = [offline_pages]
