"""Household changes proposed from the field (sync type `household_change`) and their approval.

A leader on a household's page (or a micro-grid's, for a family that moved in) proposes a
change, offline like every other record: moved in, moved out, deceased, a new phone,
the number of members, a care tag added or removed. It is stored as a pending
`HouseholdChange` (never touching the household). Community staff see pending changes
of their part of the grid on one list and approve or reject each; approval applies it
through the same functions as an edit in the app (server/registers/edits.py), audited,
and a household that moved out leaves the worklists at once.
"""
from __future__ import annotations

import uuid
from typing import Annotated, Literal, Optional

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.grid.models import CareTag, GridNode, Household, HouseholdStatus, Level
from server.i18n import N_
from server.registers import edits
from server.registers.models import ChangeKind, ChangeStatus, HouseholdChange
from server.sync.registry import SyncRecord, SyncType, add_row

PROPOSER_ROLES = frozenset({Role.leader, Role.compound})
APPROVER_ROLES = (Role.admin, Role.community)

MSG_HOUSEHOLD_OUTSIDE = N_("This household is not in your part of the grid.")
MSG_MICROGRID_OUTSIDE = N_("This micro-grid is not in your part of the grid.")
MSG_NEEDS_HOUSEHOLD = N_("Choose the household.")
MSG_NEEDS_MICROGRID = N_("Choose the micro-grid the family moved into.")
MSG_NOT_LIVING = N_("This household no longer lives here.")
MSG_FIELD = N_("Fill this in for this kind of change.")
MSG_STALE = N_("The household has changed since this was proposed (it may have moved out). Reject it, or ask the leader again.")

CHANGE_LABELS = {
    ChangeKind.moved_in: N_("Moved in"),
    ChangeKind.moved_out: N_("Moved out"),
    ChangeKind.deceased: N_("Deceased"),
    ChangeKind.phone: N_("New phone number"),
    ChangeKind.members: N_("Number of members"),
    ChangeKind.care_tag_added: N_("Care tag added"),
    ChangeKind.care_tag_removed: N_("Care tag removed"),
}


class HouseholdChangeData(msgspec.Struct, forbid_unknown_fields=False):
    """A change to the household register, proposed from the field; community staff approve it.

    `household_id` for every kind but `moved_in`, which names the `microgrid_id` and the new
    household's `address` and `head_name`. `phone` for a new phone (and optionally on
    moved_in), `members` for the number of members, `care_tag` for a tag added or removed."""

    kind: Literal[tuple(k.value for k in ChangeKind)]  # type: ignore[valid-type]
    household_id: Optional[int] = None
    microgrid_id: Optional[int] = None
    address: Annotated[str, msgspec.Meta(max_length=120)] = ""
    head_name: Annotated[str, msgspec.Meta(max_length=40)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=20)] = ""
    members: Optional[int] = None
    care_tag: Optional[Literal[tuple(t.value for t in CareTag)]] = None  # type: ignore[valid-type]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


def _proposes_at(viewer: Viewer, path: str) -> bool:
    """A leader or compound staff proposes for the households of their own part of the grid."""
    return bool(viewer.roles_at(path) & PROPOSER_ROLES) and viewer.sees_path(path)


async def apply_household_change(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: HouseholdChangeData = record.data
    kind = ChangeKind(data.kind)
    payload: dict = {}
    if kind == ChangeKind.moved_in:
        if not data.microgrid_id:
            return {"microgrid_id": record.t(MSG_NEEDS_MICROGRID)}
        node = await db.get(GridNode, data.microgrid_id)
        if node is None or node.level != Level.microgrid or not _proposes_at(viewer, node.path):
            return {"microgrid_id": record.t(MSG_MICROGRID_OUTSIDE)}
        errors = {}
        for key in ("address", "head_name"):
            if not getattr(data, key).strip():
                errors[key] = record.t(MSG_FIELD)
        if data.phone and not edits.valid_phone(data.phone.strip()):
            errors["phone"] = record.t(edits.MSG_PHONE)
        if data.members is not None and not 1 <= data.members <= 30:
            errors["members"] = record.t(edits.MSG_MEMBERS)
        if errors:
            return errors
        household_id = None
        payload = {"address": data.address.strip(), "head_name": data.head_name.strip(), "phone": data.phone.strip(),
                   "members": data.members or 1}
    else:
        if not data.household_id:
            return {"household_id": record.t(MSG_NEEDS_HOUSEHOLD)}
        household = await db.get(Household, data.household_id)
        if household is None or not _proposes_at(viewer, household.grid_path):
            return {"household_id": record.t(MSG_HOUSEHOLD_OUTSIDE)}
        if household.status != HouseholdStatus.active:
            return {"household_id": record.t(MSG_NOT_LIVING)}
        node = await db.get(GridNode, household.microgrid_id)
        household_id = household.id
        if kind == ChangeKind.phone:
            if not edits.valid_phone(data.phone.strip()):
                return {"phone": record.t(edits.MSG_PHONE)}
            payload = {"phone": data.phone.strip()}
        elif kind == ChangeKind.members:
            if data.members is None or not 1 <= data.members <= 30:
                return {"members": record.t(edits.MSG_MEMBERS)}
            payload = {"members": data.members}
        elif kind in (ChangeKind.care_tag_added, ChangeKind.care_tag_removed):
            if not data.care_tag:
                return {"care_tag": record.t(MSG_FIELD)}
            payload = {"care_tag": data.care_tag}
    add_row(db, HouseholdChange, {
        "id": record.id, "kind": kind.value, "household_id": household_id, "microgrid_id": node.id,
        "grid_path": node.path, "data": payload, "note": data.note.strip(), "person_id": viewer.person_id,
        "proposed_at": record.created_at, "received_at": utcnow(), "status": ChangeStatus.pending.value,
        "decided_by": None, "decided_at": None, "decision_note": "",
    })
    record.grid_path = node.path
    from server.notify.rules import approval_waiting  # the outbox knows the ledger; imported here, not at the top

    await approval_waiting(db, node.path, title="住户变动待审核", body=f"{viewer.name}：{node.name}",
                           url="/registers/changes", key=f"change:{record.id}", from_sync=True)
    return None


SYNC_TYPES = [
    SyncType(name="household_change", schema=HouseholdChangeData, apply=apply_household_change,
             roles=PROPOSER_ROLES,
             description="A change to the household register proposed from the field (moved in/out, phone, members, care tags)."),
]


# --- approval ---------------------------------------------------------------------------

async def pending_for(db: AsyncSession, viewer: Viewer, limit: int = 200) -> list[tuple[HouseholdChange, Household | None, GridNode, str]]:
    """Pending changes in the viewer's part of the grid, oldest first, with household, micro-grid and proposer."""
    rows = await db.execute(
        sa.select(HouseholdChange, Household, GridNode, Person.name)
        # The household's own path bounded too: staff approve only households they may see, and
        # the bound is the street key a partitioned household table is pruned by.
        .outerjoin(Household, sa.and_(Household.id == HouseholdChange.household_id,
                                      viewer.subtree_clause(Household.grid_path)))
        .join(GridNode, GridNode.id == HouseholdChange.microgrid_id)
        .join(Person, Person.id == HouseholdChange.person_id)
        .where(HouseholdChange.status == ChangeStatus.pending, viewer.subtree_clause(HouseholdChange.grid_path))
        .order_by(HouseholdChange.received_at, HouseholdChange.id).limit(limit)
    )
    return [tuple(r) for r in rows]


async def pending_of_household(db: AsyncSession, household_id: int) -> list[HouseholdChange]:
    rows = await db.execute(sa.select(HouseholdChange).where(
        HouseholdChange.household_id == household_id, HouseholdChange.status == ChangeStatus.pending
    ).order_by(HouseholdChange.received_at))
    return list(rows.scalars())


async def get_change_for(db: AsyncSession, viewer: Viewer, change_id: str) -> HouseholdChange:
    try:
        key = uuid.UUID(change_id)
    except ValueError:
        raise NotFoundException() from None
    change = await db.get(HouseholdChange, key)
    if change is None or not viewer.sees_path(change.grid_path):
        raise NotFoundException()
    viewer.require_role(*APPROVER_ROLES)
    return change


async def approve(db: AsyncSession, viewer: Viewer, change: HouseholdChange, request=None) -> dict[str, str]:
    """Apply the change to the register (audited like an edit) and mark it approved; {} when done."""
    if change.status != ChangeStatus.pending:
        return {}
    extra = {"change": str(change.id), "proposed_by": change.person_id}
    kind = ChangeKind(change.kind)
    if kind == ChangeKind.moved_in:
        node = await db.get(GridNode, change.microgrid_id)
        household, errors = await edits.add_household(db, viewer, node, {**change.data}, request, audit_extra=extra)
        if errors:
            return errors
        change.household_id = household.id
    else:
        household = await db.get(Household, change.household_id)
        if household is None or household.status != HouseholdStatus.active:
            return {"change": MSG_STALE}
        if kind in (ChangeKind.moved_out, ChangeKind.deceased):
            errors = await edits.household_left(db, viewer, household, kind.value, request, audit_extra=extra)
        elif kind == ChangeKind.phone:
            errors = await edits.edit_household(db, viewer, household, {"phone": change.data["phone"]}, request, extra)
        elif kind == ChangeKind.members:
            errors = await edits.edit_household(db, viewer, household, {"members": change.data["members"]}, request, extra)
        else:
            tag = change.data["care_tag"]
            tags = [t for t in household.care_tags if t != tag]
            if kind == ChangeKind.care_tag_added:
                tags.append(tag)
            errors = await edits.edit_household(db, viewer, household, {"care_tags": tags}, request, extra)
        if errors:
            return errors
    change.status, change.decided_by, change.decided_at = ChangeStatus.approved.value, viewer.person_id, utcnow()
    return {}


def reject(db: AsyncSession, viewer: Viewer, change: HouseholdChange, reason: str, request=None) -> None:
    from server.accounts.audit import record

    if change.status != ChangeStatus.pending:
        return
    change.status, change.decided_by, change.decided_at = ChangeStatus.rejected.value, viewer.person_id, utcnow()
    change.decision_note = reason.strip()[:200]
    record(db, "registers_change_rejected", viewer=viewer, object_type="household_change", object_id=change.id,
           request=request, household=change.household_id, reason=change.decision_note)
