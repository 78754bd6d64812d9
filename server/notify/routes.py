"""The outbox as the administrator sees it, the provider's reply webhook, and the resident's opt-out page."""
from __future__ import annotations

import hmac
import json
import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.grid.models import CareTag, GridNode, Level, active_node
from server.i18n import N_
from server.notify import broadcasts, push
from server.notify.models import Broadcast, Delivery, Notification, NotifySetting, PushSubscription, SmsOptOut
from server.notify.outbox import counts, phone_digits
from server.web import render, t

# What a reply must say to opt out (the provider forwards the resident's text).
OPT_OUT_WORDS = {"TD", "T", "退订", "TD退订", "N", "取消"}
# Opting a number out is harmless but should not be scripted over a range of numbers.
UNSUBSCRIBE_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 20), store="unsubscribe_rate_limit",
                                         set_rate_limit_headers=False)


class NotificationAdminController(Controller):
    path = "/admin/notifications"
    guards = [signed_in]

    @get("/", name="notify.admin")
    async def show_outbox(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Failures are visible: what could not be delivered, why, and how much is waiting."""
        viewer.require_role(Role.admin)
        # A publicity broadcast's numbers wait in the outbox by the thousand while it sends at a
        # steady rate: one line per broadcast with how many are left, not a row per number that
        # would push everything else off the list. Its failures are listed one by one, with the rest.
        rows = await db.execute(
            sa.select(Notification, Person.name).outerjoin(Person, Person.id == Notification.person_id)
            .where(sa.or_(Notification.status == Delivery.failed,
                          sa.and_(Notification.status == Delivery.pending, Notification.broadcast_id.is_(None))))
            .order_by(Notification.status, Notification.created_at.desc()).limit(50))
        sending = await db.execute(
            sa.select(Broadcast.id, Broadcast.text, sa.func.count(), sa.func.max(Notification.next_attempt_at))
            .join(Notification, Notification.broadcast_id == Broadcast.id)
            .where(Notification.status == Delivery.pending)
            .group_by(Broadcast.id, Broadcast.text).order_by(Broadcast.id))
        return render(request, "notify/admin.html", counts=await counts(db), rows=rows.all(), sending=sending.all())

    @post("/{notification_id:uuid}/retry", name="notify.retry")
    async def retry_notification(self, request: Request, db: AsyncSession, viewer: Viewer,
                                 notification_id: uuid.UUID) -> Redirect:
        viewer.require_role(Role.admin)
        notification = await db.get(Notification, notification_id)
        if notification is not None and notification.status == Delivery.failed:
            notification.status, notification.attempts, notification.last_error = Delivery.pending, 0, ""
            audit.record(db, "notification_retry", viewer=viewer, object_type="notification",
                         object_id=notification.id, request=request)
            await db.commit()
        return Redirect(path="/admin/notifications/", status_code=303)


async def opt_out(db: AsyncSession, phone: str, via: str, request=None) -> bool:
    digits = phone_digits(phone)
    if len(digits) == 13 and digits.startswith("86"):  # +86 138…: the country code, as providers often send it
        digits = digits[2:]
    if not 7 <= len(digits) <= 13:
        return False
    if await db.get(SmsOptOut, digits) is None:
        db.add(SmsOptOut(phone=digits, via=via))
        audit.record(db, "sms_opt_out", object_type="phone", object_id=digits[:3] + "****" + digits[-4:],
                     request=request, via=via)
    return True


class InboundSmsController(Controller):
    """The provider posts each reply here: {"from": "138…", "text": "TD"} (JSON or a form)."""

    path = "/notify/inbound"

    @post("/", name="notify.inbound", status_code=200)
    async def receive_reply(self, request: Request, db: AsyncSession) -> Response:
        expected = request.app.state.settings.sms_inbound_token
        given = request.query_params.get("token", "")
        if not expected or not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            raise PermissionDeniedException("unknown sender")
        content_type, _ = request.content_type
        if content_type == "application/json":
            try:
                data = json.loads(await request.body() or b"{}")
            except (ValueError, UnicodeDecodeError):
                data = {}
        else:
            data = dict(await request.form())
        data = data if isinstance(data, dict) else {}
        phone, text = str(data.get("from") or ""), str(data.get("text") or "")
        word = "".join(text.split()).upper()
        done = word in OPT_OUT_WORDS and await opt_out(db, phone, "reply", request)
        await db.commit()
        return Response({"ok": True, "opted_out": bool(done)}, media_type="application/json")


class UnsubscribeController(Controller):
    """A resident's page: no more publicity messages to this number (linked from the messages' help)."""

    path = "/unsubscribe"

    @get("/", name="notify.unsubscribe_form")
    async def show_unsubscribe(self, request: Request) -> Any:
        return render(request, "notify/unsubscribe.html", values={}, errors={})

    @post("/", name="notify.unsubscribe", status_code=200, middleware=[UNSUBSCRIBE_RATE_LIMIT.middleware])
    async def unsubscribe(self, request: Request, db: AsyncSession) -> Any:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        phone = form.get("phone", "").strip()
        if not await opt_out(db, phone, "page", request):
            return render(request, "notify/unsubscribe.html", status_code=422, values={"phone": phone},
                          errors={"phone": t(request, "Please enter a valid phone number.")})
        await db.commit()
        return render(request, "notify/unsubscribe.html", done=True, values={}, errors={})


class PushController(Controller):
    """A phone allows notifications: the key to subscribe with, then its subscription."""

    path = "/api/push"
    guards = [signed_in]

    @get("/key", name="push.key")
    async def show_push_key(self, request: Request) -> dict[str, str]:
        return {"key": push.public_key(request.app.state.settings.var_dir)}

    @post("/subscriptions", name="push.subscribe")
    async def subscribe_to_push(self, request: Request, db: AsyncSession, viewer: Viewer,
                                data: dict[str, Any]) -> dict[str, bool]:
        row = await push.subscribe(db, viewer.person_id, data)
        if row is None:
            raise ValidationException(detail=t(request, "This is not a push subscription."))
        await db.commit()
        return {"ok": True}


class NotifySettingsController(Controller):
    """Which pushes a person gets (我的 → 通知)."""

    path = "/me/notifications"
    guards = [signed_in]

    @get("/", name="notify.settings")
    async def show_notify_settings(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        phones = (await db.execute(sa.select(sa.func.count()).select_from(PushSubscription)
                                   .where(PushSubscription.person_id == viewer.person_id))).scalar_one()
        return render(request, "notify/settings.html", kinds=push.kinds_for(viewer.roles),
                      muted=await push.muted_kinds(db, viewer.person_id), phones=phones)

    @post("/", name="notify.save_settings")
    async def save_notify_settings(self, request: Request, db: AsyncSession, viewer: Viewer) -> Redirect:
        form = await request.form()
        wanted = set(form.getall("kind", []))
        setting = await db.get(NotifySetting, viewer.person_id) or NotifySetting(person_id=viewer.person_id)
        offered = push.kinds_for(viewer.roles)
        # A kind not offered to this person keeps its setting (a post they held before, or will).
        setting.muted = [k for k in push.KINDS if (k not in wanted if k in offered else k in (setting.muted or []))]
        db.add(setting)
        await db.commit()
        return Redirect(path="/me/notifications/?saved=1", status_code=303)




async def _broadcast_for(db: AsyncSession, viewer: Viewer, broadcast_id: uuid.UUID) -> Broadcast:
    """A broadcast inside the viewer's part of the grid (404 outside), for staff who compose or approve (403)."""
    viewer.require_role(*broadcasts.COMPOSE_ROLES)
    broadcast = await db.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFoundException()
    viewer.require_path(broadcast.node_path)
    return broadcast


async def _compose_places(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """Where a broadcast may go: the places of the viewer's composing posts and the level below them."""
    ids = [p.node_id for p in viewer.posts if p.role in broadcasts.COMPOSE_ROLES]
    if not ids:
        return []
    rows = await db.execute(sa.select(GridNode).where(
        sa.or_(GridNode.id.in_(ids), GridNode.parent_id.in_(ids)), active_node(),
        GridNode.level.in_((Level.street, Level.community, Level.compound))).order_by(GridNode.path))
    return list(rows.scalars())


class BroadcastController(Controller):
    """宣传短信: write, preview (who and how many), approve, and follow the sending."""

    path = "/broadcasts"
    guards = [signed_in]

    @get("/", name="broadcasts.list")
    async def list_broadcasts(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*broadcasts.COMPOSE_ROLES)
        rows = await db.execute(
            sa.select(Broadcast, GridNode.name, Person.name).join(GridNode, GridNode.id == Broadcast.node_id)
            .join(Person, Person.id == Broadcast.created_by).where(viewer.subtree_clause(Broadcast.node_path))
            .order_by(Broadcast.created_at.desc()).limit(100))
        return render(request, "notify/broadcasts.html", rows=rows.all(), viewer=viewer)

    @get("/new", name="broadcasts.new")
    async def show_broadcast_form(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*broadcasts.COMPOSE_ROLES)
        places = await _compose_places(db, viewer)
        return render(request, "notify/broadcast_form.html", places=places, care_tags=[t.value for t in CareTag],
                      values={"grid": places[0].code if places else ""}, errors={}, found=None, preview="")

    @post("/", name="broadcasts.compose")
    async def compose_broadcast(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Without `confirm`: the count and the message as residents will see it. With it: sent for approval."""
        viewer.require_role(*broadcasts.COMPOSE_ROLES)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        values = {"grid": form.get("grid", "")[:40], "care_tag": form.get("care_tag", "")[:24],
                  "text": " ".join(form.get("text", "").split())}
        places = await _compose_places(db, viewer)
        node = next((p for p in places if p.code == values["grid"]), None)
        errors = {k: t(request, m) for k, m in broadcasts.check(values["text"], values["care_tag"]).items()}
        if node is None or not broadcasts.may_compose(viewer, node.path):
            errors["grid"] = t(request, "Please choose from the list.")
        context = dict(places=places, care_tags=[t.value for t in CareTag], values=values, errors=errors)
        if errors:
            return render(request, "notify/broadcast_form.html", status_code=422, found=None, preview="", **context)
        if form.get("confirm") != "1":
            found = await broadcasts.audience(db, node.path, values["care_tag"])
            return render(request, "notify/broadcast_form.html", found=found, node=node,
                          preview=broadcasts.preview(values["text"], request.app.state.settings.base_url), **context)
        broadcast = await broadcasts.compose(db, viewer, node, values["text"], values["care_tag"])
        await db.flush()
        audit.record(db, "broadcast_compose", viewer=viewer, object_type="broadcast", object_id=broadcast.id,
                     request=request, grid=node.code, care_tag=values["care_tag"], recipients=broadcast.recipient_count,
                     text=values["text"])
        await db.commit()
        return Redirect(path=f"/broadcasts/{broadcast.id}", status_code=303)

    @get("/{broadcast_id:uuid}", name="broadcasts.show")
    async def show_broadcast(self, request: Request, db: AsyncSession, viewer: Viewer, broadcast_id: uuid.UUID) -> Any:
        broadcast = await _broadcast_for(db, viewer, broadcast_id)
        return await self._page(request, db, viewer, broadcast)

    async def _page(self, request: Request, db: AsyncSession, viewer: Viewer, broadcast: Broadcast,
                    error: str = "", status_code: int = 200) -> Any:
        node = await db.get(GridNode, broadcast.node_id)
        author = await db.get(Person, broadcast.created_by)
        decider = await db.get(Person, broadcast.decided_by) if broadcast.decided_by else None
        found = await broadcasts.audience(db, broadcast.node_path, broadcast.care_tag) if broadcast.status == "waiting" else None
        return render(request, "notify/broadcast.html", status_code=status_code, broadcast=broadcast, node=node,
                      author=author, decider=decider, found=found, error=error,
                      preview=broadcasts.preview(broadcast.text, request.app.state.settings.base_url),
                      may_decide=broadcast.status == "waiting" and broadcasts.may_approve(viewer, broadcast),
                      delivery=await broadcasts.delivery(db, broadcast.id))

    @post("/{broadcast_id:uuid}/approve", name="broadcasts.approve")
    async def approve_broadcast(self, request: Request, db: AsyncSession, viewer: Viewer, broadcast_id: uuid.UUID) -> Any:
        broadcast = await _broadcast_for(db, viewer, broadcast_id)
        try:
            queued = await broadcasts.approve(db, viewer, broadcast)
        except broadcasts.BroadcastRefused as refused:
            await db.rollback()
            return await self._page(request, db, viewer, await _broadcast_for(db, viewer, broadcast_id),
                                    error=t(request, str(refused)), status_code=403)
        audit.record(db, "broadcast_approve", viewer=viewer, object_type="broadcast", object_id=broadcast.id,
                     request=request, queued=queued)
        await db.commit()
        return Redirect(path=f"/broadcasts/{broadcast.id}", status_code=303)

    @post("/{broadcast_id:uuid}/reject", name="broadcasts.reject")
    async def reject_broadcast(self, request: Request, db: AsyncSession, viewer: Viewer, broadcast_id: uuid.UUID) -> Any:
        broadcast = await _broadcast_for(db, viewer, broadcast_id)
        form = await request.form()
        reason = " ".join(str(form.get("reason") or "").split())
        try:
            if not reason:
                raise broadcasts.BroadcastRefused(N_("Please say why, for the author."))
            await broadcasts.reject(db, viewer, broadcast, reason)
        except broadcasts.BroadcastRefused as refused:
            await db.rollback()
            status = 422 if not reason else 403
            return await self._page(request, db, viewer, await _broadcast_for(db, viewer, broadcast_id),
                                    error=t(request, str(refused)), status_code=status)
        audit.record(db, "broadcast_reject", viewer=viewer, object_type="broadcast", object_id=broadcast.id,
                     request=request, reason=reason)
        await db.commit()
        return Redirect(path=f"/broadcasts/{broadcast.id}", status_code=303)


NOTIFY_HANDLERS = [NotificationAdminController, InboundSmsController, UnsubscribeController, PushController,
                   NotifySettingsController, BroadcastController]
