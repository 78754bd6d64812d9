"""The outbox API: `POST /api/sync` for records, `PUT /api/photos/{id}` for their photos.

The contract (issue 4), relied on by static/js/outbox.js and any other client:

    POST /api/sync   (session cookie + x-csrftoken header, like the pages)
    {"records": [{"id": "<uuid>", "type": "visit", "created_at": "<ISO 8601 with offset>",
                  "version": 1, "data": {...}}, ...]}
    200 {"results": [{"id": "<uuid>", "status": "created"|"duplicate"|"amended"|"rejected"|"conflict",
                      "errors": {"<field>": "<message in the user's language>"}}]}

One result per record, in order.

Amendments (issue 12). The phone may edit a record the server already holds without knowing
it (the answer to the first send was lost; another tab sent it). `version` (optional, an
integer from 1, default 1) counts the phone's saves of one record: a new record is 1, each
edit on the phone adds one; `id` and `created_at` stay. For an id the server holds:
- same person, same content: `duplicate` (a replay; nothing changes);
- same person, other content, higher version: an amendment, checked like a new record
  (scope, schema; `rejected` with reasons if it fails, the stored version untouched). Types
  whose rows can change in place (visits, work-log entries: `SyncType.amendable`) get their
  rows updated; others (an issue on the ledger with its timeline, a patrol and its problems)
  keep the version with its history for the office. Either way every version is kept in
  `sync_amendment`, the receipt holds the latest, and the answer is `amended`: the phone
  deletes the record, as for `created`. Never a dead end, never a silent loss;
- same person, lower version (an older save arriving late): `duplicate`, nothing changes;
- same version with other content, or another person's id: `conflict`.
The phone (static/js/outbox-core.js) saves an edit as the next version; an answer about an
older version than the one now on the phone leaves the newer one waiting to be sent. 400 when the body is not that JSON shape, 401 when the
session has expired (the outbox pauses and asks to sign in again), 413 beyond 500
records or 5 MB. The request schema at /schema lists every registered type's data.
"""
from __future__ import annotations

import uuid
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.openapi.spec import OpenAPIMediaType
from litestar.openapi.spec import Operation, RequestBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.auth import signed_in
from server.accounts.scope import Viewer
from server import photos
from server.sync import registry, service
from server.sync.models import Photo, SyncReceipt
from server.validate import ascii_int
from server.web import request_language, t



class SyncResult(msgspec.Struct, omit_defaults=True):
    id: str
    status: str
    errors: dict[str, str] = {}


class SyncResponse(msgspec.Struct):
    results: list[SyncResult]


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """msgspec puts nested structs in $defs; OpenAPI wants them where they are used."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(deepcopy(defs[ref.removeprefix("#/$defs/")]), defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


def data_schema(sync_type: registry.SyncType) -> dict[str, Any]:
    schema = msgspec.json.schema(sync_type.schema)
    defs = schema.pop("$defs", {})
    return _inline_refs(schema, defs)


def request_schema() -> dict[str, Any]:
    """The body of POST /api/sync, one alternative per registered type."""
    variants = []
    for sync_type in registry.all_types():
        variants.append({
            "title": sync_type.name,
            "description": sync_type.description or f"A {sync_type.name} record.",
            "type": "object",
            "required": ["id", "type", "created_at", "data"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "description": "Made on the phone at submit time; the record's primary key."},
                "type": {"type": "string", "const": sync_type.name},
                "created_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset; at most a day ahead."},
                "version": {"type": "integer", "minimum": 1, "maximum": service.MAX_VERSION, "default": 1,
                            "description": "The phone's saves of this record: 1, then one more per edit (an amendment)."},
                "data": data_schema(sync_type),
            },
        })
    return {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "maxItems": service.MAX_RECORDS,
                "items": {"oneOf": variants, "discriminator": {"propertyName": "type"}},
            }
        },
    }


@dataclass
class SyncOperation(Operation):
    """The request body is read by hand (one bad record must not fail the batch), so document it by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="Outbox records; at most 500 per request and 5 MB.",
            content={"application/json": OpenAPIMediaType(schema=request_schema())},  # type: ignore[arg-type]
        )


def _too_large(request: Request) -> HTTPException:
    return HTTPException(
        status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        detail=t(request, "Too much at once: send at most 500 records and 5 MB per request."),
    )


class SyncController(Controller):
    path = "/api"
    guards = [signed_in]
    tags = ["sync"]

    @post(
        "/sync",
        name="sync.records",
        operation_class=SyncOperation,
        status_code=HTTP_200_OK,
        request_max_body_size=service.MAX_BYTES + 1024,
        summary="Store outbox records",
    )
    async def sync_records(self, request: Request, db: AsyncSession, viewer: Viewer) -> SyncResponse:
        length = request.headers.get("content-length")
        if (ascii_int(length) or 0) > service.MAX_BYTES:
            raise _too_large(request)
        body = await request.body()
        if len(body) > service.MAX_BYTES:
            raise _too_large(request)
        try:
            # Whatever the content type says: the outbox sends JSON. Deep nesting is refused too.
            payload = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):
            raise ClientException(detail=t(request, "The body must be JSON: {\"records\": [...]}.")) from None
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            raise ClientException(detail=t(request, "The body must be JSON: {\"records\": [...]}."))
        if len(records) > service.MAX_RECORDS:
            raise _too_large(request)
        results = await service.store_records(db, viewer, records, request_language(request))
        return SyncResponse(results=[SyncResult(id=r.id, status=r.status, errors=r.errors) for r in results])

    @get("/sync", name="sync.status", summary="Check the session before a sync", cache=False)
    async def sync_status(self, request: Request, viewer: Viewer) -> dict[str, Any]:
        """Cheap: the outbox calls it to learn whether the session is alive (and to get a CSRF cookie)."""
        return {"person_id": viewer.person_id, "name": viewer.name, "types": [s.name for s in registry.all_types()]}

    @put(
        "/photos/{photo_id:uuid}",
        name="sync.photo",
        status_code=HTTP_201_CREATED,
        request_max_body_size=photos.MAX_BYTES + 1024,
        summary="Upload one photo of a synced record (raw image bytes; header x-record-id)",
    )
    async def upload_photo(self, request: Request, db: AsyncSession, viewer: Viewer, photo_id: uuid.UUID) -> Response:
        try:
            record_id = uuid.UUID(request.headers.get("x-record-id", ""))
        except ValueError:
            raise ClientException(detail=t(request, "Say which record the photo belongs to (x-record-id).")) from None
        receipt = await db.get(SyncReceipt, record_id)
        if receipt is None or receipt.person_id != viewer.person_id:
            # The record is not stored (yet): the outbox uploads photos only after their record.
            raise NotFoundException(detail=t(request, "The record of this photo is not stored yet."))
        sync_type = registry.get(receipt.type)
        try:
            photo = photos.clean_photo(await request.body())
            status = await photos.store_photo(db, photo_id=photo_id, record_id=record_id, person_id=viewer.person_id,
                                              photo=photo, max_photos=sync_type.max_photos if sync_type else photos.MAX_PHOTOS)
            await db.commit()
        except photos.PhotoRefused as refused:
            await db.rollback()
            raise HTTPException(status_code=refused.status, detail=t(request, refused.message, **refused.params)) from None
        except sa.exc.IntegrityError:
            # A concurrent upload of the same photo won the race: answer as a replay would.
            await db.rollback()
            status = photos.DUPLICATE
        codes = {photos.CREATED: HTTP_201_CREATED, photos.DUPLICATE: HTTP_200_OK, photos.CONFLICT: HTTP_409_CONFLICT}
        return Response({"id": str(photo_id), "status": status}, status_code=codes[status])


class PhotoController(Controller):
    path = "/photos"
    guards = [signed_in]
    include_in_schema = False

    @get("/{photo_id:uuid}", name="photo.show")
    async def show_photo(self, db: AsyncSession, viewer: Viewer, photo_id: uuid.UUID) -> Response:
        row = (await db.execute(
            sa.select(Photo, SyncReceipt.grid_path).join(SyncReceipt, SyncReceipt.id == Photo.record_id)
            .where(Photo.id == photo_id)
        )).first()
        if row is None:
            raise NotFoundException()
        photo, grid_path = row
        if photo.person_id != viewer.person_id and not (grid_path and viewer.sees_path(grid_path)):
            raise NotFoundException()
        return Response(photo.data, media_type=photo.content_type,
                        headers={"cache-control": "private, max-age=31536000, immutable"})
