"""The ledger's pages: the ledger, a problem and its timeline, reporting, monthly meetings,
categories. Every change goes through `store_one` (the sync API's own path) into
service.report_issue / service.record_event.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.visits.queries import backup_microgrid_ids
from server.accounts.scope import Viewer
from server.cache import cached
from server.grid import queries as grid_queries
from server.grid.models import GridNode, Household, Level, PropertyCompany
from server.i18n import N_
from server import photos
from server.issues import export, queries, scope
from server.issues import sync as issue_sync
from server.clock import recent_months, utcnow
from server.issues.models import Application, EventKind, IssueCategory, IssueEvent, IssueMeeting, MeetingKind, Status
from server.clock import aware, today_in_china
from server.issues.state import ALLOWED, APPLICATION_OF, APPLY_KINDS
from server.sync.service import CREATED, DUPLICATE, store_one
from server.validate import ascii_int, parse_day, parse_id
from server.web import render, request_language, t

LEDGER_ROLES = (Role.admin, Role.community, Role.compound, Role.leader, Role.property)
# What the issue page offers, in this order (decisions are made in meetings).
ACTION_ORDER = [
    EventKind.solve_on_spot, EventKind.assign, EventKind.rectify, EventKind.verify, EventKind.send_back,
    EventKind.feedback, EventKind.close, EventKind.announce, EventKind.apply_analysis, EventKind.accept_analysis,
    EventKind.decline_analysis, EventKind.apply_disposal, EventKind.accept_disposal, EventKind.decline_disposal,
    EventKind.supervise, EventKind.reopen, EventKind.comment,
]
EVENT_FIELDS = ("note", "text", "reason", "department", "deadline", "channel", "outcome", "title", "body",
                "problem", "month", "owner", "steps")
# The ledger list shows a status per row: plain strings, not a macro call each.
STATUS_LABELS = {
    Status.reported: N_("Reported"), Status.reopened: N_("Reopened"), Status.assigned: N_("Assigned"),
    Status.rectified: N_("Awaiting verification"), Status.resolved: N_("Solved, awaiting feedback"),
    Status.unsolvable: N_("Cannot be solved, announced"), Status.fed_back: N_("Feedback given"),
    Status.closed: N_("Closed"),
}
ATTENDEE_ROLES = [
    N_("Community Party secretary"), N_("Micro-grid leader"), N_("Resident group leader"),
    N_("Branch committee member"), N_("Owners' representative"), N_("Property company staff"),
    N_("Grid worker"), N_("Other"),
]


def _client_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def _form_dict(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


# ---------------------------------------------------------------- photos (no-JavaScript path)

async def _read_photos(request: Request, form) -> tuple[list[photos.CleanPhoto], str, int]:
    """(photos, error message or '', the status to answer the form with)."""
    try:
        return await photos.read_form_photos(form), "", 422
    except photos.PhotoRefused as refused:
        return [], t(request, refused.message, **refused.params), refused.status


async def _store_photos(db: AsyncSession, viewer: Viewer, record_id: str, photo_ids: list[str],
                        cleaned: list[photos.CleanPhoto]) -> None:
    for photo_id, photo in zip(photo_ids, cleaned):
        await photos.store_photo(db, photo_id=uuid.UUID(photo_id), record_id=uuid.UUID(record_id),
                                 person_id=viewer.person_id, photo=photo)
    await db.commit()


# ---------------------------------------------------------------- the ledger and a problem

async def _issue_page(request: Request, db: AsyncSession, viewer: Viewer, issue, *, status_code: int = 200,
                      errors: dict | None = None, values: dict | None = None, open_kind: str = "") -> Any:
    node = await db.get(GridNode, issue.node_id)
    trail = await grid_queries.ancestors(db, node)
    category = await db.get(IssueCategory, issue.category_id)
    household = await db.get(Household, issue.household_id) if issue.household_id else None
    company = await db.get(PropertyCompany, issue.assignee_company_id) if issue.assignee_company_id else None
    events = await queries.timeline(db, issue)
    # Photos hang off their record: the problem's own (shown on the report) and each rectification's.
    event_photos = await queries.photos_by_event(db, [issue.id] + [e.id for e in events if e.kind == EventKind.rectify])
    report = next((e for e in events if e.kind == EventKind.report), None)
    if report is not None and issue.id in event_photos:
        event_photos[report.id] = event_photos.pop(issue.id)
    role = scope.actor_role(viewer, issue)
    allowed = scope.allowed_kinds(viewer, issue)
    actions = [k for k in ACTION_ORDER if k in allowed and issue.status in ALLOWED.get(k, {issue.status})
               and _application_allows(issue, k)]
    # Tell the sender when their action was kept as a note: named in the URL (form posted
    # without JavaScript), or their own event that arrived in the last minutes (through
    # the outbox, whose sync result only says "created").
    if EventKind.apply_analysis in actions and role == Role.leader:
        from server.party.duty import on_duty

        if not await on_duty(db, viewer.person_id, issue.node_path, today_in_china()):
            actions.remove(EventKind.apply_analysis)  # only the leader on duty at the station applies
    kept_id = request.query_params.get("kept")
    recent = utcnow() - timedelta(minutes=10)
    kept = next((e for e in events if not e.applied and (e.id == kept_id or (
        e.actor_id == viewer.person_id and aware(e.received_at) >= recent))), None)
    all_companies = await queries.companies(db, issue.node_path)
    companies = all_companies if EventKind.assign in actions else []
    # Where it came from (事事有着落): the work-log record it was made from, if any.
    from server.visits.models import WorkLogEntry

    from server.tree import in_subtree

    # Bounded by the problem's place (the street key): the record sits at the same micro-grid.
    origin = (await db.execute(sa.select(WorkLogEntry).where(
        WorkLogEntry.issue_id == issue.id, in_subtree(WorkLogEntry.grid_path, issue.node_path)))).scalars().first()
    return render(
        request, "issues/show.html", status_code=status_code, issue=issue, node=node, trail=trail + [node],
        category=category, household=household, company=company, events=events, photos=event_photos, role=role,
        company_names={c.id: c.name for c in all_companies},
        actions=actions, companies=companies, errors=errors or {}, values=values or {}, open_kind=open_kind,
        kept=kept, saved=request.query_params.get("saved") == "1", overdue=issue.is_overdue(), origin=origin,
        origin_visible=origin is not None and viewer.sees_path(origin.grid_path) and viewer.has_role(
            Role.admin, Role.community, Role.compound, Role.leader),
        where=" · ".join(n.name for n in trail if n.level in (Level.community, Level.compound)),
        today=today_in_china().isoformat(), tab="ledger", back_url="/issues",
    )


def _application_allows(issue, kind: str) -> bool:
    """Offer an application only when none is waiting or accepted, an answer only when one waits."""
    field = APPLICATION_OF.get(kind)
    if field is None:
        return True
    current = getattr(issue, field)
    if kind in APPLY_KINDS:
        return current not in (Application.applied, Application.accepted)
    return current == Application.applied


class IssueController(Controller):
    path = "/issues"
    guards = [signed_in]

    @get("/", name="issues.ledger")
    async def show_ledger(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*LEDGER_ROLES)
        filters = queries.Filters.from_query(request.query_params)
        root = await grid_queries.get_node_for(db, viewer, filters.node) if filters.node and viewer.grid_paths else None
        counts, rows = await queries.ledger_page(db, viewer, filters, root)
        # Grid names change seldom: a minute-old copy is fine (server/cache.py).
        places = await cached(("issues.places", viewer.grid_paths), lambda: queries.places_for(db, viewer))
        lang = request_language(request)
        return render(
            request, "issues/ledger.html", partial="issues/_ledger_results.html",
            filters=filters, rows=rows, counts=counts, root=root,
            places=places, place_options=[(p.code, ("· " * max(0, p.depth - 1)) + p.name) for p in places],
            category_options=[(c.id, c.label(lang)) for c in await queries.categories(db)],
            months=recent_months(), statuses=[s.value for s in Status], tab="ledger",
            status_text={s: t(request, label) for s, label in STATUS_LABELS.items()},
            page_size=queries.PAGE_SIZE, today=today_in_china(),
        )

    @get("/rates", name="issues.rates")
    async def show_rates(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Feedback and on-time rates per community and month, for the ledger's filters."""
        viewer.require_role(*LEDGER_ROLES)
        filters = queries.Filters.from_query(request.query_params)
        root = await grid_queries.get_node_for(db, viewer, filters.node) if filters.node and viewer.grid_paths else None
        conds = queries.conditions(viewer, filters, root)
        since = None if filters.month else recent_months(3)[-1]
        names = await cached(("issues.community_names",), lambda: queries.community_names(db))
        rate_rows = await queries.cached_aggregate(db, "rates", viewer, (filters.query(), root.path if root else "", since),
                                                   lambda: queries.rates(db, conds, names, since))
        return render(request, "issues/rates.html", partial="issues/_rates.html", filters=filters, rates=rate_rows,
                      tab="ledger", back_url="/issues?" + filters.query())

    @get("/export.xlsx", name="issues.export")
    async def export_ledger(self, request: Request, db: AsyncSession, viewer: Viewer) -> Response:
        viewer.require_role(*LEDGER_ROLES)
        filters = queries.Filters.from_query(request.query_params)
        root = await grid_queries.get_node_for(db, viewer, filters.node) if filters.node and viewer.grid_paths else None
        conds = queries.conditions(viewer, filters, root)
        content, count = await export.ledger_workbook(db, conds)
        audit.record(db, "export", viewer=viewer, object_type="issue_ledger", object_id=root.code if root else "",
                     request=request, filters=filters.query(), rows=count)
        await db.commit()
        name = "问题台账" + (f"-{root.name}" if root else "") + (f"-{filters.month}" if filters.month else "") + ".xlsx"
        return Response(
            content, media_type=export.XLSX,
            headers={"content-disposition": f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(name)}",
                     "cache-control": "private, no-store"},
        )

    @get("/new", name="issues.new")
    async def new_issue(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*scope.REPORT_ROLES)
        # Where the leader stands (issue 13): opened from a household, its micro-grid and the household;
        # from a micro-grid's page, that micro-grid; else the picker, her own (A岗) grid chosen.
        code = request.query_params.get("node") or ""
        household_id = parse_id(request.query_params.get("household"))
        node = None
        if household_id:
            household = await grid_queries.get_household_for(db, viewer, household_id)
            node = await db.get(GridNode, household.microgrid_id)
        elif code:
            node = await grid_queries.get_node_for(db, viewer, code)
        values = {"household_id": str(household_id or ""), "urgency": "normal"}
        return await self._report_form(request, db, viewer, node, values, {})

    async def _report_form(self, request, db, viewer, node, values, errors, status_code: int = 200):
        households = await grid_queries.households_in(db, node) if node is not None and node.level == Level.microgrid else []
        places, where, chosen = [], {}, ""
        if node is None:
            places = await _microgrids_for(db, viewer)
            where = await queries.where_lines(db, [p.path for p in places])
            backup = backup_microgrid_ids(viewer)
            own = [p for p in places if p.id not in backup and viewer.has_role(Role.leader)]
            chosen = str(values.get("node_id") or (own[0].id if own else ""))
        return render(request, "issues/new.html", status_code=status_code, node=node, places=places, where=where,
                      chosen=chosen, households=households, categories=await queries.categories(db, active_only=True),
                      values=values, errors=errors, tab="ledger", back_url="/issues")

    @post("/", name="issues.report", request_max_body_size=40 * 1024 * 1024)
    async def report_issue(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*scope.REPORT_ROLES)
        raw_form = await request.form()
        form = _form_dict(raw_form)
        node_id = parse_id(form.get("node_id"))
        node = await db.get(GridNode, node_id) if node_id else None
        if node is not None and not viewer.sees_path(node.path):
            raise NotFoundException()
        errors: dict[str, str] = {}
        if node is None:
            errors["node_id"] = t(request, "Please choose where the problem is.")
        data = {
            "node_id": node.id if node else 0,
            "category_id": parse_id(form.get("category_id")) or 0,
            "description": form.get("description", "").strip(),
            "urgency": form.get("urgency") or "normal",
            "household_id": parse_id(form.get("household_id")),
            "reporter_name": form.get("reporter_name", "").strip()[:40],
            "reporter_phone": form.get("reporter_phone", "").strip()[:20],
        }
        if not data["description"]:
            errors["description"] = t(request, "Please fill this in.")
        cleaned, photo_error, status = await _read_photos(request, raw_form)
        if photo_error:
            errors["photos"] = photo_error
        # The record names its photos, as the outbox's does (server-made ids: no JavaScript here).
        photo_ids = [str(uuid.uuid4()) for _ in cleaned]
        if photo_ids:
            data["photos"] = photo_ids
        if not errors:
            result = await store_one(db, viewer, "issue", data, request_language(request),
                                     record_id=_client_uuid(form.get("id")))
            if result.status in (CREATED, DUPLICATE):
                if cleaned and result.status == CREATED:
                    await _store_photos(db, viewer, result.id, photo_ids, cleaned)
                return Redirect(path=f"/issues/{result.id}?saved=1", status_code=303)
            errors = {("category_id" if k == "category" else k): v for k, v in result.errors.items()}
        return await self._report_form(request, db, viewer, node, form, errors,
                                       status_code=status if photo_error else 422)

    @get("/{issue_id:str}", name="issues.show")
    async def show_issue(self, request: Request, db: AsyncSession, viewer: Viewer, issue_id: str) -> Any:
        viewer.require_role(*LEDGER_ROLES)
        issue = await scope.get_issue_for(db, viewer, issue_id)
        return await _issue_page(request, db, viewer, issue)

    @post("/{issue_id:str}/events", name="issues.record_event", request_max_body_size=40 * 1024 * 1024)
    async def record_event(self, request: Request, db: AsyncSession, viewer: Viewer, issue_id: str) -> Any:
        viewer.require_role(*LEDGER_ROLES)
        issue = await scope.get_issue_for(db, viewer, issue_id)
        form = await request.form()
        values = _form_dict(form)
        kind = values.get("kind", "")
        cleaned, photo_error, status = await _read_photos(request, form)
        data: dict[str, Any] = {"issue_id": issue.id, "kind": kind}
        data.update({f: values[f].strip() for f in EVENT_FIELDS if values.get(f)})
        if company_id := parse_id(values.get("company_id")):
            data["company_id"] = company_id
        photo_ids = [str(uuid.uuid4()) for _ in cleaned]
        if photo_ids:
            data["photos"] = photo_ids
        data["photo_count"] = len(cleaned) or ascii_int(values.get("photo_count"), 0, photos.MAX_PHOTOS) or 0
        if photo_error:
            errors = {"photo": photo_error}
            return await _issue_page(request, db, viewer, issue, status_code=status, errors=errors, values=values, open_kind=kind)
        result = await store_one(db, viewer, "issue_event", data, request_language(request),
                                 record_id=_client_uuid(values.get("id")))
        if result.status not in (CREATED, DUPLICATE):
            # A store that fell back to record-by-record detached what this session had loaded.
            issue = await scope.get_issue_for(db, viewer, issue_id)
            if "kind" in result.errors and len(result.errors) == 1 and kind in set(EventKind):
                from litestar.exceptions import PermissionDeniedException

                raise PermissionDeniedException(result.errors["kind"])
            if "issue_id" in result.errors:
                raise NotFoundException()
            return await _issue_page(request, db, viewer, issue, status_code=422, errors=result.errors,
                                     values=values, open_kind=kind)
        if cleaned and result.status == CREATED:
            await _store_photos(db, viewer, result.id, photo_ids, cleaned)
        event = await db.get(IssueEvent, result.id)
        target = f"/issues/{issue.id}?kept={event.id}" if event is not None and not event.applied else f"/issues/{issue.id}?saved=1"
        return Redirect(path=target, status_code=303)

    @post("/{issue_id:str}/phone", name="issues.reveal_phone")
    async def reveal_phone(self, request: Request, db: AsyncSession, viewer: Viewer, issue_id: str) -> Any:
        """Show the reporter's whole number once, and write that down (个人信息保护).
        Only the people who phone residents back: not the street's office."""
        viewer.require_role(Role.community, Role.compound, Role.leader)
        issue = await scope.get_issue_for(db, viewer, issue_id)
        audit.record(db, "reveal_phone", viewer=viewer, object_type="issue", object_id=issue.id, request=request)
        await db.commit()
        return render(request, "issues/_phone.html", issue=issue, revealed=True)


async def _microgrids_for(db: AsyncSession, viewer: Viewer, limit: int = 2000) -> list[GridNode]:
    """The micro-grids a person may report at (the street's 1,606 included: the picker searches them)."""
    rows = await db.execute(
        sa.select(GridNode).where(viewer.subtree_clause(GridNode.path), GridNode.level == Level.microgrid)
        .order_by(GridNode.path).limit(limit)
    )
    return list(rows.scalars())


# ---------------------------------------------------------------- monthly meetings

async def _community_for(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    """The community if the person works in it (the whole of it, or a part of it)."""
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or node.level != Level.community:
        raise NotFoundException()
    if not viewer.sees_path(node.path) and not any(root.startswith(node.path) for root in viewer.grid_paths):
        raise NotFoundException()
    return node


async def _meeting_for(db: AsyncSession, viewer: Viewer, meeting_id: str) -> tuple[IssueMeeting, GridNode]:
    meeting = await db.get(IssueMeeting, meeting_id) if _client_uuid(meeting_id) else None
    if meeting is None:
        raise NotFoundException()
    community = await db.get(GridNode, meeting.community_id)
    return meeting, await _community_for(db, viewer, community.code)


class MeetingController(Controller):
    path = "/meetings"
    guards = [signed_in]

    @get("/", name="meetings.agenda")
    async def show_agenda(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*scope.REPORT_ROLES)
        communities = await queries.communities_for(db, viewer)
        code = request.query_params.get("community") or (communities[0].code if communities else "")
        if not code:
            raise NotFoundException()
        community = await _community_for(db, viewer, code)
        month = queries.Filters.from_query(request.query_params).month or today_in_china().strftime("%Y-%m")
        agenda = await queries.agenda(db, viewer, community, month)
        meetings = await queries.meetings_of(db, community, month)
        return render(request, "issues/agenda.html", agenda=agenda, community=community, communities=communities,
                      month=month, months=recent_months(), meetings=meetings,
                      can_record=viewer.has_role(*scope.MEETING_ROLES) and viewer.sees_path(community.path),
                      can_decide=scope.may_decide(viewer, community.path),
                      attendee_roles=ATTENDEE_ROLES, errors={}, values={}, today=today_in_china().isoformat(),
                      tab="ledger", back_url="/issues")

    @post("/", name="meetings.record")
    async def record_meeting(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*scope.MEETING_ROLES)
        form = await request.form()
        values = _form_dict(form)
        community = await _community_for(db, viewer, values.get("community", ""))
        viewer.require_path(community.path)
        errors: dict[str, str] = {}
        kind = values.get("kind", "")
        if kind not in set(MeetingKind):
            errors["kind"] = t(request, "Please choose one of the options.")
        # A meeting is recorded after it is held (a few days' grace for a phone's clock).
        held_on = parse_day(values.get("held_on"), latest=today_in_china() + timedelta(days=7))
        if held_on is None:
            errors["held_on"] = t(request, "Please give a date.")
        month = values.get("month") or (held_on.strftime("%Y-%m") if held_on else "")
        if not queries.Filters.from_query({"month": month}).month:
            errors["month"] = t(request, "Please give a date.")
        roles, names = form.getall("attendee_role", []), form.getall("attendee_name", [])
        attendees = [{"role": str(r)[:40], "name": str(n).strip()[:40]} for r, n in zip(roles, names) if str(n).strip()]
        if not attendees:
            errors["attendees"] = t(request, "Please list who attended.")
        if errors:
            agenda = await queries.agenda(db, viewer, community, month or today_in_china().strftime("%Y-%m"))
            return render(request, "issues/agenda.html", status_code=422, agenda=agenda, community=community,
                          communities=await queries.communities_for(db, viewer), month=agenda.month,
                          months=recent_months(), meetings=await queries.meetings_of(db, community, agenda.month),
                          can_record=True, can_decide=scope.may_decide(viewer, community.path),
                          attendee_roles=ATTENDEE_ROLES, errors=errors, values=values,
                          today=today_in_china().isoformat(), tab="ledger")
        meeting_id = _client_uuid(values.get("id")) or str(uuid.uuid4())
        if await db.get(IssueMeeting, meeting_id) is None:
            db.add(IssueMeeting(id=meeting_id, community_id=community.id, community_path=community.path, month=month,
                                kind=kind, held_on=held_on, place=values.get("place", "").strip()[:100],
                                attendees=attendees, notes=values.get("notes", "").strip()[:2000],
                                created_by=viewer.person_id))
            await db.commit()
        return Redirect(path=f"/meetings/{meeting_id}", status_code=303)

    async def _meeting_page(self, request, db, viewer, meeting, community, template, **extra):
        agenda = await queries.agenda(db, viewer, community, meeting.month)
        decisions = await queries.decisions_of(db, viewer, meeting)
        by_issue: dict[str, list] = {}
        for event, issue, _category, _place in decisions:
            by_issue.setdefault(issue.id, []).append(event)
        items = agenda.items(meeting.kind)
        listed = {item.issue.id for item in items}
        # Problems decided here that have since left the list (escalated, announced...).
        decided_elsewhere = [(issue, category, place) for _e, issue, category, place in decisions if issue.id not in listed]
        seen: set[str] = set()
        decided_elsewhere = [row for row in decided_elsewhere if not (row[0].id in seen or seen.add(row[0].id))]
        return render(request, template, meeting=meeting, community=community, items=items, agenda=agenda,
                      decisions=decisions, by_issue=by_issue, decided_elsewhere=decided_elsewhere,
                      can_decide=scope.may_decide(viewer, community.path),
                      today=today_in_china().isoformat(), tab="ledger",
                      back_url=f"/meetings?community={community.code}&month={meeting.month}", **extra)

    @get("/{meeting_id:str}", name="meetings.show")
    async def show_meeting(self, request: Request, db: AsyncSession, viewer: Viewer, meeting_id: str) -> Any:
        viewer.require_role(*scope.REPORT_ROLES)
        meeting, community = await _meeting_for(db, viewer, meeting_id)
        return await self._meeting_page(request, db, viewer, meeting, community, "issues/meeting.html",
                                        errors={}, values={}, error_issue="")

    @get("/{meeting_id:str}/minutes", name="meetings.minutes")
    async def show_minutes(self, request: Request, db: AsyncSession, viewer: Viewer, meeting_id: str) -> Any:
        viewer.require_role(*scope.REPORT_ROLES)
        meeting, community = await _meeting_for(db, viewer, meeting_id)
        return await self._meeting_page(request, db, viewer, meeting, community, "issues/minutes.html")

    @post("/{meeting_id:str}/decisions", name="meetings.decide")
    async def record_decision(self, request: Request, db: AsyncSession, viewer: Viewer, meeting_id: str) -> Any:
        viewer.require_role(*scope.MEETING_ROLES)
        meeting, community = await _meeting_for(db, viewer, meeting_id)
        values = _form_dict(await request.form())
        issue = await scope.get_issue_for(db, viewer, values.get("issue_id", ""))
        data = {"issue_id": issue.id, "kind": EventKind.decision.value, "meeting_id": meeting.id}
        data.update({f: values[f].strip() for f in ("outcome", "text", "title", "body") if values.get(f)})
        result = await store_one(db, viewer, "issue_event", data, request_language(request),
                                 record_id=_client_uuid(values.get("id")))
        if result.status not in (CREATED, DUPLICATE):
            if set(result.errors) == {"kind"}:
                # Not the secretary or her delegate: the same 403 as the problem's own page.
                from litestar.exceptions import PermissionDeniedException

                raise PermissionDeniedException(result.errors["kind"])
            return await self._meeting_page(request, db, viewer, meeting, community, "issues/meeting.html",
                                            errors=result.errors, values=values, error_issue=issue.id)
        return Redirect(path=f"/meetings/{meeting.id}#issue-{issue.id}", status_code=303)


# ---------------------------------------------------------------- categories (street administrator)

class CategoryController(Controller):
    path = "/issue-categories"
    guards = [signed_in]

    @get("/", name="categories.list")
    async def list_categories(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(Role.admin)
        return render(request, "issues/categories.html", categories=await queries.categories(db), errors={},
                      values={}, tab="ledger", back_url="/issues")

    @post("/", name="categories.save")
    async def save_category(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(Role.admin)
        values = _form_dict(await request.form())
        name = values.get("name", "").strip()[:40]
        errors = {} if name else {"name": t(request, "Please fill this in.")}
        category_id = values.get("category_id", "")
        category = await db.get(IssueCategory, parse_id(category_id)) if parse_id(category_id) else None
        if category_id and category is None:
            raise NotFoundException()
        if errors:
            return render(request, "issues/categories.html", status_code=422, categories=await queries.categories(db),
                          errors=errors, values=values, tab="ledger", back_url="/issues")
        if category is None:
            code = "c" + uuid.uuid4().hex[:8]
            category = IssueCategory(code=code, name=name, sort_order=100)
            db.add(category)
        category.name = name
        category.name_en = values.get("name_en", "").strip()[:60]
        category.active = values.get("active", "on" if not category_id else "") == "on"
        if (sort_order := ascii_int(values.get("sort_order"), -9999, 9999)) is not None:
            category.sort_order = sort_order
        audit.record(db, "edit_category", viewer=viewer, object_type="issue_category", object_id=category.code,
                     request=request, name=name)
        await db.commit()
        return Redirect(path="/issue-categories", status_code=303)


ISSUE_HANDLERS = [IssueController, MeetingController, CategoryController]
assert issue_sync.ISSUE and issue_sync.ISSUE_EVENT  # registered on import


# Leaders report problems from the stairwell: the form (the manifest's 报问题 shortcut), the
# same form opened from each of their micro-grid pages (?node=<code>, linked from /grid/<code>),
# and the ledger the form returns to once saved.
MAX_OFFLINE_REPORT_PLACES = 10


async def report_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    if not viewer.has_role(*scope.REPORT_ROLES):
        return []
    urls = ["/issues/new", "/issues"] if viewer.has_role(*LEDGER_ROLES) else ["/issues/new"]
    node_ids = [p.node_id for p in viewer.posts if p.role == Role.leader][:MAX_OFFLINE_REPORT_PLACES]
    if node_ids:
        codes = (await db.execute(sa.select(GridNode.code).where(GridNode.id.in_(node_ids)).order_by(GridNode.path))).scalars()
        urls += [f"/issues/new?node={code}" for code in codes]
    return urls


OFFLINE_PAGES = [report_offline_pages]
