"""The record types the outbox may carry, and how each one reaches the database.

Every form a phone can fill in offline sends its records through `POST /api/sync`
(server/sync/routes.py). An area makes a form offline-capable by declaring a type in its
`SYNC_TYPES` list, which server/app.py lists next to the route handlers (one file shows
every record type; nothing registers itself by being imported):

    from server.sync.registry import SyncType

    class IssueData(msgspec.Struct):          # or a dataclass: validation + OpenAPI schema
        microgrid_id: int
        title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]

    async def apply_issue(db, viewer, record) -> dict[str, str] | None:
        node = await db.get(GridNode, record.data.microgrid_id)
        if node is None or not viewer.sees_path(node.path):
            return {"microgrid_id": record.t("This micro-grid is not in your part of the grid.")}
        db.add(Issue(id=record.id, ..., created_at=record.created_at))
        record.grid_path = node.path          # lets the owner's photos be scoped
        return None

    SYNC_TYPES = [SyncType(name="issue", schema=IssueData, apply=apply_issue)]

The contract for `apply(db, viewer, record)`:
- `record` is a `SyncRecord`: `id` (uuid.UUID, the client's id: use it as the row's
  primary key), `type`, `created_at` (aware datetime, never more than a day ahead),
  `data` (an instance of `schema`, already validated for shape and types), `raw` (the
  data as sent), `t(message, **params)` to translate an error into the sender's language,
  and `grid_path` to set (optional) so photos of the record are visible in that subtree.
- Check scope and the rules the schema cannot express, then `db.add(...)` the rows.
  Do not commit, do not flush unless you must read back: the caller inserts the whole
  batch in one go (fast path) or record by record inside savepoints (slow path).
- For big batches, `add_row(db, Model, {...every column...})` instead of `db.add(Model(...))`
  stages a plain row for one multi-row INSERT per table at the end (no ORM objects: a
  200-record batch is then a few milliseconds of Python). Column defaults of the model
  class are not applied to staged rows: give every value.
- Return None when stored, or `{field: message}` to reject the record: it is then not
  stored at all (anything you added is discarded), and the phone keeps it aside with
  your messages until the leader edits or deletes it.
- Optional `prefetch(db, viewer, records)`: load in one query what the batch's
  `apply` calls will look up (e.g. every household), so a 200-record batch does not make
  200 round trips. Keep the rows referenced (server/visits/records.py keeps them in
  `db.info["sync_prefetched"]`, cleared after the batch): the session's identity map holds
  rows only weakly, so a bare `db.get` may query again. Called before `apply`, with the
  valid new records of this type only.
- Optional `roles`: the roles that may send this type (others get it rejected).

After a batch is stored, and before it is committed, each `after_store` hook given to
`install` runs with (db, viewer, names of the types stored or amended): the glimmer points
fold the sender's new records in the same transaction (server/incentives/ledger.py). A
hook that fails is logged and undone on its own; the records stay stored.

Idempotency is not the type's business: a `SyncReceipt` row with the record's id is
inserted in the same transaction, so a replay answers `duplicate` (same content) without
calling `apply` again. A later version of a stored record (the phone's `version` grew) is an
amendment: with `amendable=True` the service calls `apply` again and updates the staged rows
in place (so `apply` must check everything again, as it does); otherwise it keeps the
version in `sync_amendment`. Either way the phone hears `amended` (see server/sync/routes.py).

The HTML form of an area, when posted without JavaScript, calls `store_one` (in
server/sync/service.py) with the same type name: one path into the database.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server import i18n
from server.photos import MAX_PHOTOS

Errors = dict[str, str]


@dataclass
class SyncRecord:
    id: uuid.UUID
    type: str
    created_at: datetime
    data: Any
    raw: dict[str, Any]
    lang: str = i18n.DEFAULT_LANGUAGE
    grid_path: str | None = None

    def t(self, message: str, **params: Any) -> str:
        text = i18n.gettext(self.lang, message)
        return text % params if params else text


ApplyFn = Callable[[Any, Any, SyncRecord], Awaitable[Errors | None]]
PrefetchFn = Callable[[Any, Any, list[SyncRecord]], Awaitable[None]]


@dataclass(frozen=True)
class SyncType:
    name: str
    schema: type
    apply: ApplyFn
    prefetch: PrefetchFn | None = None
    roles: frozenset[str] | None = None
    description: str = ""
    # How many photos one record may own (PUT /api/photos refuses more): what its schema allows.
    max_photos: int = field(default=MAX_PHOTOS)
    # Amendments (a later version of a stored record, server/sync/service.py): True when `apply`
    # only stages rows keyed by the record (add_row), so re-applying the new version and updating
    # those rows in place is the amendment. Otherwise the new version is kept with its history
    # (sync_amendment, status "kept") for the office to read, and the rows stay as first stored.
    amendable: bool = False
    # Columns of the staged rows an amendment leaves alone: what later records derived on the row
    # (a work-log entry's ledger problem and errand status) is not the phone's to overwrite.
    keep_on_amend: frozenset[str] = frozenset()


_TYPES: dict[str, SyncType] = {}
AfterStoreFn = Callable[[Any, Any, set[str]], Awaitable[None]]
_AFTER_STORE: list[AfterStoreFn] = []
STAGED = "sync_staged_rows"


def add_row(db: Any, model: type, values: dict[str, Any]) -> None:
    """Stage one row of `model`'s table, inserted with the rest of the batch (see the module docstring)."""
    db.info.setdefault(STAGED, {}).setdefault(model.__table__, []).append(values)


def install(types: list[SyncType], after_store: list[AfterStoreFn] = ()) -> None:
    """Make exactly these the record types /api/sync accepts, and these the hooks run after a
    batch is stored (create_app passes both lists in server/app.py). Two types of one name are a mistake."""
    names = [t.name for t in types]
    if len(set(names)) != len(names):
        raise ValueError(f"sync types named twice: {sorted(n for n in set(names) if names.count(n) > 1)}")
    _TYPES.clear()
    _TYPES.update({t.name: t for t in types})
    _AFTER_STORE[:] = list(after_store)


def after_store_hooks() -> list[AfterStoreFn]:
    return list(_AFTER_STORE)


def get(name: str) -> SyncType | None:
    return _TYPES.get(name)


def all_types() -> list[SyncType]:
    return [_TYPES[name] for name in sorted(_TYPES)]
