"""Residents in the loop, without an account: the page behind the notice board's QR code
(`/r/<micro-grid code>`), the tracking page (`/track/<code>`) and a compound's
announcements (`/announcements/<compound code>`).

These pages show nobody's personal data: no names or phones of residents, only the
micro-grid leader's name (it is on the notice board already). Spam is held off with no
JavaScript at all: a honeypot field people never see, a signed timestamp that makes a
form filled in under three seconds (or kept for more than two hours) fail, and rate
limits per address (hashed) and per micro-grid.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.audit import client_ip
from server.clock import utcnow
from server.grid.models import GridNode, Level
from server.tree import ancestor_paths
from server.issues import queries, service
from server.issues.models import EventKind, Source, Status
from server.validate import ascii_int
from server.web import render, t

MIN_FILL_SECONDS = 3
MAX_FILL_SECONDS = 2 * 3600
PER_ADDRESS_PER_HOUR = 5
PER_MICROGRID_PER_DAY = 30
HONEYPOT = "website"
TRACK_LOOKUPS_PER_MINUTE = 30
TRACK_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", TRACK_LOOKUPS_PER_MINUTE), store="track_rate_limit",
                                   set_rate_limit_headers=False)
# What a resident may see of the timeline (internal steps stay internal).
PUBLIC_KINDS = {
    EventKind.report, EventKind.solve_on_spot, EventKind.assign, EventKind.rectify, EventKind.verify,
    EventKind.announce, EventKind.feedback, EventKind.close, EventKind.reopen, EventKind.decision,
}


def form_token(secret: str, code: str, issued: int | None = None) -> str:
    issued = int(time.time()) if issued is None else issued
    mac = hmac.new(secret.encode(), f"resident-form:{code}:{issued}".encode(), hashlib.sha256).hexdigest()[:20]
    return f"{issued}.{mac}"


def check_form_token(secret: str, code: str, token: str, now: float | None = None) -> bool:
    issued_text, _, mac = (token or "").partition(".")
    issued = ascii_int(issued_text, 0)
    if issued is None:
        return False
    expected = form_token(secret, code, issued).partition(".")[2]
    age = (time.time() if now is None else now) - issued
    return hmac.compare_digest(mac, expected) and MIN_FILL_SECONDS <= age <= MAX_FILL_SECONDS


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


async def _compound_of(db: AsyncSession, node: GridNode) -> GridNode | None:
    import sqlalchemy as sa

    paths = ancestor_paths(node.path)
    rows = await db.execute(sa.select(GridNode).where(GridNode.path.in_(paths), GridNode.level == Level.compound))
    return rows.scalars().first()


async def _community_of(db: AsyncSession, node: GridNode) -> GridNode | None:
    """The community above a micro-grid: its public recruitment page is linked from here."""
    import sqlalchemy as sa

    paths = ancestor_paths(node.path)
    rows = await db.execute(sa.select(GridNode).where(GridNode.path.in_(paths), GridNode.level == Level.community))
    return rows.scalars().first()


class ResidentController(Controller):
    path = "/r"

    async def _page(self, request, db, node, *, values=None, errors=None, status_code=200):
        return render(
            request, "residents/report.html", status_code=status_code, node=node,
            compound=await _compound_of(db, node), community=await _community_of(db, node),
            leaders=await queries.leaders_named(db, node),
            categories=await queries.categories(db, active_only=True), token=form_token(_secret(request), node.code),
            values=values or {}, errors=errors or {}, honeypot=HONEYPOT,
        )

    @get("/{code:str}", name="residents.report_form")
    async def show_report_form(self, request: Request, db: AsyncSession, code: str) -> Any:
        node = await service.public_microgrid(db, code)
        return await self._page(request, db, node)

    @get("/{code:str}/qr.svg", name="residents.qr")
    async def show_qr(self, request: Request, db: AsyncSession, code: str) -> Response:
        """The QR code for the micro-grid leader's notice board (公示牌): it opens this page."""
        import io

        import segno

        node = await service.public_microgrid(db, code)
        out = io.BytesIO()
        segno.make(f"{request.app.state.settings.base_url}/r/{node.code}", error="m").save(
            out, kind="svg", scale=8, border=2, title=node.name)
        return Response(out.getvalue(), media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})

    @post("/{code:str}", name="residents.report")
    async def report_problem(self, request: Request, db: AsyncSession, code: str) -> Any:
        node = await service.public_microgrid(db, code)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        values = {k: form.get(k, "") for k in ("category_id", "description", "reporter_phone", "reporter_name")}
        if form.get(HONEYPOT) or not check_form_token(_secret(request), node.code, form.get("token", "")):
            # A robot, or a form sent too fast or kept too long: a fresh form, the text kept.
            errors = {"form": t(request, "We could not accept this form. Please check it and send it again.")}
            return await self._page(request, db, node, values=values, errors=errors, status_code=400)
        now = utcnow()
        address = service.ip_hash(_secret(request), client_ip(request))
        if (await service.recent_reports(db, ip=address, since=now - timedelta(hours=1)) >= PER_ADDRESS_PER_HOUR
                or await service.recent_reports(db, node_path=node.path, since=now - timedelta(days=1)) >= PER_MICROGRID_PER_DAY):
            return render(request, "residents/too_many.html", status_code=429, node=node)
        try:
            issue, _ = await service.report_issue(
                db, None, node=node, category=values["category_id"], description=values["description"],
                reporter_phone=values["reporter_phone"], reporter_name=values["reporter_name"],
                source=Source.resident, reporter_ip_hash=address,
            )
        except service.IssueInvalid as exc:
            errors = {("category_id" if k == "category" else k): t(request, v) for k, v in exc.errors.items()}
            return await self._page(request, db, node, values=values, errors=errors, status_code=422)
        await db.commit()
        return render(request, "residents/reported.html", status_code=201, node=node, issue=issue)


def _can_reopen(issue, events) -> bool:
    """'Not solved' is offered once per feedback."""
    if issue.status not in (Status.fed_back, Status.closed):
        return False
    applied = [e for e in events if e.applied]
    last_feedback = max((i for i, e in enumerate(applied) if e.kind == EventKind.feedback), default=-1)
    return last_feedback >= 0 and not any(e.kind == EventKind.reopen for e in applied[last_feedback + 1:])


class TrackingController(Controller):
    path = "/track"
    # A tracking code is the key to a problem's page: guessing them is slowed to a crawl.
    middleware = [TRACK_RATE_LIMIT.middleware]

    @get("/", name="residents.track_form")
    async def find_problem(self, request: Request, db: AsyncSession) -> Any:
        code = service.normalise_tracking_code(request.query_params.get("code", ""))
        if code:
            return Redirect(path=f"/track/{code}", status_code=303)
        return render(request, "residents/track_form.html")

    @get("/{code:str}", name="residents.track")
    async def show_tracking(self, request: Request, db: AsyncSession, code: str) -> Any:
        try:
            issue = await service.issue_by_tracking_code(db, code)
        except NotFoundException:
            return render(request, "residents/track_form.html", status_code=404, code=code, not_found=True)
        events = await queries.timeline(db, issue)
        public = [e for e in events if e.applied and e.kind in PUBLIC_KINDS
                  and (e.kind != EventKind.decision or (e.payload or {}).get("outcome") == "announce")]
        node = await db.get(GridNode, issue.node_id)
        return render(request, "residents/track.html", issue=issue, events=public, node=node,
                      compound=await _compound_of(db, node), can_reopen=_can_reopen(issue, events),
                      reopened=request.query_params.get("reopened") == "1")

    @post("/{code:str}/not-solved", name="residents.not_solved")
    async def say_not_solved(self, request: Request, db: AsyncSession, code: str) -> Any:
        issue = await service.issue_by_tracking_code(db, code)
        events = await queries.timeline(db, issue)
        if _can_reopen(issue, events):
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            await service.record_event(db, None, issue.id, EventKind.reopen, {"note": form.get("note", "")[:500]},
                                       actor_name="")
            await db.commit()
        return Redirect(path=f"/track/{issue.tracking_code}?reopened=1", status_code=303)


class AnnouncementController(Controller):
    path = "/announcements"

    @get("/{code:str}", name="residents.announcements")
    async def show_announcements(self, request: Request, db: AsyncSession, code: str) -> Any:
        import sqlalchemy as sa

        node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
        if node is None or node.level not in (Level.compound, Level.microgrid):
            raise NotFoundException()
        compound = node if node.level == Level.compound else (await _compound_of(db, node) or node)
        return render(request, "residents/announcements.html", compound=compound,
                      announcements=await queries.announcements(db, compound))


PUBLIC_HANDLERS = [ResidentController, TrackingController, AnnouncementController]
