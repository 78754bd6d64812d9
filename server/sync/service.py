"""Storing a batch of outbox records: validation, scope, idempotency, one result each.

Two paths, same answers:
- fast: every new record is applied into one transaction and flushed once, so a
  200-record batch is a handful of statements (two multi-row inserts);
- slow: when that flush fails (a concurrent replay inserted one of the ids first, or a
  constraint the type did not check), the batch is redone record by record, each in
  its own savepoint, so one bad record never spoils the others.
"""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.i18n import N_
from server.sync import registry
from server.sync.models import SyncAmendment, SyncReceipt
from server.sync.registry import SyncRecord
from server.validate import clean_tree, parse_client_time

log = logging.getLogger("weiwang.sync")

MAX_RECORDS = 500
MAX_BYTES = 5 * 1024 * 1024
FUTURE_LIMIT = timedelta(days=1)

CREATED, DUPLICATE, REJECTED, CONFLICT, AMENDED = "created", "duplicate", "rejected", "conflict", "amended"
MAX_VERSION = 2**31 - 1
# Columns an amendment leaves as first stored (when the server received the record).
KEEP_ON_AMEND = frozenset({"received_at"})

MSG_REQUIRED = N_("This field is required.")
MSG_INVALID = N_("This value is not valid.")
MSG_TOO_LONG = N_("This is too long.")
MSG_SEND_AGAIN = N_("An earlier version of this record arrived at the same moment. Send it again.")


@dataclass
class Result:
    id: str
    status: str
    errors: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.errors:
            body["errors"] = self.errors
        return body


_canonical = msgspec.json.Encoder(order="sorted")


def content_hash(type_name: str, data: Any) -> str:
    """sha256 of the canonical JSON of type + data (sorted keys, no spaces, UTF-8): equal records, equal hashes."""
    return hashlib.sha256(_canonical.encode({"type": type_name, "data": data})).hexdigest()


def _translate(lang: str, message: str) -> str:
    return i18n.gettext(lang, message)


_FIELD_AT = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_MISSING = re.compile(r"missing required field `([A-Za-z_][A-Za-z0-9_]*)`")


def schema_errors(exc: msgspec.ValidationError, lang: str) -> dict[str, str]:
    """msgspec's one-line error as {field: message in the sender's language}."""
    text = str(exc)
    if match := _MISSING.search(text):
        return {match.group(1): _translate(lang, MSG_REQUIRED)}
    name = match.group(1) if (match := _FIELD_AT.search(text)) else "data"
    if "length <=" in text:
        return {name: _translate(lang, MSG_TOO_LONG)}
    if "length >=" in text:
        return {name: _translate(lang, MSG_REQUIRED)}
    return {name: _translate(lang, MSG_INVALID)}


@dataclass
class _Candidate:
    index: int
    type: registry.SyncType
    record: SyncRecord
    hash: str
    version: int = 1


def _check_envelope(raw: Any, viewer: Viewer, lang: str, now: datetime) -> tuple[Result | None, _Candidate | None]:
    """Check one record's envelope (cheap); its data is validated only if it is not a replay."""
    if not isinstance(raw, dict):
        return Result("", REJECTED, {"record": _translate(lang, N_("Each record must be a JSON object."))}), None
    raw_id = raw.get("id")
    try:
        record_id = uuid.UUID(str(raw_id))
    except ValueError:
        return Result(str(raw_id or ""), REJECTED, {"id": _translate(lang, N_("The record id must be a UUID."))}), None
    shown_id = str(raw_id)
    type_name = raw.get("type")
    sync_type = registry.get(type_name) if isinstance(type_name, str) else None
    if sync_type is None:
        return Result(shown_id, REJECTED, {"type": _translate(lang, N_("Unknown record type."))}), None
    if sync_type.roles is not None and not viewer.has_role(*sync_type.roles):
        return Result(shown_id, REJECTED, {"type": _translate(lang, N_("Your role may not send this kind of record."))}), None
    raw_time = raw.get("created_at")
    created_at = parse_client_time(raw_time, now, FUTURE_LIMIT)
    if created_at is None:
        if parse_client_time(raw_time, now, timedelta(days=366 * 100)) is not None:
            return Result(shown_id, REJECTED, {"created_at": _translate(lang, N_("This time is more than a day in the future. Check the phone's clock."))}), None
        return Result(shown_id, REJECTED, {"created_at": _translate(lang, N_("The time must be ISO 8601 with a UTC offset."))}), None
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        return Result(shown_id, REJECTED, {"version": _translate(lang, MSG_INVALID)}), None
    data = raw.get("data")
    if not isinstance(data, dict):
        return Result(shown_id, REJECTED, {"data": _translate(lang, MSG_INVALID)}), None
    # The hash is of the record as sent (a replay matches it); the text is cleaned in
    # _check_data, only for a record that will be stored: a replay costs no more than this.
    record = SyncRecord(id=record_id, type=sync_type.name, created_at=created_at,
                        data=None, raw=data, lang=lang)
    return None, _Candidate(-1, sync_type, record, content_hash(sync_type.name, data), version)


def _check_data(c: _Candidate) -> Result | None:
    """Clean and validate the data of a record about to be stored (new, or an amendment)."""
    try:
        c.record.raw = clean_tree(c.record.raw)
    except ValueError:
        return Result(str(c.record.id), REJECTED, {"data": _translate(c.record.lang, MSG_INVALID)})
    try:
        c.record.data = msgspec.convert(c.record.raw, c.type.schema, strict=False)
    except msgspec.ValidationError as exc:
        return Result(str(c.record.id), REJECTED, schema_errors(exc, c.record.lang))
    return None


# Built once (a replay is this one query): id, content_hash, person_id, version.
_RECEIPTS = (sa.select(SyncReceipt.id, SyncReceipt.content_hash, SyncReceipt.person_id, SyncReceipt.version)
             .where(SyncReceipt.id.in_(sa.bindparam("ids", expanding=True))))


async def _existing_receipts(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int, int]]:
    found: dict[uuid.UUID, tuple[str, int, int]] = {}
    for start in range(0, len(ids), 400):  # stay under every driver's parameter limit
        rows = await db.execute(_RECEIPTS, {"ids": ids[start:start + 400]})
        found.update({row[0]: row[1:] for row in rows})
    return found


def _replay_status(candidate: _Candidate, stored: tuple[str, int, int], viewer: Viewer) -> str:
    """A record whose id the server holds: the amendment rule (server/sync/routes.py)."""
    stored_hash, stored_person, stored_version = stored
    if stored_person != viewer.person_id:
        return CONFLICT  # another person's id: never theirs to change
    if stored_hash == candidate.hash:
        return DUPLICATE
    if candidate.version > stored_version:
        return AMENDED  # a later version: applied (or kept) below
    if candidate.version < stored_version:
        return DUPLICATE  # an older version arriving late: the server holds a newer one
    return CONFLICT  # same version, other content: not an edit this phone made


def _add_receipt(db: AsyncSession, candidate: _Candidate, viewer: Viewer, now: datetime) -> None:
    registry.add_row(db, SyncReceipt, {
        "id": candidate.record.id, "type": candidate.type.name, "person_id": viewer.person_id,
        "device_id": viewer.device_id, "content_hash": candidate.hash, "status": CREATED,
        "grid_path": candidate.record.grid_path, "received_at": now,
    })


def _staged(db: AsyncSession) -> dict:
    return db.info.setdefault(registry.STAGED, {})


def _staged_sizes(db: AsyncSession) -> dict:
    return {table: len(rows) for table, rows in _staged(db).items()}


def _unstage_since(db: AsyncSession, sizes: dict) -> None:
    for table, rows in _staged(db).items():
        del rows[sizes.get(table, 0):]


async def _insert_staged(db: AsyncSession) -> None:
    """ORM objects first (areas using db.add), then one multi-row INSERT per staged table."""
    await db.flush()
    staged = db.info.pop(registry.STAGED, {})
    # Receipts first: photos and later rows may point at them.
    for table in sorted(staged, key=lambda t: t.name != SyncReceipt.__tablename__):
        if staged[table]:
            await db.execute(sa.insert(table), staged[table])


def _clear_batch_state(db: AsyncSession) -> None:
    for key in (registry.STAGED, "sync_prefetched", "sync_roots"):
        db.info.pop(key, None)


async def _prefetch(db: AsyncSession, viewer: Viewer, candidates: list[_Candidate]) -> None:
    by_type: dict[str, list[_Candidate]] = {}
    for c in candidates:
        by_type.setdefault(c.type.name, []).append(c)
    for items in by_type.values():
        sync_type = items[0].type
        if sync_type.prefetch is not None:
            await sync_type.prefetch(db, viewer, [c.record for c in items])


async def _apply_fast(db: AsyncSession, viewer: Viewer, candidates: list[_Candidate], results: list[Result]) -> None:
    await _prefetch(db, viewer, candidates)
    now = utcnow()
    # No autoflush: the whole batch goes in at the end, as multi-row inserts.
    with db.sync_session.no_autoflush:
        for c in candidates:
            before = {id(obj) for obj in db.new}  # by identity: SQLModel rows are not hashable
            sizes = _staged_sizes(db)
            errors = await c.type.apply(db, viewer, c.record)
            if errors:
                for obj in [o for o in db.new if id(o) not in before]:
                    db.expunge(obj)
                _unstage_since(db, sizes)
                results[c.index] = Result(str(c.record.id), REJECTED, errors)
                continue
            _add_receipt(db, c, viewer, now)
            results[c.index] = Result(str(c.record.id), CREATED)
    await _insert_staged(db)
    _clear_batch_state(db)


async def _apply_slow(db: AsyncSession, viewer: Viewer, candidates: list[_Candidate], results: list[Result]) -> None:
    await _prefetch(db, viewer, candidates)
    for c in candidates:
        rid = str(c.record.id)
        try:
            async with db.begin_nested():
                errors = await c.type.apply(db, viewer, c.record)
                if errors:
                    raise _Rejected(errors)
                _add_receipt(db, c, viewer, utcnow())
                await _insert_staged(db)
            results[c.index] = Result(rid, CREATED)
        except _Rejected as rejected:
            db.info.pop(registry.STAGED, None)
            results[c.index] = Result(rid, REJECTED, rejected.errors)
        except IntegrityError:
            db.info.pop(registry.STAGED, None)
            stored = (await _existing_receipts(db, [c.record.id])).get(c.record.id)
            if stored is not None:
                status = _replay_status(c, stored, viewer)
                if status == AMENDED:
                    # Its earlier version was stored by a request running at the same time: the phone
                    # keeps this one aside and sends it again (then it is an amendment).
                    results[c.index] = Result(rid, REJECTED, {"record": c.record.t(MSG_SEND_AGAIN)})
                else:
                    results[c.index] = Result(rid, status)
            else:
                results[c.index] = Result(rid, REJECTED, {"record": c.record.t(N_("This record contradicts what is already stored."))})
        except Exception:  # a bug in one type must not block every other record forever
            db.info.pop(registry.STAGED, None)
            log.exception("sync: %s record %s could not be stored", c.type.name, rid)
            results[c.index] = Result(rid, REJECTED, {"record": c.record.t(N_("The server could not store this record. Try again later or tell your administrator."))})


async def _after_store(db: AsyncSession, viewer: Viewer, names: set[str]) -> None:
    """The install's after-store hooks, in the batch's transaction, each in a savepoint of its own:
    one that fails is logged and undone, and never costs the records just stored."""
    if not names:
        return
    for hook in registry.after_store_hooks():
        try:
            async with db.begin_nested():
                await hook(db, viewer, names)
        except Exception:
            log.exception("sync: after-store hook %s failed", getattr(hook, "__name__", hook))


def _stored_types(candidates: list[_Candidate], results: list[Result | None], statuses: tuple[str, ...]) -> set[str]:
    return {c.type.name for c in candidates if results[c.index] is not None and results[c.index].status in statuses}


class _Rejected(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


async def _amend(db: AsyncSession, viewer: Viewer, c: _Candidate, stored: tuple[str, int, int]) -> dict[str, str] | None:
    """Apply one amendment (inside a savepoint); None when done, else the reasons it was refused."""
    status = "kept"
    if c.type.amendable:
        db.info.pop(registry.STAGED, None)
        errors = await c.type.apply(db, viewer, c.record)
        if errors:
            db.info.pop(registry.STAGED, None)
            return errors
        for table, rows in db.info.pop(registry.STAGED, {}).items():
            keys = [column.name for column in table.primary_key.columns]
            for row in rows:
                values = {k: v for k, v in row.items()
                          if k not in keys and k not in KEEP_ON_AMEND and k not in c.type.keep_on_amend}
                await db.execute(sa.update(table).where(*[table.c[k] == row[k] for k in keys]).values(**values))
        status = "applied"
    db.add(SyncAmendment(record_id=c.record.id, version=c.version, type=c.type.name, person_id=viewer.person_id,
                         previous_hash=stored[0], content_hash=c.hash, data=c.record.raw, status=status,
                         received_at=utcnow()))
    await db.execute(sa.update(SyncReceipt).where(SyncReceipt.id == c.record.id)
                     .values(content_hash=c.hash, version=c.version))
    await db.flush()
    return None


async def _apply_amendments(db: AsyncSession, viewer: Viewer, amendments: list[_Candidate],
                            stored: dict[uuid.UUID, tuple[str, int, int]], results: list[Result | None]) -> None:
    """Later versions of stored records (rare: a lost answer, then an edit), one savepoint each."""
    for c in amendments:
        rid = str(c.record.id)
        if (rejection := _check_data(c)) is not None:
            results[c.index] = rejection
            continue
        await _prefetch(db, viewer, [c])
        try:
            async with db.begin_nested():
                errors = await _amend(db, viewer, c, stored[c.record.id])
                if errors:
                    raise _Rejected(errors)
            results[c.index] = Result(rid, AMENDED)
        except _Rejected as rejected:
            results[c.index] = Result(rid, REJECTED, rejected.errors)
        except IntegrityError:
            # Another request amended it first: the phone sends again and learns where it stands.
            results[c.index] = Result(rid, REJECTED, {"record": c.record.t(N_("This record contradicts what is already stored."))})
        finally:
            _clear_batch_state(db)
    await _after_store(db, viewer, _stored_types(amendments, results, (AMENDED,)))
    await db.commit()


async def store_records(db: AsyncSession, viewer: Viewer, raw_records: list[Any], lang: str) -> list[Result]:
    """Store a batch; one result per record, in order. Commits."""
    now = utcnow()
    results: list[Result | None] = [None] * len(raw_records)
    candidates: list[_Candidate] = []
    for index, raw in enumerate(raw_records):
        rejection, candidate = _check_envelope(raw, viewer, lang, now)
        if rejection is not None:
            results[index] = rejection
        else:
            candidate.index = index
            candidates.append(candidate)

    # Replays answer from the receipts without touching the record tables.
    stored = await _existing_receipts(db, [c.record.id for c in candidates]) if candidates else {}
    first_in_batch: dict[uuid.UUID, _Candidate] = {}
    new: list[_Candidate] = []
    amendments: list[_Candidate] = []
    for c in candidates:
        if c.record.id in stored:
            status = _replay_status(c, stored[c.record.id], viewer)
            if status == AMENDED and c.record.id not in first_in_batch:
                first_in_batch[c.record.id] = c
                amendments.append(c)
            else:
                results[c.index] = Result(str(c.record.id), status if status != AMENDED else CONFLICT)
        elif (earlier := first_in_batch.get(c.record.id)) is not None:
            # The same id twice in one batch: settled after the first is stored.
            results[c.index] = Result(str(c.record.id), DUPLICATE if earlier.hash == c.hash else CONFLICT)
        else:
            first_in_batch[c.record.id] = c
            if (rejection := _check_data(c)) is not None:
                results[c.index] = rejection
            else:
                new.append(c)

    if new:
        try:
            await _apply_fast(db, viewer, new, results)
            await _after_store(db, viewer, _stored_types(new, results, (CREATED,)))
            await db.commit()
        except Exception as exc:
            await db.rollback()
            if isinstance(exc, IntegrityError):
                log.info("sync: a replay raced this batch, storing record by record")
            else:
                log.warning("sync: fast path failed (%s), storing record by record", exc)
            db.expunge_all()
            _clear_batch_state(db)
            await _apply_slow(db, viewer, new, results)
            await _after_store(db, viewer, _stored_types(new, results, (CREATED,)))
            await db.commit()
            _clear_batch_state(db)

    if amendments:
        await _apply_amendments(db, viewer, amendments, stored, results)

    # A second copy of a record that was rejected in this batch is rejected too.
    for c in candidates:
        earlier = first_in_batch.get(c.record.id)
        if earlier is not None and earlier is not c and results[earlier.index].status == REJECTED:
            results[c.index] = Result(str(c.record.id), REJECTED, results[earlier.index].errors)
    return [r for r in results if r is not None]


async def store_one(db: AsyncSession, viewer: Viewer, type_name: str, data: dict[str, Any], lang: str,
                    record_id: str | None = None, created_at: datetime | None = None) -> Result:
    """The HTML forms' way in (no JavaScript): same checks, same tables as the API."""
    raw = {
        "id": record_id or str(uuid.uuid4()),
        "type": type_name,
        "created_at": (created_at or utcnow()).isoformat(),
        "data": data,
    }
    return (await store_records(db, viewer, [raw], lang))[0]
