"""The ledger as GeoReport v2 sees it: services are problem categories, a request is a problem.

A partner reads only the problems in its key's subtree, and never a resident's name or
phone: what the public tracking page shows, plus the micro-grid's code as `address_id`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import CHINA, aware, utcnow
from server.grid.models import GridNode, PropertyCompany
from server.issues.models import OPEN_STATUSES, EventKind, Issue, IssueCategory, IssueEvent
from server.tree import in_subtree

# The spec's defaults: without dates, the last 90 days; at most 90 days and 1,000 requests.
DEFAULT_DAYS = 90
MAX_RESULTS = 1000
MAX_IDS = 100


class BadQuery(ValueError):
    """A filter the spec does not allow: (parameter, message)."""


def open_or_closed(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def iso(value: datetime | None) -> str | None:
    return aware(value).astimezone(CHINA).isoformat(timespec="seconds") if value else None


def service_of(category: IssueCategory) -> dict[str, Any]:
    return {
        "service_code": category.code, "service_name": category.name, "description": category.name_en or category.name,
        "metadata": False, "type": "realtime", "keywords": "", "group": "",
    }


def parse_when(value: str | None, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(name, "不是 ISO 8601 日期时间 (not an ISO 8601 date-time)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=CHINA)  # a partner in the city means China time
    if not datetime(2000, 1, 1, tzinfo=CHINA) <= when <= datetime(2100, 1, 1, tzinfo=CHINA):
        raise BadQuery(name, "日期超出范围 (date out of range)")
    return when


def _codes(value: str | None, name: str) -> list[str]:
    codes = [c.strip() for c in (value or "").split(",") if c.strip()]
    if len(codes) > MAX_IDS or any(len(c) > 64 for c in codes):
        raise BadQuery(name, "列表太长 (too many values)")
    return codes


async def find_requests(db: AsyncSession, subtree: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """The problems of `subtree` matching the spec's filters, newest first."""
    query = sa.select(Issue).where(in_subtree(Issue.node_path, subtree))
    ids = _codes(params.get("service_request_id"), "service_request_id")
    if ids:
        # The spec: with ids, every other filter is ignored.
        query = query.where(Issue.id.in_(ids))
    else:
        start, end = parse_when(params.get("start_date"), "start_date"), parse_when(params.get("end_date"), "end_date")
        if start and end and end < start:
            raise BadQuery("end_date", "end_date 早于 start_date (end_date is before start_date)")
        if start and end and end - start > timedelta(days=DEFAULT_DAYS):
            raise BadQuery("end_date", "最多 90 天 (at most 90 days)")
        end = end or (start + timedelta(days=DEFAULT_DAYS) if start else utcnow())
        start = start or end - timedelta(days=DEFAULT_DAYS)
        query = query.where(Issue.reported_at >= start, Issue.reported_at <= end)
        services = _codes(params.get("service_code"), "service_code")
        if services:
            query = query.join(IssueCategory, IssueCategory.id == Issue.category_id).where(IssueCategory.code.in_(services))
        statuses = _codes(params.get("status"), "status")
        if any(s not in ("open", "closed") for s in statuses):
            raise BadQuery("status", "status 只能是 open 或 closed (status is open or closed)")
        if statuses and set(statuses) != {"open", "closed"}:
            query = query.where(Issue.status.in_(OPEN_STATUSES) if statuses[0] == "open" else Issue.status.not_in(OPEN_STATUSES))
    issues = list((await db.execute(query.order_by(Issue.reported_at.desc(), Issue.id).limit(MAX_RESULTS))).scalars())
    return await describe(db, issues)


async def describe(db: AsyncSession, issues: list[Issue]) -> list[dict[str, Any]]:
    """GeoReport's request objects for `issues`, in a few queries whatever their number."""
    if not issues:
        return []
    categories = {c.id: c for c in (await db.execute(sa.select(IssueCategory))).scalars()}
    node_ids = {i.node_id for i in issues}
    nodes = {n.id: n for n in (await db.execute(sa.select(GridNode).where(GridNode.id.in_(node_ids)))).scalars()}
    company_ids = {i.assignee_company_id for i in issues if i.assignee_company_id}
    companies = {c.id: c.name for c in (await db.execute(
        sa.select(PropertyCompany).where(PropertyCompany.id.in_(company_ids)))).scalars()} if company_ids else {}
    notes = await _status_notes(db, [i.id for i in issues])
    out = []
    for issue in issues:
        category, node = categories.get(issue.category_id), nodes.get(issue.node_id)
        out.append({
            "service_request_id": issue.id,
            "status": open_or_closed(issue.status),
            "status_notes": notes.get(issue.id, ""),
            "service_name": category.name if category else "",
            "service_code": category.code if category else "",
            "description": issue.description,
            "agency_responsible": companies.get(issue.assignee_company_id) or issue.assignee_department or "",
            "service_notice": "",
            "requested_datetime": iso(issue.reported_at),
            "updated_datetime": iso(issue.last_event_at or issue.received_at),
            "expected_datetime": issue.deadline.isoformat() + "T18:00:00+08:00" if issue.deadline else None,
            "address": node.name if node else "",
            "address_id": node.code if node else "",
            "zipcode": "",
            "lat": None,
            "long": None,
            "media_url": "",
        })
    return out


async def _status_notes(db: AsyncSession, issue_ids: list[str]) -> dict[str, str]:
    """The latest feedback to the residents (or the announcement of why it cannot be solved)."""
    rows = await db.execute(
        sa.select(IssueEvent.issue_id, IssueEvent.kind, IssueEvent.payload)
        .where(IssueEvent.issue_id.in_(issue_ids), IssueEvent.applied,
               IssueEvent.kind.in_((EventKind.feedback, EventKind.announce)))
        .order_by(IssueEvent.at, IssueEvent.id))
    notes: dict[str, str] = {}
    for issue_id, kind, payload in rows.all():
        payload = payload or {}
        notes[issue_id] = payload.get("text", "") if kind == EventKind.feedback else payload.get("title", "")
    return notes

