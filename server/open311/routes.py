"""GeoReport v2 endpoints under /open311/v2 (JSON only).

Every answer that is not a success is the spec's error shape, an array of
`{"code": <HTTP status>, "description": "..."}`, whatever went wrong: a bad filter, a
missing or revoked key, a place outside the key's subtree, a ledger rule, or a bug of
ours (logged, answered 500 in the same shape rather than an HTML page).

A partner files a problem exactly as a resident would: `service.report_issue` with the
micro-grid (`address_id`), source `open311`, the key's name as the reporter of record.
It then sits in that micro-grid's ledger, seen and handled like any other.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post, route
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.clock import utcnow
from server.grid.models import GridNode, Level, active_node
from server.i18n import gettext
from server.issues import service
from server.issues.models import Issue, Source
from server.open311 import georeport, keys
from server.open311.models import ApiKey
from server.tree import in_subtree

log = logging.getLogger(__name__)
RATE_STORE = "open311_rate_limit"
MAX_BODY_FIELDS = 40


@dataclass
class ErrorItem:
    """One entry of the spec's error answer (an array of them)."""

    code: int
    description: str


def _error_specs(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers an operation gives, documented so partners (and the fuzz test) can rely on them."""
    meaning = {400: "a bad parameter or body", 403: "api_key missing, invalid or revoked", 404: "no such resource",
               429: "too many calls a minute for this key"}
    return {s: ResponseSpec(data_container=list[ErrorItem], generate_examples=False,
                            description=f"an array of {{code, description}}: {meaning[s]}") for s in statuses}


API_KEY = Annotated[str | None, Parameter(query="api_key", description="the partner's key (weiwang apikey)", max_length=200)]
# What a partner may post (application/x-www-form-urlencoded, or the same as a JSON object).
REQUEST_FIELDS = {
    "api_key": "the partner's key", "service_code": "a problem category (services.json)",
    "address_id": "a micro-grid code", "lat": "latitude (only where the grid has coordinates)",
    "long": "longitude", "description": "what is wrong", "first_name": "", "last_name": "",
    "phone": "for the answer by text", "email": "",
}


@dataclass
class CreateRequestOperation(Operation):
    """POST requests.json reads its fields itself (a form or JSON); this documents them."""

    def __post_init__(self) -> None:
        schema = Schema(type="object", required=["api_key", "service_code", "description"],
                        properties={k: Schema(type="string", description=d or None) for k, d in REQUEST_FIELDS.items()})
        self.request_body = RequestBody(required=True, content={
            "application/x-www-form-urlencoded": OpenAPIMediaType(schema=schema), "application/json": OpenAPIMediaType(schema=schema)})


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def errors(status: int, *descriptions: str) -> Response:
    return Response([{"code": status, "description": d} for d in descriptions], status_code=status,
                    media_type="application/json")


def answer_error(request: Request, exc: Exception) -> Response:
    """The spec's error array for anything raised under /open311 (never an HTML page)."""
    if isinstance(exc, Open311Error):
        return errors(exc.status, exc.description)
    if isinstance(exc, georeport.BadQuery):
        name, message = exc.args
        return errors(400, f"{name}: {message}")
    if isinstance(exc, HTTPException):
        return errors(exc.status_code, str(exc.detail))
    log.exception("open311: unhandled error on %s %s", request.method, request.url.path)
    return errors(500, "服务器内部错误 (internal error)")


async def _key(request: Request, db: AsyncSession, raw: Any) -> ApiKey:
    key = await keys.key_for(db, raw if isinstance(raw, str) else None)
    if key is None:
        raise Open311Error(403, "api_key 无效或已撤销 (api_key missing, invalid or revoked)")
    if await keys.over_rate_limit(request.app.stores.get(RATE_STORE), key):
        raise Open311Error(429, f"请求过多：每分钟最多 {keys.CALLS_PER_MINUTE} 次 (too many calls a minute)")
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at.replace(tzinfo=now.tzinfo)).total_seconds() > 60:
        await db.execute(sa.update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await db.commit()
    return key


def _json_only(name: str, suffix: str = ".json") -> str:
    if name.endswith(".xml"):
        raise Open311Error(400, "只提供 JSON：请用 .json (only JSON is served: use .json)")
    if not name.endswith(suffix):
        raise Open311Error(404, "没有这个地址 (no such resource)")
    return name[: -len(suffix)]


class Open311Controller(Controller):
    path = "/open311/v2"
    exception_handlers = {Exception: answer_error}

    @get("/discovery.json", name="open311.discovery")
    async def describe_endpoint(self, request: Request) -> dict[str, Any]:
        base = request.app.state.settings.base_url
        return {"changeset": "2026-12-01T00:00:00+08:00", "contact": "街道办事处",
                "key_service": "weiwang apikey --name NAME --grid CODE",
                "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": f"{base}/open311/v2",
                               "changeset": "2026-12-01T00:00:00+08:00", "type": "production",
                               "formats": ["application/json"]}]}

    @route(["/services.xml", "/requests.xml"], http_method=["GET", "POST"], name="open311.xml",
           responses=_error_specs(400), include_in_schema=False)
    async def refuse_xml(self) -> None:
        """The spec's XML format is optional: say so in the error shape, not with an HTML 404."""
        raise Open311Error(400, "只提供 JSON：请用 .json (only JSON is served: use .json)")

    @get("/services.json", name="open311.services")
    async def list_services(self, db: AsyncSession) -> list[dict[str, Any]]:
        """The problem categories; public, like the resident's report page that lists them."""
        return [georeport.service_of(c) for c in await service.active_categories(db)]

    @get("/services/{name:str}", name="open311.service", responses=_error_specs(400, 404))
    async def show_service(self, db: AsyncSession, name: str) -> Response:
        code = _json_only(name)
        if not any(c.code == code for c in await service.active_categories(db)):
            raise Open311Error(404, "没有这个 service_code (no such service_code)")
        # metadata is false for every service: there are no extra attributes to describe.
        raise Open311Error(400, "该服务没有附加属性 (this service has no attributes: metadata is false)")

    @get("/requests.json", name="open311.requests", responses=_error_specs(400, 403, 429))
    async def list_requests(
        self, request: Request, db: AsyncSession, api_key: API_KEY = None,
        service_request_id: Annotated[str | None, Parameter(description="ids, comma-separated")] = None,
        service_code: Annotated[str | None, Parameter(description="categories, comma-separated")] = None,
        status: Annotated[str | None, Parameter(description="open, closed or both")] = None,
        start_date: Annotated[str | None, Parameter(description="ISO 8601")] = None,
        end_date: Annotated[str | None, Parameter(description="ISO 8601; at most 90 days after start_date")] = None,
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        key = await _key(request, db, api_key)
        return await georeport.find_requests(db, key.node_path, params)

    @get("/requests/{name:str}", name="open311.request", responses=_error_specs(400, 403, 404, 429))
    async def show_request(self, request: Request, db: AsyncSession, name: str, api_key: API_KEY = None) -> list[dict[str, Any]]:
        issue_id = _json_only(name)
        key = await _key(request, db, api_key)
        issue = await db.get(Issue, issue_id) if len(issue_id) <= 36 else None
        if issue is None or not issue.node_path.startswith(key.node_path):
            raise Open311Error(404, "没有这个 service_request_id (no such service_request_id)")
        return await georeport.describe(db, [issue])

    @post("/requests.json", name="open311.create_request", status_code=201, responses=_error_specs(400, 403, 429),
          operation_class=CreateRequestOperation)
    async def create_request(self, request: Request, db: AsyncSession) -> list[dict[str, Any]]:
        data = await _body(request)
        key = await _key(request, db, data.get("api_key"))
        node = await _place(db, key, data)
        name = " ".join(p for p in (data.get("first_name", ""), data.get("last_name", "")) if p).strip()
        try:
            issue, created = await service.report_issue(
                db, None, node=node, category=data.get("service_code") or None,
                description=data.get("description", ""), reporter_name=name[:40],
                reporter_phone=data.get("phone", "").strip(), partner=key.name, source=Source.open311,
            )
        except service.IssueInvalid as exc:
            field_names = {"category": "service_code", "reporter_phone": "phone"}
            return errors(400, *(f"{field_names.get(f, f)}: {gettext('zh-CN', m)}" for f, m in exc.errors.items()))
        audit.record(db, "open311_report", object_type="issue", object_id=issue.id, request=request,
                     api_key=key.id, partner=key.name)
        await db.commit()
        return [{"service_request_id": issue.id, "service_notice": "", "account_id": None}]


async def _body(request: Request) -> dict[str, str]:
    """The spec posts a form; a JSON object is taken too. Only text fields count."""
    content_type, _ = request.content_type
    if content_type == "application/json":
        try:
            raw = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Open311Error(400, "请求体不是 JSON (the body is not JSON)") from None
        if not isinstance(raw, dict):
            raise Open311Error(400, "请求体应为对象 (the body must be an object)")
    else:
        raw = dict(await request.form())
    if len(raw) > MAX_BODY_FIELDS:
        raise Open311Error(400, "字段太多 (too many fields)")
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


async def _place(db: AsyncSession, key: ApiKey, data: dict[str, str]) -> GridNode:
    """The micro-grid named by `address_id`, inside the key's subtree; lat/long need coordinates."""
    code = (data.get("address_id") or "").strip()
    if not code:
        if data.get("lat") or data.get("long"):
            raise Open311Error(400, "网格没有坐标，无法按 lat/long 定位：请用 address_id 填微网格编码 "
                                    "(the grid has no coordinates: send address_id, a micro-grid code)")
        raise Open311Error(400, "address_id: 请填写微网格编码 (required: a micro-grid code)")
    node = (await db.execute(sa.select(GridNode).where(
        GridNode.code == code[:40], GridNode.level == Level.microgrid, active_node(), in_subtree(GridNode.path, key.node_path),
    ))).scalar_one_or_none()
    if node is None:
        # The same answer for a code that does not exist and one outside the key's area.
        raise Open311Error(400, "address_id: 此密钥的范围内没有这个微网格 (no such micro-grid in this key's area)")
    return node


OPEN311_HANDLERS = [Open311Controller]
