"""The visit and work-log record types of the outbox, and the one function that stores each.

Both the sync API and the HTML forms (through server.sync.service.store_one) end here,
so a visit typed online and one replayed from a phone's outbox are stored the same way.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Household, Level
from server.i18n import N_
from server.clock import utcnow
from server.photos import MAX_PHOTOS
from server.validate import DbId
from server.sync.registry import SyncRecord, SyncType, add_row
from server.visits.matters import ERRAND_STEP, WORKLOG_PROBLEM
from server.visits.models import NEEDS, OUTCOMES, POLICIES, SERVICES, ErrandStatus, Visit, WorkKind, WorkLogEntry

Note = Annotated[str, msgspec.Meta(max_length=500, description="Free text, at most 500 characters.")]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
PhotoIds = Annotated[list[str], msgspec.Meta(max_length=MAX_PHOTOS, description="Ids of photos uploaded after the record.")]

MSG_HOUSEHOLD_OUTSIDE = N_("This household is not in your part of the grid.")
MSG_MICROGRID_OUTSIDE = N_("This micro-grid is not in your part of the grid.")
MSG_MICROGRID_NEEDED = N_("Choose the micro-grid this happened in.")


class VisitData(msgspec.Struct):
    """A door-to-door visit (走访) to one household."""

    household_id: DbId
    kind: Literal["routine", "care", "policy", "survey"]
    note: Note = ""
    needs: list[Literal[tuple(NEEDS)]] = []  # type: ignore[valid-type]
    policies: list[Literal[tuple(POLICIES)]] = []  # type: ignore[valid-type]
    photos: PhotoIds = []


class ErrandData(msgspec.Struct):
    """An errand done for a resident (帮办代办): which government service."""

    service: Literal[tuple(SERVICES)]  # type: ignore[valid-type]
    household_id: Optional[DbId] = None
    microgrid_id: Optional[DbId] = None
    note: Note = ""
    photos: PhotoIds = []


class MediationData(msgspec.Struct):
    """A dispute mediated (调解纠纷): the parties and the outcome."""

    parties: Short
    outcome: Literal[tuple(OUTCOMES)]  # type: ignore[valid-type]
    household_id: Optional[DbId] = None
    microgrid_id: Optional[DbId] = None
    note: Note = ""
    photos: PhotoIds = []


class HazardCheckData(msgspec.Struct):
    """A safety-hazard check (安全隐患排查): what, where, fixed or not."""

    hazard: Short
    place: Short
    fixed: bool = False
    household_id: Optional[DbId] = None
    microgrid_id: Optional[DbId] = None
    note: Note = ""
    photos: PhotoIds = []


async def _prefetch_places(db: AsyncSession, viewer: Viewer, records: list[SyncRecord]) -> None:
    """One query for every household and micro-grid of the batch, so `apply` looks them up in a dict."""
    household_ids = {r.data.household_id for r in records if getattr(r.data, "household_id", None)}
    node_ids = {r.data.microgrid_id for r in records if getattr(r.data, "microgrid_id", None)}
    node_ids.update(p.node_id for p in viewer.posts if p.role == Role.leader)
    # Kept for the batch by (class, id): a dict lookup, where db.get costs a trip through the async bridge.
    kept = db.info.setdefault("sync_prefetched", {})
    # Only the columns `apply` reads, as plain rows: loading whole ORM households (JSON care
    # tags, identity map) cost more than the rest of a 200-record batch.
    if household_ids:
        rows = await db.execute(
            sa.select(Household.id, Household.grid_path, Household.microgrid_id)
            .where(Household.id.in_(household_ids), viewer.subtree_clause(Household.grid_path))
        )
        for h in rows:
            kept[(Household, h.id)] = h
    if node_ids:
        rows = await db.execute(sa.select(GridNode.id, GridNode.path, GridNode.level).where(GridNode.id.in_(node_ids)))
        for n in rows:
            kept[(GridNode, n.id)] = n


def _sees(db: AsyncSession, viewer: Viewer, path: str) -> bool:
    """viewer.sees_path, with the viewer's subtree roots worked out once per batch, not per record."""
    roots = db.info.get("sync_roots")
    if roots is None or roots[0] is not viewer:
        roots = db.info["sync_roots"] = (viewer, viewer.grid_paths)
    return any(path.startswith(root) for root in roots[1])


async def _get(db: AsyncSession, model: type, key: int):
    found = db.info.get("sync_prefetched", {}).get((model, key))
    return found if found is not None else await db.get(model, key)


async def _household_in_scope(db: AsyncSession, viewer: Viewer, household_id: int) -> Household | None:
    household = await _get(db, Household, household_id)
    if household is None or not _sees(db, viewer, household.grid_path):
        return None
    return household


async def apply_visit(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: VisitData = record.data
    household = await _household_in_scope(db, viewer, data.household_id)
    if household is None:
        return {"household_id": record.t(MSG_HOUSEHOLD_OUTSIDE)}
    add_row(db, Visit, {
        "id": record.id, "household_id": household.id, "grid_path": household.grid_path, "person_id": viewer.person_id,
        "kind": data.kind, "needs": list(dict.fromkeys(data.needs)), "policies": list(dict.fromkeys(data.policies)),
        "note": data.note.strip(), "visited_at": record.created_at, "received_at": utcnow(),
    })
    record.grid_path = household.grid_path
    return None


async def _work_place(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> tuple[GridNode | None, int | None, dict[str, str] | None]:
    """The micro-grid (and household) a work-log entry belongs to, checked against scope."""
    data = record.data
    household_id = None
    default_node_id = None
    if data.household_id:
        household = await _household_in_scope(db, viewer, data.household_id)
        if household is None:
            return None, None, {"household_id": record.t(MSG_HOUSEHOLD_OUTSIDE)}
        household_id, default_node_id = household.id, household.microgrid_id
    node_id = data.microgrid_id or default_node_id or next(
        (p.node_id for p in viewer.posts if p.role == Role.leader), None
    )
    if node_id is None:
        return None, None, {"microgrid_id": record.t(MSG_MICROGRID_NEEDED)}
    node = await _get(db, GridNode, node_id)
    if node is None or node.level != Level.microgrid or not _sees(db, viewer, node.path):
        return None, None, {"microgrid_id": record.t(MSG_MICROGRID_OUTSIDE)}
    return node, household_id, None


# What the record's later life derived on the row; an amended errand or hazard keeps it.
DERIVED = frozenset({"issue_id", "errand_status", "errand_department"})


def _apply_work(kind: WorkKind):
    async def apply(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
        node, household_id, errors = await _work_place(db, viewer, record)
        if errors:
            return errors
        data = record.data
        row = {
            "id": record.id, "kind": kind.value, "person_id": viewer.person_id, "microgrid_id": node.id,
            "grid_path": node.path, "household_id": household_id, "service": "", "parties": "", "outcome": "",
            "hazard": "", "place": "", "fixed": None, "note": data.note.strip(), "done_at": record.created_at,
            "received_at": utcnow(), "issue_id": None,
            # Recording an errand accepts it (受理); its steps take it further (server/visits/matters.py).
            "errand_status": ErrandStatus.accepted.value if kind == WorkKind.errand else "", "errand_department": "",
        }
        if kind == WorkKind.errand:
            row["service"] = data.service
        elif kind == WorkKind.mediation:
            row["parties"], row["outcome"] = data.parties.strip(), data.outcome
        else:
            row["hazard"], row["place"], row["fixed"] = data.hazard.strip(), data.place.strip(), data.fixed
        add_row(db, WorkLogEntry, row)
        record.grid_path = node.path
        return None

    return apply


VISIT = SyncType(name="visit", schema=VisitData, apply=apply_visit, prefetch=_prefetch_places, amendable=True,
                          description="A door-to-door visit (走访) to one household.")
ERRAND = SyncType(keep_on_amend=DERIVED, name="errand", schema=ErrandData, apply=_apply_work(WorkKind.errand),
                           prefetch=_prefetch_places, amendable=True, description="An errand done for a resident (帮办代办).")
MEDIATION = SyncType(keep_on_amend=DERIVED, name="mediation", schema=MediationData, apply=_apply_work(WorkKind.mediation),
                              prefetch=_prefetch_places, amendable=True, description="A dispute mediated (调解纠纷).")
HAZARD_CHECK = SyncType(keep_on_amend=DERIVED, name="hazard_check", schema=HazardCheckData, apply=_apply_work(WorkKind.hazard_check),
                                 prefetch=_prefetch_places, amendable=True, description="A safety-hazard check (安全隐患排查).")

SYNC_TYPES = [VISIT, ERRAND, MEDIATION, HAZARD_CHECK, WORKLOG_PROBLEM, ERRAND_STEP]
