"""The `patrol` record type of the outbox, and the one function that stores a patrol.

A patrol travels whole: the compound, the checklist version it was filled with, the
participants, one answer per item, and for each failure turned into a problem the
problem's client UUID. The phone's HTML form (through server.sync.service.store_one)
and the outbox (POST /api/sync) both end in `apply_patrol`, so there is one way in.

Failures become ledger problems through the ledger's own `report_issue` (source
"patrol", the item's category, the compound as the place), in the same transaction as
the patrol: a replay of the patrol is answered from its sync receipt, and a problem id
already stored is returned as it is, so nothing is ever stored twice.
"""
from __future__ import annotations

import uuid
from typing import Annotated, Literal, Optional

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.scope import Viewer
from server.grid.models import GridNode
from server.i18n import N_
from server.issues import service as ledger
from server.issues.models import Source
from server.clock import month_of
from server.patrols import queries
from server.patrols.models import PARTICIPANT_ROLES, Patrol, PatrolAnswer, PatrolTemplate, PatrolTemplateVersion, Result
from server.photos import MAX_PHOTOS
from server.validate import DbId
from server.sync.registry import SyncRecord, SyncType

MSG_COMPOUND = N_("This compound is not one you patrol.")
MSG_UNKNOWN_VERSION = N_(
    "The server does not know checklist version %(version)s. Nothing was stored: "
    "open the patrol page again online to get the current checklist, and fill it again."
)
MSG_WRONG_TEMPLATE = N_("This checklist is not the one used in this compound.")
MSG_NOT_IN_VERSION = N_("This item is not in the checklist version the patrol was filled with.")
MSG_TWICE = N_("This item is answered twice.")
MSG_UNANSWERED = N_("Answer every item: %(n)s not answered yet.")
MSG_HANDLE_FAILURE = N_("A failed item is either fixed on the spot or turned into a problem.")
MSG_BOTH = N_("Choose one: fixed on the spot, or a problem for the ledger.")
MSG_BAD_ID = N_("Not a valid identifier.")
MSG_PERSON = N_("This person is not on this compound's roster.")

Note = Annotated[str, msgspec.Meta(max_length=500)]
MAX_ANSWERS = 200
Uuid = Annotated[str, msgspec.Meta(min_length=32, max_length=36)]


class AnswerData(msgspec.Struct):
    """One checklist item: pass, fail or not applicable. A failure is fixed on the spot,
    or becomes a ledger problem whose client UUID is `problem_id`."""

    item_id: DbId
    result: Literal["pass", "fail", "na"]
    note: Note = ""
    fixed_on_spot: bool = False
    problem_id: Optional[Uuid] = None
    photos: Annotated[list[Uuid], msgspec.Meta(max_length=MAX_PHOTOS, description="Ids of photos uploaded after the record.")] = []


class ParticipantData(msgspec.Struct):
    role: Literal[tuple(PARTICIPANT_ROLES)]  # type: ignore[valid-type]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    person_id: Optional[DbId] = None


class PatrolData(msgspec.Struct):
    """A joint patrol (联动巡查) of one compound, filled against one checklist version."""

    compound_id: DbId
    template_version_id: DbId
    answers: Annotated[list[AnswerData], msgspec.Meta(min_length=1, max_length=MAX_ANSWERS)]
    participants: Annotated[list[ParticipantData], msgspec.Meta(max_length=60)] = []
    notes: Annotated[str, msgspec.Meta(max_length=1000)] = ""


def answer_id(patrol_id: str, item_id: int) -> str:
    return str(uuid.uuid5(uuid.UUID(patrol_id), f"item-{item_id}"))


def _uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


async def apply_patrol(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: PatrolData = record.data
    compound = await db.get(GridNode, data.compound_id)
    if compound is None or not queries.can_patrol(viewer, compound):
        return {"compound_id": record.t(MSG_COMPOUND)}

    # Never map a version the server does not know onto another one: the items might differ.
    version = await db.get(PatrolTemplateVersion, data.template_version_id)
    if version is None:
        return {"template_version_id": record.t(MSG_UNKNOWN_VERSION, version=data.template_version_id)}
    template = await db.get(PatrolTemplate, version.template_id)
    if template.owner_path and not compound.path.startswith(template.owner_path):
        return {"template_version_id": record.t(MSG_WRONG_TEMPLATE)}

    items = {item.id: item for item in await queries.version_items(db, version.id)}
    errors: dict[str, str] = {}
    seen: set[int] = set()
    for answer in data.answers:
        field = f"item-{answer.item_id}"
        if answer.item_id not in items:
            errors[field] = record.t(MSG_NOT_IN_VERSION)
        elif answer.item_id in seen:
            errors[field] = record.t(MSG_TWICE)
        seen.add(answer.item_id)
        if answer.result == Result.failed:
            if answer.fixed_on_spot and answer.problem_id:
                errors[field] = record.t(MSG_BOTH)
            elif not answer.fixed_on_spot and not answer.problem_id:
                errors[field] = record.t(MSG_HANDLE_FAILURE)
            elif answer.problem_id and _uuid(answer.problem_id) is None:
                errors[field] = record.t(MSG_BAD_ID)
        if any(_uuid(p) is None for p in answer.photos):
            errors[field] = record.t(MSG_BAD_ID)
    unanswered = [item_id for item_id in items if item_id not in seen]
    if unanswered:
        errors["answers"] = record.t(MSG_UNANSWERED, n=len(unanswered))
        for item_id in unanswered:
            errors.setdefault(f"item-{item_id}", record.t(N_("Not answered yet.")))

    participants = []
    # Only people of this compound's roster are named from the database: any other id would
    # read back someone's real name from elsewhere in the street.
    known = {person.id: person.name for person, _post in await queries.roster_of(db, compound)} \
        if any(p.person_id for p in data.participants) else {}
    seen: set[tuple] = set()
    for index, p in enumerate(data.participants):
        if p.person_id and p.person_id not in known:
            errors[f"participant-{index}"] = record.t(MSG_PERSON)
        name = known.get(p.person_id, p.name.strip()) if p.person_id else p.name.strip()
        # Each person once: a guest typed in who is already on the list (from the roster or
        # typed twice) is not counted again.
        key = ("id", p.person_id) if p.person_id else ("name", name[:40])
        if key in seen or (not p.person_id and any(q["name"] == name[:40] for q in participants)):
            continue
        seen.add(key)
        participants.append({"role": p.role, "name": name[:40], "person_id": p.person_id})
    if errors:
        return errors

    patrol_id = str(record.id)
    categories = await queries.categories_by_code(db)
    fallback = categories.get("other")
    issue_ids: dict[int, str] = {}
    try:
        # A savepoint: report_issue flushes, so a problem refused halfway must take the
        # ones before it along when the patrol is rejected.
        async with db.begin_nested():
            for answer in data.answers:
                if answer.result != Result.failed or not answer.problem_id:
                    continue
                item = items[answer.item_id]
                category = categories.get(item.category_code)
                if category is None or not category.active:
                    category = fallback
                description = f"{item.section}·{item.title}：{answer.note.strip() or item.hint}"
                try:
                    # The ledger decides whether a patrol member may report at the compound
                    # (server/issues/scope.py require_report_at): no stand-in viewer here.
                    issue, _created = await ledger.report_issue(
                        db, viewer, node=compound, id=_uuid(answer.problem_id), category=category.id if category else None,
                        description=description[:1000], source=Source.patrol, at=record.created_at,
                    )
                except ledger.IssueInvalid as exc:
                    raise _Refused({f"item-{answer.item_id}": "; ".join(record.t(m) for m in exc.errors.values())}) from None
                if issue.node_id != compound.id:
                    raise _Refused({f"item-{answer.item_id}": record.t(N_("This identifier is already used by another record."))})
                issue_ids[answer.item_id] = issue.id
    except _Refused as refused:
        return refused.errors
    except (NotFoundException, PermissionDeniedException):
        return {"compound_id": record.t(MSG_COMPOUND)}

    month = month_of(record.created_at)
    counts = {r: sum(1 for a in data.answers if a.result == r) for r in Result}
    db.add(Patrol(
        id=patrol_id, compound_id=compound.id, compound_path=compound.path, month=month, version_id=version.id,
        recorded_by=viewer.person_id, participants=participants, notes=data.notes.strip(),
        patrolled_at=record.created_at, pass_count=counts[Result.passed], fail_count=counts[Result.failed],
        na_count=counts[Result.not_applicable],
    ))
    # The answers refer to the patrol: make sure it is inserted first.
    await db.flush()
    for answer in data.answers:
        item = items[answer.item_id]
        failed = answer.result == Result.failed
        db.add(PatrolAnswer(
            id=answer_id(patrol_id, item.id), patrol_id=patrol_id, item_id=item.id, item_key=item.key,
            compound_path=compound.path, month=month, result=answer.result, note=answer.note.strip(),
            fixed_on_spot=failed and answer.fixed_on_spot, issue_id=issue_ids.get(item.id),
            photo_ids=[_uuid(p) for p in answer.photos], sort_order=item.sort_order,
        ))
    record.grid_path = compound.path  # the patrol's photos are seen by whoever sees the compound
    # Taking part earns each participant points (server/incentives): theirs are folded with the
    # patrol; the recorder's fold with the batch (fold_on_arrival).
    from server.incentives.ledger import fold_others

    await fold_others(db, [p.get("person_id") for p in participants], but=viewer.person_id)
    return None


class _Refused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


PATROL = SyncType(
    name="patrol", schema=PatrolData, apply=apply_patrol,
    roles=frozenset(queries.PATROL_ROLES),
    max_photos=MAX_PHOTOS * MAX_ANSWERS,  # up to six for each answer
    description="A joint patrol (联动巡查): the whole checklist with its answers, participants, "
                "and the client ids of the problems made from its failures. An unknown checklist "
                "version is rejected, never mapped onto another.",
)

SYNC_TYPES = [PATROL]
