"""The `task_report` record of the outbox: a micro-grid's share of a task reported done from
the phone (a note and photos), offline too. The receipt of the sync API makes it exactly once;
the first report marks the share done, later ones add to it."""
from __future__ import annotations

from typing import Annotated

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.i18n import N_
from server.photos import MAX_PHOTOS
from server.sync.registry import SyncRecord, SyncType
from server.tasks import queries
from server.tasks.models import TaskAssignment, TaskReport
from server.validate import DbId

MSG_OUTSIDE = N_("This task is not in your part of the grid.")
MSG_NOT_YOURS = N_("Only the person responsible for this micro-grid's task, its leaders or the staff over it report it.")


class TaskReportData(msgspec.Struct):
    """A completion report: which share of which task, what was done, photos after it."""

    assignment_id: DbId
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    photos: Annotated[list[Annotated[str, msgspec.Meta(max_length=36)]], msgspec.Meta(max_length=MAX_PHOTOS)] = []


async def apply_task_report(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: TaskReportData = record.data
    try:
        assignment = await queries.get_assignment_for(db, viewer, data.assignment_id)
    except NotFoundException:
        return {"assignment_id": record.t(MSG_OUTSIDE)}
    if not queries.may_report(viewer, assignment):
        return {"assignment_id": record.t(MSG_NOT_YOURS)}
    db.add(TaskReport(id=record.id, assignment_id=assignment.id, grid_path=assignment.grid_path,
                      person_id=viewer.person_id, note=data.note.strip(), reported_at=record.created_at))
    # The first report (by the phone's time) marks it done; in SQL, so two phones at once both count.
    await db.execute(sa.update(TaskAssignment).where(TaskAssignment.id == assignment.id).values(
        report_count=TaskAssignment.report_count + 1,
        done_at=sa.case((sa.or_(TaskAssignment.done_at.is_(None), TaskAssignment.done_at > record.created_at),
                         record.created_at), else_=TaskAssignment.done_at)))
    audit.record(db, "task_report", viewer=viewer, object_type="task_assignment", object_id=assignment.id,
                 task=str(assignment.task_id), report=str(record.id))
    record.grid_path = assignment.grid_path
    return None


TASK_REPORT = SyncType(
    name="task_report", schema=TaskReportData, apply=apply_task_report,
    roles=frozenset({Role.admin, Role.community, Role.compound, Role.leader}),
    description="A micro-grid's share of a task (任务清单) reported done: a note and photos.")

SYNC_TYPES = [TASK_REPORT]
