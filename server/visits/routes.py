"""Door-to-door pages: the worklist, the visit and work-log forms, the tallies.

The forms are offline-capable (`data-outbox-type`, see static/js/outbox.js): with
JavaScript they go to POST /api/sync, or into the phone's outbox when there is no
network. Without JavaScript they post here, and these handlers call the same
`store_one` as the API: one path into the database.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

import server.visits.records  # noqa: F401  (registers the record types with the outbox)
from server.clock import CHINA, aware
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid import queries as grid_queries
from server.grid.models import GridNode, Household
from server.issues import queries as issue_queries
from server.issues.models import Issue
from server.issues.scope import issue_scope
from server.sync.service import CREATED, store_one
from server.visits import errands, matters, queries
from server.visits.models import (
    ERRAND_STATUSES, ERRAND_STEPS, NEEDS, OUTCOMES, POLICIES, SERVICES, TOLD, VISIT_KINDS, WORK_KINDS, ErrandStatus,
    ErrandStep, WorkKind, WorkLogEntry,
)
from server.validate import PathId, ascii_int, parse_id
from server.web import render, request_language, t

GRID_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)
STAFF_ROLES = (Role.admin, Role.community, Role.compound)
LEADERS_PAGE = 50
LIST_FIELDS = {"needs", "policies", "photos"}


def _form_data(form: Any) -> dict[str, Any]:
    """A posted form as the outbox would send it: lists for tag fields, no empty values."""
    data: dict[str, Any] = {}
    items = form.multi_items() if hasattr(form, "multi_items") else form.items()
    for key, value in items:
        if key.startswith("_") or key == "id" or value in ("", None):
            continue
        if key in LIST_FIELDS:
            data.setdefault(key, []).append(value)
        else:
            data[key] = value
    return data


def local_date(value) -> str:
    """A date as the leader reads it: China time, month-day (with the year when not this year)."""
    if value is None:
        return ""
    local = aware(value).astimezone(CHINA)
    if local.year != datetime.now(CHINA).year:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%m-%d")


def form_context(request: Request) -> dict[str, Any]:
    """Option lists and label maps in the user's language, for the forms and lists."""
    def options(labels: dict) -> list[tuple[str, str]]:
        return [(str(k), t(request, v)) for k, v in labels.items()]

    return {
        "visit_kinds": options(VISIT_KINDS), "needs_options": options(NEEDS), "policy_options": options(POLICIES),
        "work_kinds": options(WORK_KINDS), "service_options": options(SERVICES), "outcome_options": options(OUTCOMES),
        "visit_kinds_map": {str(k): v for k, v in VISIT_KINDS.items()}, "needs_map": NEEDS,
        "work_kinds_map": {str(k): v for k, v in WORK_KINDS.items()}, "service_map": SERVICES, "outcome_map": OUTCOMES,
        "local_date": local_date,
    }


def microgrid_options(microgrids: list[GridNode]) -> list[tuple[str, str]]:
    return [(str(m.id), m.name) for m in microgrids]


async def leader_cards(db: AsyncSession, viewer: Viewer, worklist: queries.Worklist) -> dict[str, int]:
    """The four big cards on a leader's home (issue 13): 走访 · 上报问题 · 巡查 · 我的记录, with counts."""
    from server.home import issue_count  # the same count the ledger shows
    from server.patrols import queries as patrol_queries

    _, rows = await patrol_queries.calendar(db, viewer)
    tally = (await queries.tallies(db, [viewer.person_id]))[viewer.person_id]
    return {
        "unvisited": worklist.unvisited,
        "open_problems": await issue_count(db, viewer, status="open"),
        "to_patrol": sum(1 for r in rows if r.state != "done"),
        "records": sum(tally.this_month.values()),
    }


class WorklistController(Controller):
    path = "/worklist"
    guards = [signed_in]

    @get("/", name="worklist.show")
    async def show_worklist(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        viewer.require_role(*GRID_ROLES)
        worklist = await queries.worklist(db, viewer)
        return render(request, "visits/worklist.html", worklist=worklist, cards=await leader_cards(db, viewer, worklist),
                      tab="work", **form_context(request))


class VisitController(Controller):
    path = "/households/{household_id:int}/visits"
    guards = [signed_in]

    async def _household(self, db: AsyncSession, viewer: Viewer, household_id: int):
        viewer.require_role(*GRID_ROLES)
        household = await grid_queries.get_household_for(db, viewer, household_id)
        microgrid = await db.get(GridNode, household.microgrid_id)
        return household, microgrid

    @get("/", name="visit.list")
    async def list_visits(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household, microgrid = await self._household(db, viewer, household_id)
        visits = await queries.household_visits(db, household)
        return render(request, "visits/household_visits.html", partial="visits/_visit_list.html",
                      household=household, node=microgrid, visits=visits, **form_context(request))

    @get("/new", name="visit.new")
    async def new_visit(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household, microgrid = await self._household(db, viewer, household_id)
        return render(request, "visits/visit_form.html", household=household, node=microgrid, values={"kind": "routine"},
                      errors={}, back_url=f"/households/{household.id}", **form_context(request))

    @post("/", name="visit.record")
    async def record_visit(
        self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household, microgrid = await self._household(db, viewer, household_id)
        form = _form_data(await request.form())
        form["household_id"] = household.id
        result = await store_one(db, viewer, "visit", form, request_language(request))
        if result.status == CREATED:
            return Redirect(path=f"/households/{household_id}", status_code=303)
        # A store that fell back to record-by-record rolled back, expiring what this session had
        # loaded: read the household again to show the form (a 500 here lost what was typed).
        household, microgrid = await self._household(db, viewer, household_id)
        values = {**form, "needs": form.get("needs", []), "policies": form.get("policies", [])}
        return render(request, "visits/visit_form.html", status_code=422, household=household, node=microgrid,
                      values=values, errors=result.errors, back_url=f"/households/{household.id}", **form_context(request))


def _work_kind(kind: str) -> WorkKind:
    try:
        return WorkKind(kind)
    except ValueError:
        raise NotFoundException() from None


class WorkLogController(Controller):
    path = "/worklog"
    guards = [signed_in]

    @get("/", name="worklog.show")
    async def show_worklog(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        """The leader's own tally (this month, in total, month by month) and recent entries."""
        viewer.require_role(*GRID_ROLES)
        tally = (await queries.tallies(db, [viewer.person_id]))[viewer.person_id]
        recent = await queries.recent_work(db, viewer.person_id)
        issue_ids = [e.issue_id for e in recent if e.issue_id]
        issues = {i.id: i for i in (await db.execute(sa.select(Issue).where(
            Issue.id.in_(issue_ids), issue_scope(viewer)))).scalars()} if issue_ids else {}
        # htmx (the profile page) wants the tally table alone.
        return render(request, "visits/worklog.html", partial="visits/_tally.html", tally=tally, recent=recent,
                      issues=issues, errand_statuses=ERRAND_STATUSES, tab="work", **form_context(request))

    @get("/leaders", name="worklog.leaders")
    async def show_leader_tallies(self, request: Request, db: AsyncSession, viewer: Viewer,
                                  page: str = Parameter(default="1", max_length=6)) -> object:
        """Community (or street) staff: every leader's tally in their part of the grid, 50 to a page,
        each under its 社区 · 小区 (issue 13: no 1,352-row page)."""
        viewer.require_role(*STAFF_ROLES)
        total = await queries.count_leaders_under(db, viewer)
        pages = max(1, -(-total // LEADERS_PAGE))
        number = min(max(ascii_int(page, 1) or 1, 1), pages)
        leaders = await queries.leaders_under(db, viewer, LEADERS_PAGE, (number - 1) * LEADERS_PAGE)
        tallies = await queries.tallies(db, sorted({p.id for p, _ in leaders}))
        where = await issue_queries.where_lines(db, [m.path for _, m in leaders])
        return render(request, "visits/leaders.html", leaders=leaders, tallies=tallies, where=where, total=total,
                      page=number, pages=pages, **form_context(request))

    @get("/new/{kind:str}", name="worklog.new")
    async def new_entry(self, request: Request, db: AsyncSession, viewer: Viewer, kind: str,
                        household: str = Parameter(default="", max_length=20)) -> object:
        viewer.require_role(*GRID_ROLES)
        work_kind = _work_kind(kind)
        microgrids = await queries.leader_microgrids(db, viewer)
        values: dict[str, Any] = {"fixed": "false"}
        h = None
        if household_id := parse_id(household):
            # Opened from a household (issue 13): name it on top, file it in that household's grid.
            h = await grid_queries.get_household_for(db, viewer, household_id)
            values["household_id"] = h.id
            values["microgrid_id"] = h.microgrid_id
        return render(request, "visits/work_form.html", kind=work_kind, microgrids=microgrids, microgrid_options=microgrid_options(microgrids), values=values,
                      household=h, errors={}, back_url="/worklog", **form_context(request))

    @post("/{kind:str}", name="worklog.record")
    async def record_work(
        self, request: Request, db: AsyncSession, viewer: Viewer, kind: str) -> object:
        viewer.require_role(*GRID_ROLES)
        work_kind = _work_kind(kind)
        form = _form_data(await request.form())
        result = await store_one(db, viewer, work_kind.value, form, request_language(request))
        if result.status == CREATED:
            return Redirect(path="/worklog", status_code=303)
        microgrids = await queries.leader_microgrids(db, viewer)
        return render(request, "visits/work_form.html", status_code=422, kind=work_kind, microgrids=microgrids,
                      microgrid_options=microgrid_options(microgrids), values=form, errors=result.errors, back_url="/worklog", **form_context(request))


class WorkEntryController(Controller):
    """One work-log record and what it leads to (事事有着落): its ledger problem, an errand's life."""

    path = "/worklog/entries/{entry_id:uuid}"
    guards = [signed_in]

    async def _page(self, request: Request, db: AsyncSession, viewer: Viewer, entry: WorkLogEntry, *,
                    errors: dict | None = None, values: dict | None = None, status_code: int = 200) -> object:
        issue = (await db.execute(sa.select(Issue).where(
            Issue.id == entry.issue_id, issue_scope(viewer)))).scalar_one_or_none() if entry.issue_id else None
        household = await db.get(Household, entry.household_id) if entry.household_id else None
        microgrid = await db.get(GridNode, entry.microgrid_id)
        steps = list((await db.execute(sa.select(ErrandStep).where(ErrandStep.entry_id == entry.id)
                                       .order_by(ErrandStep.at, ErrandStep.id))).scalars())
        status = entry.errand_status or ErrandStatus.accepted
        steps_now = errands.next_steps(status) if entry.kind == WorkKind.errand else []
        return render(request, "visits/entry.html", status_code=status_code, entry=entry, issue=issue,
                      household=household, microgrid=microgrid, steps=steps, errand_status=status,
                      next_steps=steps_now,
                      next_steps_options=[(k, t(request, ERRAND_STEPS[k])) for k in steps_now],
                      errand_statuses=ERRAND_STATUSES, errand_steps=ERRAND_STEPS, told_labels=TOLD,
                      has_phone=bool(household and household.phone), errors=errors or {}, values=values or {},
                      back_url="/worklog", tab="work", **form_context(request))

    @get("/", name="worklog.entry")
    async def show_entry(self, request: Request, db: AsyncSession, viewer: Viewer, entry_id: uuid.UUID) -> object:
        viewer.require_role(*GRID_ROLES)
        return await self._page(request, db, viewer, await matters.get_entry_for(db, viewer, entry_id))

    @post("/problem", name="worklog.make_problem")
    async def make_problem(self, request: Request, db: AsyncSession, viewer: Viewer, entry_id: uuid.UUID) -> object:
        """One tap (without JavaScript; the outbox sends the same `worklog_problem` record)."""
        viewer.require_role(*GRID_ROLES)
        entry = await matters.get_entry_for(db, viewer, entry_id)
        result = await store_one(db, viewer, "worklog_problem", {"entry_id": str(entry.id)}, request_language(request))
        if result.status == CREATED:
            return Redirect(path=f"/worklog/entries/{entry.id}", status_code=303)
        return await self._page(request, db, viewer, entry, errors=result.errors, status_code=422)

    @post("/steps", name="worklog.step_errand")
    async def step_errand(self, request: Request, db: AsyncSession, viewer: Viewer, entry_id: uuid.UUID) -> object:
        viewer.require_role(*GRID_ROLES)
        entry = await matters.get_entry_for(db, viewer, entry_id)
        form = _form_data(await request.form())
        form["entry_id"] = str(entry.id)
        if "told_in_person" in form:
            form["told_in_person"] = form["told_in_person"] in ("true", "on", "1")
        result = await store_one(db, viewer, "errand_step", form, request_language(request))
        if result.status == CREATED:
            return Redirect(path=f"/worklog/entries/{entry.id}", status_code=303)
        return await self._page(request, db, viewer, entry, errors=result.errors, values=form, status_code=422)


VISITS_HANDLERS: list = [WorklistController, VisitController, WorkLogController, WorkEntryController]


async def leader_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """A leader's day on the phone: the worklist, each household, its visit form, the work-log forms."""
    worklist = await queries.worklist(db, viewer)
    if not worklist.microgrids:
        return []
    urls = ["/", "/worklist", "/worklog"] + [f"/worklog/new/{kind.value}" for kind in WorkKind]
    # Her recent records: a problem made with one tap, or an errand's next step, works with no signal.
    urls += [f"/worklog/entries/{entry.id}" for entry in await queries.recent_work(db, viewer.person_id)]
    for microgrid in worklist.microgrids:
        urls.append(f"/grid/{microgrid.code}")
        for row in worklist.rows_by_microgrid[microgrid.id]:
            urls += [f"/households/{row.household.id}", f"/households/{row.household.id}/visits/new"]
    return urls


OFFLINE_PAGES = [leader_offline_pages]
