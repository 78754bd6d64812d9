"""Every matter settled (事事有着落): what a work-log record leads to.

- An unfixed hazard from a hazard check, or a mediation that did not settle the dispute,
  becomes a ledger problem with one tap (sync type `worklog_problem`, offline too). The
  problem's id is derived from the record's (uuid5), so however many times the tap comes,
  from however many phones, there is one problem; the record keeps its id (`issue_id`) and
  the problem's page names the record it came from.
- An errand gets a life (sync type `errand_step`): recording it accepts it (受理); 办理中,
  办结, or 转办 to a named government service or department. A finishing step tells the
  resident: a text through the notification outbox when the household left a phone,
  otherwise the leader confirms she told them in person. Steps are folded (errands.py).

Both are checked here for the form (through `store_one`) and the sync API alike, scoped by
the Viewer, and written to the audit log.
"""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Household
from server.i18n import N_
from server.sync.registry import SyncRecord, SyncType
from server.tree import SEGMENT, in_subtree
from server.visits import errands
from server.visits.models import ErrandStep, ErrandStepKind, WorkKind, WorkLogEntry

# Who works a record further: the people of the grid (the property company never sees work logs).
GRID_ROLES = frozenset({Role.admin, Role.community, Role.compound, Role.leader})
# The ledger category a problem from each kind goes under (server/issues, 0004's categories).
PROBLEM_CATEGORY = {WorkKind.hazard_check: "safety", WorkKind.mediation: "neighbours"}

MSG_OUTSIDE = N_("This record is not in your part of the grid.")
MSG_NO_PROBLEM = N_("Only an unfixed hazard or an unsettled mediation becomes a problem.")
MSG_NOT_ERRAND = N_("This record is not an errand.")
MSG_DEPARTMENT = N_("Name the government service or department it went to.")
MSG_TELL = N_("The resident left no phone number: tell them in person, then tick this.")
MSG_ROLE = N_("Your role may not do this.")

EntryId = Annotated[str, msgspec.Meta(min_length=32, max_length=36, description="The work-log record's id.")]
Note = Annotated[str, msgspec.Meta(max_length=500)]


def problem_id_for(entry_id: uuid.UUID | str) -> str:
    """The one problem a work-log record can become: derived, so a second tap finds it."""
    return str(uuid.uuid5(uuid.UUID(str(entry_id)), "problem"))


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def get_entry_for(db: AsyncSession, viewer: Viewer, entry_id) -> WorkLogEntry:
    """The work-log record if the person may see it (404 otherwise), bounded by path in SQL."""
    key = _uuid(entry_id)
    entry = (await db.execute(sa.select(WorkLogEntry).where(
        WorkLogEntry.id == key, viewer.subtree_clause(WorkLogEntry.grid_path)))).scalar_one_or_none() if key else None
    if entry is None or not viewer.sees_path(entry.grid_path):
        raise NotFoundException()
    return entry


def problem_text(entry: WorkLogEntry) -> str:
    """The problem's description, prefilled from the record (Chinese: it is ledger data)."""
    if entry.kind == WorkKind.hazard_check:
        text = f"安全隐患未当场整改：{entry.hazard}（{entry.place}）"
    else:
        outcome = {"partly": "部分调解", "unsettled": "未调解成功", "referred": "已上报"}.get(entry.outcome, "")
        text = f"纠纷{outcome}：{entry.parties}"
    if entry.note:
        text += f"。{entry.note}"
    return text[:1000]


# ---------------------------------------------------------------- one tap: a problem

class WorklogProblemData(msgspec.Struct):
    """One tap on a work-log record: an unfixed hazard or an unsettled mediation goes on the ledger."""

    entry_id: EntryId


async def apply_worklog_problem(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    from server.issues import service

    try:
        entry = await get_entry_for(db, viewer, record.data.entry_id)
    except NotFoundException:
        return {"entry_id": record.t(MSG_OUTSIDE)}
    if not viewer.roles_at(entry.grid_path) & GRID_ROLES:
        return {"entry_id": record.t(MSG_ROLE)}
    if not entry.may_become_problem():
        return {"entry_id": record.t(MSG_NO_PROBLEM)}
    node = await db.get(GridNode, entry.microgrid_id)
    try:
        issue, created = await service.report_issue(
            db, viewer, node=node, id=problem_id_for(entry.id), category=PROBLEM_CATEGORY[WorkKind(entry.kind)],
            description=problem_text(entry), household_id=entry.household_id, at=record.created_at)
    except service.IssueInvalid as exc:
        return {field: record.t(message) for field, message in exc.errors.items()}
    except (PermissionDeniedException, NotFoundException):
        return {"entry_id": record.t(MSG_ROLE)}
    if entry.issue_id is None:
        entry.issue_id = issue.id
    if created:
        audit.record(db, "worklog_problem", viewer=viewer, object_type="work_log_entry", object_id=entry.id,
                     issue=issue.id, kind=entry.kind)
    record.grid_path = entry.grid_path
    return None


# ---------------------------------------------------------------- an errand's life

class ErrandStepData(msgspec.Struct):
    """One step of an errand: start (办理中), done (办结) or refer (转办, naming the department)."""

    entry_id: EntryId
    kind: Literal["start", "done", "refer"]
    department: Annotated[str, msgspec.Meta(max_length=60)] = ""
    note: Note = ""
    # No phone for the resident: the leader confirms she told them in person.
    told_in_person: bool = False


SERVICE_WORDS = {"social_security": "社保", "medical_insurance": "医保", "elderly_subsidy": "高龄补贴",
                 "disability_card": "残疾证", "residence_certificate": "居住证", "minimum_living": "低保"}


def _sms_text(entry: WorkLogEntry, step: ErrandStep) -> str:
    """The resident's text (Chinese: it goes to the resident's phone as it is)."""
    what = f"{SERVICE_WORDS[entry.service]}事项" if entry.service in SERVICE_WORDS else "事项"
    if step.kind == ErrandStepKind.refer:
        return f"您委托微网格长代办的{what}已转交{step.department}办理。{step.note}"[:400]
    return f"您委托微网格长代办的{what}已办结。{step.note}"[:400]


async def refold_errand(db: AsyncSession, entry: WorkLogEntry) -> errands.ErrandState:
    steps = list((await db.execute(sa.select(ErrandStep).where(ErrandStep.entry_id == entry.id))).scalars())
    state = errands.fold(steps)
    entry.errand_status, entry.errand_department = state.status, state.department
    for step in steps:
        why = state.notes.get(step.id, "")
        if step.why != why or step.applied != (not why):
            step.why, step.applied = why, not why
    await db.flush()
    return state


async def apply_errand_step(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    from server.notify.models import Channel
    from server.notify.outbox import queue

    data: ErrandStepData = record.data
    try:
        entry = await get_entry_for(db, viewer, data.entry_id)
    except NotFoundException:
        return {"entry_id": record.t(MSG_OUTSIDE)}
    if not viewer.roles_at(entry.grid_path) & GRID_ROLES:
        return {"entry_id": record.t(MSG_ROLE)}
    if entry.kind != WorkKind.errand:
        return {"entry_id": record.t(MSG_NOT_ERRAND)}
    department = data.department.strip()
    if data.kind == ErrandStepKind.refer and not department:
        return {"department": record.t(MSG_DEPARTMENT)}
    phone = ""
    if entry.household_id:
        phone = (await db.execute(sa.select(Household.phone).where(
            Household.id == entry.household_id, in_subtree(Household.grid_path, entry.grid_path[:2 * SEGMENT])))).scalar() or ""
    told = ""
    if data.kind in errands.FINISHING:
        if phone:
            told = "sms"
        elif data.told_in_person:
            told = "in_person"
        else:
            return {"told_in_person": record.t(MSG_TELL)}
    # Lock the record first: two phones stepping at once must not fold without each other.
    await db.execute(sa.update(WorkLogEntry).where(WorkLogEntry.id == entry.id)
                     .values(errand_status=WorkLogEntry.errand_status))
    step = ErrandStep(id=str(record.id), entry_id=entry.id, kind=data.kind,
                      department=department if data.kind == ErrandStepKind.refer else "", note=data.note.strip(),
                      told=told, actor_id=viewer.person_id, actor_name=viewer.name[:40], at=record.created_at)
    db.add(step)
    await db.flush()
    state = await refold_errand(db, entry)
    if state.notes.get(step.id):
        step.told = ""  # kept as a note: nothing happened, nobody is told
    elif told == "sms":
        await queue(db, channel=Channel.sms, kind="errand", phone=phone, body=_sms_text(entry, step),
                    dedupe_key=f"sms:errand:{step.id}")
    audit.record(db, f"errand_{data.kind}", viewer=viewer, object_type="work_log_entry", object_id=entry.id,
                 step=step.id, status=entry.errand_status, department=step.department, told=step.told)
    record.grid_path = entry.grid_path
    return None


WORKLOG_PROBLEM = SyncType(
    name="worklog_problem", schema=WorklogProblemData, apply=apply_worklog_problem, roles=GRID_ROLES, max_photos=0,
    description="One tap: an unfixed hazard or an unsettled mediation of the work log becomes a ledger problem "
                "(its id derived from the record's: never two).")
ERRAND_STEP = SyncType(
    name="errand_step", schema=ErrandStepData, apply=apply_errand_step, roles=GRID_ROLES, max_photos=0,
    description="A step in an errand's life: start (办理中), done (办结), refer (转办 to a named department); "
                "the resident is told by text or in person.")
