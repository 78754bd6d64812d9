"""The ledger's record types on `POST /api/sync`: `issue` and `issue_event`.

Both go through service.report_issue / service.record_event, the same functions the
HTML forms reach through `store_one`: one path into the database. A `rectify` event's
photos follow it through `PUT /api/photos/{id}` with `x-record-id` = the event's id.
"""
from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException

from server.accounts.models import Role
from server.i18n import N_
from server.issues import service
from server.photos import MAX_PHOTOS
from server.validate import DbId
from server.sync.registry import SyncRecord, SyncType

Text = Annotated[str, msgspec.Meta(max_length=2000)]


class IssueData(msgspec.Struct, forbid_unknown_fields=False):
    """A problem found on site. `created_at` of the record is when it was reported."""

    node_id: DbId
    category_id: DbId
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    urgency: str = "normal"
    household_id: DbId | None = None
    reporter_name: Annotated[str, msgspec.Meta(max_length=40)] = ""
    reporter_phone: Annotated[str, msgspec.Meta(max_length=20)] = ""
    source: str | None = None
    # Ids of the photos the outbox uploads after this record (PUT /api/photos/{id}).
    photos: Annotated[list[Annotated[str, msgspec.Meta(max_length=36)]], msgspec.Meta(max_length=MAX_PHOTOS)] = []


class IssueEventData(msgspec.Struct, forbid_unknown_fields=False):
    """One step in a problem's life; which fields count depends on `kind`:
    assign (company_id or department, deadline YYYY-MM-DD, note), rectify (note,
    photo_count), verify / solve_on_spot / supervise / close / reopen (note), send_back
    (reason), feedback (text, channel), announce (title, body), decision (meeting_id,
    outcome, text; title and body when the outcome is announce), comment (text);
    apply_analysis (problem, reason), accept_analysis (month, note), apply_disposal /
    decline_analysis / decline_disposal (reason), accept_disposal (owner, steps, deadline).
    flag and escalate are refused: analysis and disposal go by application."""

    issue_id: Annotated[str, msgspec.Meta(min_length=36, max_length=36)]
    kind: Annotated[str, msgspec.Meta(max_length=16)]
    note: Text = ""
    text: Text = ""
    reason: Text = ""
    company_id: DbId | None = None
    department: Annotated[str, msgspec.Meta(max_length=60)] = ""
    deadline: Annotated[str, msgspec.Meta(max_length=10)] = ""
    channel: Annotated[str, msgspec.Meta(max_length=10)] = ""
    outcome: Annotated[str, msgspec.Meta(max_length=10)] = ""
    title: Annotated[str, msgspec.Meta(max_length=100)] = ""
    body: Text = ""
    meeting_id: Annotated[str, msgspec.Meta(max_length=36)] | None = None
    problem: Annotated[str, msgspec.Meta(max_length=200)] = ""
    month: Annotated[str, msgspec.Meta(max_length=7)] = ""
    owner: Annotated[str, msgspec.Meta(max_length=40)] = ""
    steps: Text = ""
    photo_count: Annotated[int, msgspec.Meta(ge=0, le=MAX_PHOTOS)] = 0
    # Ids of the photos the outbox uploads after this record (PUT /api/photos/{id}).
    photos: Annotated[list[Annotated[str, msgspec.Meta(max_length=36)]], msgspec.Meta(max_length=MAX_PHOTOS)] = []


def _translated(record: SyncRecord, errors: dict[str, str]) -> dict[str, str]:
    return {field: record.t(message) for field, message in errors.items()}


async def apply_issue(db, viewer, record: SyncRecord) -> dict[str, str] | None:
    data: IssueData = record.data
    from server.grid.models import GridNode

    node = await db.get(GridNode, data.node_id)
    if node is None or not viewer.sees_path(node.path):
        return {"node_id": record.t(N_("This place is not in your part of the grid."))}
    try:
        issue, _ = await service.report_issue(
            db, viewer, node=node, id=str(record.id), category=data.category_id, description=data.description,
            urgency=data.urgency, household_id=data.household_id, at=record.created_at,
            reporter_name=data.reporter_name, reporter_phone=data.reporter_phone, source=data.source,
        )
    except service.IssueInvalid as exc:
        return _translated(record, exc.errors)
    except PermissionDeniedException:
        return {"node_id": record.t(N_("Your role may not do this."))}
    except NotFoundException:
        return {"node_id": record.t(N_("This place is not in your part of the grid."))}
    record.grid_path = issue.node_path
    return None


async def apply_issue_event(db, viewer, record: SyncRecord) -> dict[str, str] | None:
    data: IssueEventData = record.data
    fields: dict[str, Any] = {f: getattr(data, f) for f in data.__struct_fields__}
    fields["photo_count"] = max(data.photo_count, len(data.photos))
    try:
        result = await service.record_event(
            db, viewer, data.issue_id, data.kind, fields, id=str(record.id), at=record.created_at,
            meeting_id=data.meeting_id,
        )
    except service.IssueInvalid as exc:
        return _translated(record, exc.errors)
    except PermissionDeniedException:
        return {"kind": record.t(N_("Your role may not do this."))}
    except NotFoundException:
        return {"issue_id": record.t(N_("This problem is not in your part of the grid."))}
    # Photos of the event are visible wherever the problem is.
    record.grid_path = result.issue.node_path
    return None


ISSUE = SyncType(
    name="issue", schema=IssueData, apply=apply_issue,
    roles=frozenset({Role.admin, Role.community, Role.compound, Role.leader}),
    description="A problem for the ledger (问题台账), reported by a leader or staff.",
)
ISSUE_EVENT = SyncType(
    name="issue_event", schema=IssueEventData, apply=apply_issue_event,
    roles=frozenset({Role.admin, Role.community, Role.compound, Role.leader, Role.property}),
    description="One event in a problem's life (assign, rectify, verify, feedback, close...). "
                "An event no longer valid where it falls in the log is kept as a note on the problem.",
)

SYNC_TYPES = [ISSUE, ISSUE_EVENT]
