"""Changing the ledger: the one path for HTML forms, the sync API, patrols and residents.

`report_issue` and `record_event` are the only writers. Both take the client's UUID,
so replaying a record is a no-op, check the record (bad fields and forbidden actions are
rejected: nothing is stored), then store it and re-fold the problem's whole event log
(state.fold) into the cached columns on the Issue row. An event that is valid as data
but no longer valid at its place in the log is stored all the same, as a note, and the
result says so, so the sender can be told.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.grid.models import GridNode, Household, Level, PropertyCompany
from server.i18n import N_
from server.issues.models import EventKind, Issue, IssueCategory, IssueEvent, IssueMeeting, Source, Status, Urgency
from server.clock import aware, china_date, month_of, today_in_china
from server.issues import scope
from server.issues.state import OFFERED_OUTCOMES, fold
from server.photos import MAX_PHOTOS
from server.validate import ascii_int, latest_plan_day, parse_client_time, parse_day, parse_id, parse_month


class IssueInvalid(ValueError):
    """The record is wrong as data: field -> message id. Nothing was stored."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


FEEDBACK_CHANNELS = ("visit", "phone", "wechat", "sms", "notice")
TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
MAX_TEXT = 1000
# Phones may be offline for days, but not record the future.
CLOCK_SKEW = timedelta(hours=12)


@dataclass
class EventResult:
    event: IssueEvent
    issue: Issue
    created: bool  # False: this UUID was already stored (a replay)
    note: str  # "" when applied; else why it was kept as a note

    @property
    def applied(self) -> bool:
        return not self.note


# ---------------------------------------------------------------- helpers

def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def _client_id(value: Any, errors: dict[str, str]) -> str:
    if value in (None, ""):
        return str(uuid.uuid4())
    if not _is_uuid(value):
        errors["id"] = N_("Not a valid identifier.")
        return ""
    return str(uuid.UUID(str(value)))


def _client_time(value: Any, errors: dict[str, str], field: str = "at") -> datetime:
    """When it happened on the phone, in UTC (SQLite keeps no offset): from 2000 up to a little ahead."""
    now = utcnow()
    if value in (None, ""):
        return now
    if isinstance(value, datetime):
        value = aware(value)
    at = parse_client_time(value, now, CLOCK_SKEW)
    if at is None:
        ahead = parse_client_time(value, now, timedelta(days=366 * 100))
        errors[field] = N_("This time is in the future.") if ahead else N_("Not a valid date and time.")
        return now
    return at


def _text(data: dict, name: str, errors: dict[str, str], *, required: bool, limit: int = 500) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        errors[name] = N_("Please fill this in.")
    elif len(value) > limit:
        errors[name] = N_("This is too long.")
    return value


def _int(value: Any) -> int | None:
    """An id (from JSON or a form field), or None: see server/validate.py."""
    return parse_id(value)


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def normalise_tracking_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:12]


def valid_phone(phone: str) -> bool:
    digits = phone.replace("-", "").replace(" ", "")
    return re.fullmatch(r"[0-9]{7,13}", digits) is not None


async def active_categories(db: AsyncSession) -> list[IssueCategory]:
    rows = await db.execute(sa.select(IssueCategory).where(IssueCategory.active).order_by(IssueCategory.sort_order, IssueCategory.id))
    return list(rows.scalars())


async def _category(db: AsyncSession, value: Any, errors: dict[str, str]) -> IssueCategory | None:
    category = None
    if _int(value) is not None:
        category = await db.get(IssueCategory, _int(value))
    elif value:
        category = (await db.execute(sa.select(IssueCategory).where(IssueCategory.code == str(value)))).scalar_one_or_none()
    if category is None or not category.active:
        errors["category"] = N_("Please choose a category.")
        return None
    return category


# ---------------------------------------------------------------- reporting

async def report_issue(
    db: AsyncSession,
    viewer: Viewer | None,
    *,
    node: GridNode | None = None,
    node_code: str | None = None,
    category: int | str | None,
    description: str,
    id: str | None = None,
    urgency: str = Urgency.normal,
    household_id: int | None = None,
    source: str | None = None,
    at: datetime | str | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    reporter_ip_hash: str = "",
    partner: str = "",
) -> tuple[Issue, bool]:
    """Put a problem on the ledger; returns (issue, created). Raises IssueInvalid.

    `viewer` None means a resident through the public page (the caller has checked the
    rate limit and the spam check), or with `partner` (a key's name) another city system
    through Open311 (server/open311: the caller has checked the key and its subtree). Patrols call this with source=Source.patrol.
    The caller commits.
    """
    errors: dict[str, str] = {}
    issue_id = _client_id(id, errors)
    if issue_id and (existing := await db.get(Issue, issue_id)) is not None:
        if viewer is not None and not (scope.can_see(viewer, existing)
                                       or scope.may_report_at(viewer, existing.node_path, source)):
            raise NotFoundException()
        return existing, False

    if node is None and node_code:
        node = (await db.execute(sa.select(GridNode).where(GridNode.code == node_code))).scalar_one_or_none()
    if viewer is not None:
        viewer.require_role(*scope.REPORT_ROLES)
    if node is None:
        errors["node"] = N_("Please choose where the problem is.")
    elif viewer is not None:
        scope.require_report_at(viewer, node, source)
    cat = await _category(db, category, errors)
    description = _text({"description": description}, "description", errors, required=True, limit=MAX_TEXT)
    if urgency not in (Urgency.normal, Urgency.urgent):
        errors["urgency"] = N_("Please choose one of the options.")
    household = None
    if household_id not in (None, ""):
        household = await db.get(Household, _int(household_id)) if _int(household_id) else None
        if household is None or node is None or not household.grid_path.startswith(node.path):
            errors["household_id"] = N_("This household is not in the chosen place.")
    reporter_name = _text({"n": reporter_name}, "n", {}, required=False, limit=40)[:40]
    reporter_phone = (reporter_phone or "").strip()
    if reporter_phone and not valid_phone(reporter_phone):
        errors["reporter_phone"] = N_("Please enter a valid phone number.")
    reported_at = _client_time(at, errors)
    if viewer is None:
        # Only the public page (as a resident) and a partner's key (as open311) report without a session.
        allowed = Source.open311 if partner else Source.resident
        if source not in (None, allowed):
            errors["source"] = N_("Please choose one of the options.")
        source = allowed
    else:
        # A leader on their own micro-grid; anyone holding a staff post over the place is staff.
        # The sender may say "patrol" (a patrol's failure), never pass for someone else.
        roles = viewer.roles_at(node.path) if node is not None else frozenset()
        derived = Source.staff if roles & set(scope.STAFF_ROLES) else Source.leader
        if source not in (None, derived, Source.patrol):
            errors["source"] = N_("Please choose one of the options.")
        source = source or derived
    if errors:
        raise IssueInvalid(errors)

    issue = Issue(
        id=issue_id, node_id=node.id, node_path=node.path, household_id=household.id if household else None,
        category_id=cat.id, description=description, urgency=urgency, source=source,
        tracking_code=new_tracking_code(), reported_by=viewer.person_id if viewer else None,
        reporter_name=reporter_name, reporter_phone=reporter_phone, reporter_ip_hash=reporter_ip_hash,
        reported_at=reported_at, month=month_of(reported_at),
    )
    db.add(issue)
    role = (Source.open311 if partner else "resident") if viewer is None else (scope.actor_role(viewer, issue) or Role.leader)
    report = IssueEvent(
        # The report event's id is derived from the issue's, so replaying either is a no-op.
        id=str(uuid.uuid5(uuid.UUID(issue_id), "report")), issue_id=issue_id, kind=EventKind.report,
        actor_id=viewer.person_id if viewer else None, actor_role=role,
        actor_name=viewer.name if viewer else partner[:40], at=reported_at, payload={},
    )
    db.add(report)
    await db.flush()
    await refold(db, issue)
    if viewer is None:
        # A resident's or a partner's report: the leaders are told, in this transaction (server/notify).
        from server.notify.rules import after_report

        await after_report(db, issue)
    return issue, True


# ---------------------------------------------------------------- events

async def _check_payload(db: AsyncSession, issue: Issue, kind: str, data: dict, role: str, errors: dict[str, str]) -> dict:
    """The event's payload, cleaned; problems go into `errors`."""
    payload: dict[str, Any] = {}
    if kind == EventKind.assign:
        company_id = _int(data.get("company_id"))
        department = _text(data, "department", errors, required=False, limit=60)
        if company_id:
            if await db.get(PropertyCompany, company_id) is None:
                errors["company_id"] = N_("Please choose a property company or name a department.")
            payload["company_id"] = company_id
        elif department:
            payload["department"] = department
        else:
            errors["company_id"] = N_("Please choose a property company or name a department.")
        deadline = _date(data.get("deadline"), errors, "deadline")
        if deadline and deadline < china_date(issue.reported_at):
            errors["deadline"] = N_("The deadline cannot be before the problem was reported.")
        elif deadline and deadline > latest_plan_day(today_in_china()):
            errors["deadline"] = N_("The deadline is too far away: at most three years from today.")
        if deadline:
            payload["deadline"] = deadline.isoformat()
        payload["note"] = _text(data, "note", errors, required=False)
    elif kind == EventKind.rectify:
        payload["note"] = _text(data, "note", errors, required=True)
        # Photos follow their record (PUT /api/photos/{id}, x-record-id: the event's id);
        # the record says how many to expect.
        photo_count = ascii_int(data.get("photo_count"), 0, MAX_PHOTOS) or 0
        if role == Role.property and photo_count < 1:
            errors["photo"] = N_("Please add a photo of the rectification.")
        payload["photo_count"] = photo_count
    elif kind in (EventKind.flag, EventKind.escalate, EventKind.send_back, EventKind.apply_disposal,
                  EventKind.decline_analysis, EventKind.decline_disposal):
        payload["reason"] = _text(data, "reason", errors, required=True)
    elif kind == EventKind.apply_analysis:
        # 问题、理由: what the common or hard problem is, and why it needs the joint analysis.
        payload["problem"] = _text(data, "problem", errors, required=True, limit=200)
        payload["reason"] = _text(data, "reason", errors, required=True)
    elif kind == EventKind.accept_analysis:
        month = str(data.get("month") or "").strip()
        payload["month"] = parse_month(month) if month else today_in_china().strftime("%Y-%m")
        if not payload["month"]:
            errors["month"] = N_("Please give a month.")
        payload["note"] = _text(data, "note", errors, required=False)
    elif kind == EventKind.accept_disposal:
        # 解决方案: who leads it, the steps, and by when.
        payload["owner"] = _text(data, "owner", errors, required=True, limit=40)
        payload["steps"] = _text(data, "steps", errors, required=True, limit=MAX_TEXT)
        deadline = _date(data.get("deadline"), errors, "deadline")
        if deadline and deadline < today_in_china():
            errors["deadline"] = N_("The deadline cannot be in the past.")
        elif deadline and deadline > latest_plan_day(today_in_china()):
            errors["deadline"] = N_("The deadline is too far away: at most three years from today.")
        if deadline:
            payload["deadline"] = deadline.isoformat()
    elif kind == EventKind.announce:
        payload["title"] = _text(data, "title", errors, required=True, limit=100)
        payload["body"] = _text(data, "body", errors, required=True, limit=2000)
    elif kind == EventKind.feedback:
        payload["text"] = _text(data, "text", errors, required=True)
        channel = str(data.get("channel") or "visit")
        if channel not in FEEDBACK_CHANNELS:
            errors["channel"] = N_("Please choose one of the options.")
        payload["channel"] = channel
    elif kind == EventKind.comment:
        payload["text"] = _text(data, "text", errors, required=True)
    elif kind == EventKind.decision:
        outcome = str(data.get("outcome") or "note")
        if outcome not in OFFERED_OUTCOMES:
            errors["outcome"] = N_("Please choose one of the options.")
        payload["outcome"] = outcome
        payload["text"] = _text(data, "text", errors, required=True)
        if outcome == "announce":
            payload["title"] = _text(data, "title", errors, required=True, limit=100)
            payload["body"] = _text(data, "body", errors, required=True, limit=2000)
    else:  # solve_on_spot, verify, supervise, close, reopen
        payload["note"] = _text(data, "note", errors, required=False)
    return payload


def _date(value: Any, errors: dict[str, str], field: str) -> date | None:
    day = parse_day(value, latest=date.max)
    if day is None:
        errors[field] = N_("Please give a date.")
    return day


async def record_event(
    db: AsyncSession,
    viewer: Viewer | None,
    issue_id: str,
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    at: datetime | str | None = None,
    meeting_id: str | None = None,
    actor_name: str = "",
) -> EventResult:
    """Append one event and re-fold the problem. Raises IssueInvalid, 404 or 403.

    `viewer` None is a resident on the tracking page (only `reopen`). The caller commits.
    """
    data = data or {}
    errors: dict[str, str] = {}
    event_id = _client_id(id, errors)
    if event_id and (existing := await db.get(IssueEvent, event_id)) is not None:
        issue = await db.get(Issue, existing.issue_id)
        if str(existing.issue_id) != str(issue_id) or (viewer is not None and not scope.can_see(viewer, issue)):
            raise IssueInvalid({"id": N_("This identifier is already used by another record.")})
        return EventResult(existing, issue, False, existing.note)

    if not _is_uuid(issue_id):
        raise NotFoundException()
    # Take the row lock first: two phones appending at once must not each fold without
    # the other's event (PostgreSQL locks the row; SQLite takes its write lock).
    locked = await db.execute(sa.update(Issue).where(Issue.id == str(issue_id)).values(event_count=Issue.event_count))
    issue = await db.get(Issue, str(issue_id), populate_existing=True)
    if locked.rowcount == 0 or issue is None or (viewer is not None and not scope.can_see(viewer, issue)):
        raise NotFoundException()

    if kind not in set(EventKind) or kind == EventKind.report:
        raise IssueInvalid({"kind": N_("Unknown action.")})
    role = scope.require_event(viewer, issue, kind)  # the one check, for the form and the API alike

    payload = await _check_payload(db, issue, kind, data, role, errors)
    when = _client_time(at, errors)
    if kind == EventKind.apply_analysis and role == Role.leader and not errors:
        # The seed: "服务站值班中网格长提出申请" — a leader applies while on duty at the station
        # (checked in that day); staff over the problem may apply at any time.
        from server.party.duty import on_duty

        if not await on_duty(db, viewer.person_id, issue.node_path, china_date(when)):
            raise PermissionDeniedException(N_("Only the leader on duty at the station applies for joint analysis."))
    meeting = None
    if kind == EventKind.decision:
        meeting_id = meeting_id or data.get("meeting_id")
        meeting = await db.get(IssueMeeting, str(meeting_id)) if _is_uuid(meeting_id) else None
        if meeting is None or not issue.node_path.startswith(meeting.community_path):
            errors["meeting_id"] = N_("This meeting is not about this problem's community.")
    if errors:
        raise IssueInvalid(errors)

    event = IssueEvent(
        id=event_id, issue_id=issue.id, kind=kind, actor_id=viewer.person_id if viewer else None,
        actor_role=role, actor_name=(viewer.name if viewer else actor_name)[:40], at=when, payload=payload,
        meeting_id=meeting.id if meeting else None,
    )
    db.add(event)
    await db.flush()
    was_closed = issue.status == Status.closed.value
    state = await refold(db, issue)
    note = state.notes.get(event.id, "")
    if not note:
        # In this transaction: the event and what it tells people are stored together (server/notify).
        from server.notify.rules import after_event

        await after_event(db, issue, event)
    if not was_closed and issue.status == Status.closed.value and issue.reported_by:
        # Closed with feedback earns its reporter points (server/incentives): folded now, with the close.
        from server.incentives.ledger import fold_others

        await fold_others(db, [issue.reported_by])
    return EventResult(event, issue, True, note)


async def refold(db: AsyncSession, issue: Issue):
    """Recompute the cached state of `issue` from all its events."""
    events = list((await db.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))).scalars())
    state = fold(events)
    for name, value in state.columns().items():
        setattr(issue, name, value)
    for event in events:
        note = state.notes.get(event.id, "")
        if event.note != note or event.applied != (not note):
            event.note = note
            event.applied = not note
    await db.flush()
    return state


# ---------------------------------------------------------------- residents

def ip_hash(secret: str, ip: str) -> str:
    """A keyed hash of the address: enough to rate-limit, useless to identify anyone."""
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()[:16]


async def public_microgrid(db: AsyncSession, code: str) -> GridNode:
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or node.level != Level.microgrid:
        raise NotFoundException()
    return node


async def recent_reports(db: AsyncSession, *, ip: str = "", node_path: str = "", since: datetime) -> int:
    clause = Issue.reporter_ip_hash == ip if ip else Issue.node_path == node_path
    return (await db.execute(
        sa.select(sa.func.count()).select_from(Issue).where(clause, Issue.source == Source.resident, Issue.received_at >= since)
    )).scalar_one()


async def issue_by_tracking_code(db: AsyncSession, code: str) -> Issue:
    code = normalise_tracking_code(code)
    issue = (await db.execute(sa.select(Issue).where(Issue.tracking_code == code))).scalar_one_or_none() if code else None
    if issue is None:
        raise NotFoundException()
    return issue


def closed_states() -> tuple[str, ...]:
    return (Status.fed_back, Status.closed)
