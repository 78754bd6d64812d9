"""Task lists with owners (任务清单化、清单责任化): issue, follow by community, report done.

The report form is offline-capable (`data-outbox-type="task_report"`, static/js/outbox.js);
without JavaScript it posts here and goes through `store_one`, the same path.
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.clock import today_in_china
from server.grid.models import GridNode
from server.sync.service import CREATED, store_one
from server.tasks import queries
from server.tasks.models import Task, TaskAssignment
from server.validate import PathId, latest_plan_day, parse_day, parse_id
from server.web import render, request_language, t

GRID_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)


async def _counts(db: AsyncSession, viewer: Viewer, tasks: list[Task]) -> dict[uuid.UUID, tuple[int, int]]:
    """task id -> (shares, done) within the viewer's part: one grouped query."""
    if not tasks:
        return {}
    rows = await db.execute(sa.select(TaskAssignment.task_id, sa.func.count(), sa.func.count(TaskAssignment.done_at))
                            .where(TaskAssignment.task_id.in_([t.id for t in tasks]),
                                   viewer.subtree_clause(TaskAssignment.grid_path))
                            .group_by(TaskAssignment.task_id))
    return {task_id: (n, done) for task_id, n, done in rows}


def _checked_form(request: Request, form, options: list[GridNode]) -> tuple[dict, dict, list[GridNode]]:
    values = {"title": (form.get("title") or "").strip(), "description": (form.get("description") or "").strip(),
              "due_on": (form.get("due_on") or "").strip(), "targets": form.getall("targets", [])}
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = t(request, "Please fill this in.")
    elif len(values["title"]) > 60:
        errors["title"] = t(request, "This is too long.")
    if len(values["description"]) > 1000:
        errors["description"] = t(request, "This is too long.")
    today = today_in_china()
    due = parse_day(values["due_on"], earliest=today, latest=latest_plan_day(today))
    if due is None:
        errors["due_on"] = t(request, "Give a due date from today on.")
    by_id = {n.id: n for n in options}
    chosen = [by_id[i] for i in {parse_id(v) for v in values["targets"]} if i in by_id]
    # A community chosen with its compounds: the community alone (its micro-grids once).
    chosen = [n for n in chosen if not any(o is not n and n.path.startswith(o.path) for o in chosen)]
    if not chosen:
        errors["targets"] = t(request, "Choose at least one community or compound.")
    values["due"] = due
    return values, errors, chosen


class TaskController(Controller):
    path = "/tasks"
    guards = [signed_in]

    @get("/", name="tasks.list")
    async def list_tasks(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*GRID_ROLES)
        tasks = await queries.tasks_for(db, viewer)
        return render(request, "tasks/list.html", tasks=tasks, counts=await _counts(db, viewer, tasks),
                      mine=await queries.my_shares(db, viewer), today=today_in_china(),
                      may_issue=viewer.has_role(*queries.ISSUER_ROLES), tab="me")

    @get("/new", name="tasks.new")
    async def new_task(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*queries.ISSUER_ROLES)
        issuer = await queries.issuer_node(db, viewer)
        return render(request, "tasks/new.html", issuer=issuer, options=await queries.target_options(db, viewer, issuer),
                      values={"targets": []}, errors={}, back_url="/tasks", tab="me")

    @post("/", name="tasks.issue")
    async def issue_task(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*queries.ISSUER_ROLES)
        issuer = await queries.issuer_node(db, viewer)
        options = await queries.target_options(db, viewer, issuer)
        values, errors, chosen = _checked_form(request, await request.form(), options)
        microgrids = await queries.microgrids_under(db, viewer, chosen) if not errors else []
        if not errors and not microgrids:
            errors["targets"] = t(request, "There is no micro-grid under what you chose.")
        if errors:
            return render(request, "tasks/new.html", status_code=422, issuer=issuer, options=options, values=values,
                          errors=errors, back_url="/tasks", tab="me")
        task = await queries.issue_task(db, viewer, issuer, title=values["title"], description=values["description"],
                                        due_on=values["due"], microgrids=microgrids)
        audit.record(db, "issue_task", viewer=viewer, object_type="task", object_id=task.id, request=request,
                     title=task.title, shares=len(microgrids), targets=[n.code for n in chosen])
        await db.commit()
        return Redirect(path=f"/tasks/{task.id}", status_code=303)

    @get("/{task_id:uuid}", name="tasks.show")
    async def show_task(self, request: Request, db: AsyncSession, viewer: Viewer, task_id: uuid.UUID) -> Any:
        viewer.require_role(*GRID_ROLES)
        task = await queries.get_task_for(db, viewer, task_id)
        progress = await queries.progress_by_community(db, viewer, task)
        community = None
        shares = []
        code = request.query_params.get("community") or ""
        if code:
            community = next((p.community for p in progress if p.community.code == code), None)
            if community is None:
                raise NotFoundException()
        elif len(progress) == 1:
            community = progress[0].community  # one community: its grids at once
        if community is not None:
            shares = await queries.shares_in(db, viewer, task, community)
        owners = {}
        if viewer.has_role(*queries.REASSIGN_ROLES):
            for share in shares:
                if viewer.roles_at(share.assignment.grid_path) & set(queries.REASSIGN_ROLES):
                    owners[share.assignment.id] = await queries.owner_options(db, share.assignment)
        issuer = await db.get(GridNode, task.issuer_node_id)
        totals = (sum(p.total for p in progress), sum(p.done for p in progress), sum(p.overdue for p in progress))
        return render(request, "tasks/show.html", task=task, issuer=issuer, progress=progress, community=community,
                      shares=shares, owners=owners, totals=totals, today=today_in_china(), back_url="/tasks", tab="me")

    @post("/assignments/{assignment_id:int}/owner", name="tasks.reassign")
    async def reassign_owner(self, request: Request, db: AsyncSession, viewer: Viewer, assignment_id: PathId) -> Any:
        """Hand a micro-grid's share to another of its leaders (the A post is only the default)."""
        viewer.require_role(*queries.REASSIGN_ROLES)
        assignment = await queries.get_assignment_for(db, viewer, assignment_id)
        if not viewer.roles_at(assignment.grid_path) & set(queries.REASSIGN_ROLES):
            raise PermissionDeniedException("Only staff over the micro-grid reassign its task")
        person_id = parse_id((await request.form()).get("owner_id"))
        if person_id not in {pid for pid, _ in await queries.owner_options(db, assignment)}:
            raise PermissionDeniedException("Only a leader of this micro-grid can be made responsible")
        before = assignment.owner_id
        assignment.owner_id = person_id
        audit.record(db, "reassign_task", viewer=viewer, object_type="task_assignment", object_id=assignment.id,
                     request=request, before=before, after=person_id)
        await db.commit()
        node = (await db.execute(sa.select(GridNode.code).where(
            GridNode.path == queries.community_path(assignment.grid_path)))).scalar_one()
        return Redirect(path=f"/tasks/{assignment.task_id}?community={node}", status_code=303)

    async def _report_page(self, request, db, viewer, assignment, *, values=None, errors=None, status_code=200):
        task = await db.get(Task, assignment.task_id)
        microgrid = await db.get(GridNode, assignment.microgrid_id)
        reports = await queries.latest_reports(db, [assignment.id])
        return render(request, "tasks/report.html", status_code=status_code, task=task, assignment=assignment,
                      microgrid=microgrid, last_report=reports.get(assignment.id), values=values or {},
                      errors=errors or {}, today=today_in_china(), back_url="/tasks", tab="me")

    @get("/assignments/{assignment_id:int}/report", name="tasks.report_form")
    async def report_form(self, request: Request, db: AsyncSession, viewer: Viewer, assignment_id: PathId) -> Any:
        viewer.require_role(*GRID_ROLES)
        assignment = await queries.get_assignment_for(db, viewer, assignment_id)
        if not queries.may_report(viewer, assignment):
            raise PermissionDeniedException("Not yours to report")
        return await self._report_page(request, db, viewer, assignment)

    @post("/assignments/{assignment_id:int}/report", name="tasks.report")
    async def report_done(self, request: Request, db: AsyncSession, viewer: Viewer, assignment_id: PathId) -> Any:
        """Without JavaScript; the outbox sends the same `task_report` record."""
        viewer.require_role(*GRID_ROLES)
        assignment = await queries.get_assignment_for(db, viewer, assignment_id)
        form = await request.form()
        data = {"assignment_id": assignment.id, "note": (form.get("note") or "").strip()}
        result = await store_one(db, viewer, "task_report", data, request_language(request))
        if result.status == CREATED:
            return Redirect(path="/tasks", status_code=303)
        return await self._report_page(request, db, viewer, assignment, values=data, errors=result.errors,
                                       status_code=422)


TASK_HANDLERS: list = [TaskController]


async def leader_task_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """A leader's open shares, to report done with no signal."""
    mine = await queries.my_shares(db, viewer)
    if not mine:
        return []
    return ["/tasks"] + [f"/tasks/assignments/{a.id}/report" for a, _task, _mg in mine if a.done_at is None]


OFFLINE_PAGES = [leader_task_pages]
