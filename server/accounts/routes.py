"""Enrolment, sign-in, sign-out, my devices, and the administrator's people and audit pages.

The ceremonies talk JSON with static/js/accounts.js; every failure answers one plain
sentence in the person's language and leaves an audit entry, never a 500.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from urllib.parse import urlencode
from typing import Any

import sqlalchemy as sa
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Body, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import csrf
from server.accounts import credentials as cred
from server.accounts import invites
from server.accounts.audit import record
from server.accounts.authority import covers_person, require_covers_person
from server.accounts.auth import ENDED_COOKIE, SESSION_ENDED_HEADER, SESSION_ENDED_KEY, SESSION_ENDED_REASONS, signed_in
from server.accounts.models import AuditEntry, Device, Invite, Person, Post, Role, WebSession, current_post
from server.accounts.scope import Viewer
from server.accounts.sessions import COOKIE_NAME, end_session, hash_token, revoke_device_sessions, start_session
from server.clock import CHINA, utcnow
from server.i18n import N_
from server.grid.models import GridNode
from server.privacy import mask_phone
from server.validate import MAX_ID, PathId, parse_day, parse_id
from server.web import render, safe_next, t

# Invite opening, sign-in and PIN attempts share one bucket per address: generous for a
# person fumbling, tight for a script. PIN lockout itself is in the database.
# Viewing the sign-in page is not an attempt (and a service worker following redirects
# may fetch it often): it opts out.
AUTH_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 60), store="auth_rate_limit", set_rate_limit_headers=False,
                                  exclude_opt_key="no_rate_limit")

ROLE_LABELS = {
    Role.admin: N_("Street administrator"),
    Role.community: N_("Community staff"),
    Role.compound: N_("Compound staff"),
    Role.leader: N_("Micro-grid leader"),
    Role.property: N_("Property company staff"),
}
# Actions other areas write (changes to visits, issues...) show under their own name.
AUDIT_ACTIONS = {
    "sign_in": N_("Signed in"),
    "sign_in_failed": N_("Sign-in failed"),
    "pin_failed": N_("Wrong PIN"),
    "device_locked": N_("Device locked"),
    "sign_out": N_("Signed out"),
    "session_rejected": N_("Session rejected"),
    "enrol": N_("Device enrolled"),
    "enrol_failed": N_("Enrolment failed"),
    "invite": N_("Invitation created"),
    "invite_rejected": N_("Invitation rejected"),
    "revoke": N_("Device revoked"),
    "reveal_phone": N_("Phone number shown"),
    "export": N_("Export"),
}


def device_label(user_agent: str) -> str:
    """A name a person recognises in "my devices" when they did not type one."""
    ua = user_agent or ""
    system = next((name for key, name in [("HarmonyOS", "HarmonyOS"), ("Android", "Android"), ("iPhone", "iPhone"),
                                          ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS", "Mac"),
                                          ("Linux", "Linux")] if key in ua), "")
    browser = next((name for key, name in [("MicroMessenger", "微信"), ("HuaweiBrowser", "华为浏览器"),
                                           ("MiuiBrowser", "小米浏览器"), ("UCBrowser", "UC"), ("Edg/", "Edge"),
                                           ("Firefox", "Firefox"), ("Chrome", "Chrome"), ("Safari", "Safari")] if key in ua), "")
    return " · ".join(part for part in (system, browser) if part) or "?"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = request.app.state.settings
    # The cookie outlives the session on purpose: the database decides (30 days, sliding).
    response.set_cookie(COOKIE_NAME, token, max_age=400 * 24 * 3600, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/")
    # The CSRF token is tied to the session: the new session gets its own at once.
    response.set_cookie(csrf.COOKIE_NAME, csrf.new_token(settings.secret_key, token), httponly=False, samesite="lax",
                        secure=settings.secure_cookies, path="/")
    response.delete_cookie(ENDED_COOKIE, path="/")


def json_error(request: Request, message: str, status: int = 400, **params) -> Response:
    return Response(content={"ok": False, "message": t(request, message, **params)}, status_code=status,
                    media_type=MediaType.JSON)


async def _read_json(request: Request) -> dict:
    try:
        data = await request.json()
    except Exception:  # noqa: BLE001 - any undecodable body is the same bad request
        return {}
    return data if isinstance(data, dict) else {}


# --- public: invites and sign-in --------------------------------------------------------

class AuthController(Controller):
    """Reachable without a session: the only pages a visitor can open besides static files."""

    path = ""
    middleware = [AUTH_RATE_LIMIT.middleware]

    @get("/signin", name="accounts.signin", opt={"no_rate_limit": True})
    async def show_signin(self, request: Request, next_path: str = Parameter(query="next", default="/"),
                          ended: str = Parameter(default="", max_length=20)) -> object:
        if request.user is not None:
            return Redirect(path=safe_next(next_path), status_code=303)
        # Why the last session ended, from the URL or from the note the middleware left
        # (kept until the next sign-in: the service worker may fetch this page too).
        noted = request.cookies.get(ENDED_COOKIE, "")
        response = render(request, "accounts/signin.html", next_path=safe_next(next_path), ended=ended or noted)
        if noted in SESSION_ENDED_REASONS and not request.scope.get(SESSION_ENDED_KEY):  # else the middleware says it
            # The page a navigation lands on after a dead session's redirect: the service worker reads
            # this (only the server-set cookie counts, never ?ended=, which any link could carry).
            response.headers[SESSION_ENDED_HEADER] = noted
        return response

    @get("/invite/{token:str}", name="accounts.invite")
    async def show_invite(self, request: Request, db: AsyncSession, token: str) -> object:
        try:
            invite = await invites.find_invite(db, token)
        except invites.InviteProblem as problem:
            await _audit_invite_problem(db, request, problem)
            return render(request, "accounts/invite.html", status_code=404 if problem.reason == "unknown" else 410,
                          problem=t(request, problem.message))
        about = await invites.describe(db, invite)
        return render(request, "accounts/invite.html", token=token, about=about, role_labels=ROLE_LABELS,
                      suggested_name=device_label(request.headers.get("user-agent", "")))

    @post("/api/invite/{token:str}/options", name="accounts.enrol_options", status_code=200)
    async def enrol_options(self, request: Request, db: AsyncSession, token: str) -> Response:
        data = await _read_json(request)
        try:
            invite = await invites.find_invite(db, token)
        except invites.InviteProblem as problem:
            await _audit_invite_problem(db, request, problem)
            return json_error(request, problem.message, 410 if problem.invite_id else 404)
        settings = request.app.state.settings
        if data.get("kind") == "passkey":
            challenge = await cred.new_challenge(db, "enrol_passkey", invite.id)
            person = await db.get(Person, invite.person_id)
            existing = (await db.execute(sa.select(Device.credential_id).where(
                Device.person_id == person.id, Device.kind == "passkey", Device.revoked_at.is_(None)))).scalars().all()
            options = cred.passkey_registration_options(settings.rp_id, f"{person.name} #{person.id}", person.name,
                                                        challenge, list(existing))
            await db.commit()
            return Response(content={"ok": True, "publicKey": options}, media_type=MediaType.JSON)
        challenge = await cred.new_challenge(db, "enrol_device_key", invite.id)
        await db.commit()
        return Response(content={"ok": True, "challenge": cred.b64url(challenge)}, media_type=MediaType.JSON)

    @post("/api/invite/{token:str}/enrol", name="accounts.enrol", status_code=200)
    async def enrol_device(self, request: Request, db: AsyncSession, token: str) -> Response:
        data = await _read_json(request)
        settings = request.app.state.settings
        try:
            invite = await invites.find_invite(db, token)
        except invites.InviteProblem as problem:
            await _audit_invite_problem(db, request, problem)
            return json_error(request, problem.message, 410 if problem.invite_id else 404)
        kind = data.get("kind")
        name = str(data.get("name") or "").strip()[:80] or device_label(request.headers.get("user-agent", ""))
        pin_hash = None
        try:
            if kind == "passkey":
                credential = data.get("credential")
                if not isinstance(credential, dict):
                    raise cred.CredentialError("malformed_credential")
                challenge = await cred.consume_challenge(db, cred.client_challenge(credential), "enrol_passkey", invite.id)
                credential_id, public_key, sign_count = cred.verify_passkey_registration(
                    credential, challenge, settings.rp_id, settings.origin)
            elif kind == "device_key":
                pin = data.get("pin")
                problem = cred.pin_problem(pin)
                if problem:
                    return json_error(request, problem, 400)
                public_key = cred.unb64url(str(data.get("public_key", "")))
                challenge_b64 = str(data.get("challenge", ""))
                await cred.consume_challenge(db, challenge_b64, "enrol_device_key", invite.id)
                cred.verify_device_signature(public_key, cred.unb64url(str(data.get("signature", ""))),
                                             cred.device_key_message("enrol_device_key", settings.origin, challenge_b64))
                credential_id, sign_count = cred.device_credential_id(public_key), 0
                pin_hash = cred.hash_pin(pin)
            else:
                raise cred.CredentialError("unknown_kind")
            taken = (await db.execute(sa.select(Device.id).where(Device.credential_id == credential_id))).first()
            if taken:
                raise cred.CredentialError("credential_already_enrolled")
        except cred.CredentialError as exc:
            record(db, "enrol_failed", person_id=invite.person_id, object_type="invite", object_id=invite.id,
                   request=request, reason=exc.reason, kind=str(kind)[:20])
            await db.commit()
            return json_error(request, N_("This phone could not be enrolled: the answer from the phone did not check out. Reload the page and try again."))
        try:
            await invites.redeem_invite(db, invite)
        except invites.InviteProblem as problem:
            await db.rollback()
            await _audit_invite_problem(db, request, problem)
            return json_error(request, problem.message, 410)
        now = utcnow()
        device = Device(person_id=invite.person_id, kind=kind, name=name, credential_id=credential_id,
                        public_key=public_key, sign_count=sign_count, pin_hash=pin_hash, last_used_at=now)
        db.add(device)
        await db.flush()
        session_token = await start_session(db, invite.person_id, device.id, settings.session_days)
        record(db, "enrol", person_id=invite.person_id, device_id=device.id, object_type="device", object_id=device.id,
               request=request, kind=kind, invite=invite.id, role=invite.role, node=invite.node_id)
        record(db, "sign_in", person_id=invite.person_id, device_id=device.id, object_type="device",
               object_id=device.id, request=request, kind=kind)
        await db.commit()
        response = Response(content={"ok": True, "next": "/", "credential_id": credential_id}, media_type=MediaType.JSON)
        set_session_cookie(response, request, session_token)
        return response

    @post("/api/signin/options", name="accounts.signin_options", status_code=200)
    async def signin_options(self, request: Request, db: AsyncSession) -> Response:
        data = await _read_json(request)
        settings = request.app.state.settings
        if data.get("kind") == "passkey":
            challenge = await cred.new_challenge(db, "sign_in_passkey")
            await db.commit()
            return Response(content={"ok": True, "publicKey": cred.passkey_authentication_options(settings.rp_id, challenge)},
                            media_type=MediaType.JSON)
        challenge = await cred.new_challenge(db, "sign_in_device_key")
        await db.commit()
        return Response(content={"ok": True, "challenge": cred.b64url(challenge)}, media_type=MediaType.JSON)

    @post("/api/signin", name="accounts.sign_in", status_code=200)
    async def sign_in(self, request: Request, db: AsyncSession) -> Response:
        data = await _read_json(request)
        settings = request.app.state.settings
        kind = data.get("kind")
        device: Device | None = None
        try:
            if kind == "passkey":
                credential = data.get("credential")
                if not isinstance(credential, dict):
                    raise cred.CredentialError("malformed_credential")
                challenge = await cred.consume_challenge(db, cred.client_challenge(credential), "sign_in_passkey")
                device = await _device_by_credential(db, credential.get("id"), "passkey")
                if device is None:
                    raise cred.CredentialError("unknown_or_revoked_credential")
                device.sign_count = cred.verify_passkey_assertion(credential, challenge, device, settings.rp_id, settings.origin)
            elif kind == "device_key":
                challenge_b64 = str(data.get("challenge", ""))
                await cred.consume_challenge(db, challenge_b64, "sign_in_device_key")
                device = await _device_by_credential(db, data.get("credential_id"), "device_key")
                if device is None:
                    raise cred.CredentialError("unknown_or_revoked_credential")
                until = cred.locked_until(device)
                if until:
                    record(db, "sign_in_failed", person_id=device.person_id, device_id=device.id, object_type="device",
                           object_id=device.id, request=request, reason="locked")
                    await db.commit()
                    return _locked(request, until)
                cred.verify_device_signature(device.public_key, cred.unb64url(str(data.get("signature", ""))),
                                             cred.device_key_message("sign_in_device_key", settings.origin, challenge_b64))
                if not cred.check_pin(data.get("pin"), device.pin_hash):
                    return await _wrong_pin(db, request, device)
                device.pin_failures = 0
            else:
                raise cred.CredentialError("unknown_kind")
        except cred.CredentialError as exc:
            record(db, "sign_in_failed", person_id=device.person_id if device else None,
                   device_id=device.id if device else None, request=request, reason=exc.reason, kind=str(kind)[:20])
            await db.commit()
            # One answer whatever failed (unknown key, revoked key, bad signature, stale challenge):
            # the reason is in the audit log, not in a reply that would tell a prober which keys exist.
            return json_error(request, N_("Sign-in failed: this phone could not be recognised. Reload the page and try "
                                          "again; if it keeps failing, ask your administrator for a new invitation."), 401)
        person = await db.get(Person, device.person_id)
        if person is None or not person.active:
            record(db, "sign_in_failed", person_id=device.person_id, device_id=device.id, request=request, reason="inactive_person")
            await db.commit()
            return json_error(request, N_("This account is no longer active. Ask your administrator."), 403)
        device.last_used_at = utcnow()
        session_token = await start_session(db, device.person_id, device.id, settings.session_days)
        record(db, "sign_in", person_id=device.person_id, device_id=device.id, object_type="device",
               object_id=device.id, request=request, kind=kind)
        await db.commit()
        response = Response(content={"ok": True, "next": safe_next(data.get("next"))}, media_type=MediaType.JSON)
        set_session_cookie(response, request, session_token)
        return response


async def _device_by_credential(db: AsyncSession, credential_id: Any, kind: str) -> Device | None:
    if not isinstance(credential_id, str) or not credential_id or len(credential_id) > 512:
        return None
    return (await db.execute(sa.select(Device).where(
        Device.credential_id == credential_id, Device.kind == kind, Device.revoked_at.is_(None)))).scalar_one_or_none()


def _locked(request: Request, until: datetime) -> Response:
    minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
    return json_error(request, N_("Too many wrong PINs. This phone is locked; try again in %(minutes)s minutes."), 429,
                      minutes=minutes)


async def _wrong_pin(db: AsyncSession, request: Request, device: Device) -> Response:
    until = await cred.record_pin_failure(db, device)
    record(db, "pin_failed", person_id=device.person_id, device_id=device.id, object_type="device",
           object_id=device.id, request=request)
    if until:
        record(db, "device_locked", person_id=device.person_id, device_id=device.id, object_type="device",
               object_id=device.id, request=request, minutes=cred.LOCK_MINUTES)
    await db.commit()
    if until:
        return _locked(request, until)
    failures = (await db.execute(sa.select(Device.pin_failures).where(Device.id == device.id))).scalar_one()
    return json_error(request, N_("Wrong PIN. %(left)s attempts left before this phone is locked for 15 minutes."), 401,
                      left=cred.pin_failures_left(failures))


async def _audit_invite_problem(db: AsyncSession, request: Request, problem: invites.InviteProblem) -> None:
    record(db, "invite_rejected", person_id=problem.person_id, object_type="invite",
           object_id=problem.invite_id if problem.invite_id is not None else "", request=request, reason=problem.reason)
    await db.commit()


# --- signed in: me, my devices, sign out -----------------------------------------------

async def _posts_with_nodes(db: AsyncSession, person_id: int) -> list[tuple[Post, GridNode]]:
    rows = await db.execute(sa.select(Post, GridNode).join(GridNode, GridNode.id == Post.node_id)
                            .where(Post.person_id == person_id).order_by(GridNode.path))
    return [tuple(r) for r in rows]


async def _devices_of(db: AsyncSession, person_id: int) -> list[Device]:
    rows = await db.execute(sa.select(Device).where(Device.person_id == person_id)
                            .order_by(Device.revoked_at.is_not(None), Device.last_used_at.desc(), Device.id.desc()))
    return list(rows.scalars())


async def revoke_device(db: AsyncSession, request: Request, viewer: Viewer, device: Device) -> None:
    """Revoke a device and end its sessions at once (the next request from it is signed out)."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        await revoke_device_sessions(db, device.id)
        record(db, "revoke", viewer=viewer, object_type="device", object_id=device.id, request=request,
               person=device.person_id, name=device.name)
    await db.commit()


class AccountController(Controller):
    path = ""
    guards = [signed_in]

    @get("/me", name="accounts.me")
    async def show_me(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        person = await db.get(Person, viewer.person_id)
        return render(request, "accounts/me.html", person=person, posts=await _posts_with_nodes(db, person.id),
                      devices=await _devices_of(db, person.id), role_labels=ROLE_LABELS, tab="me")

    @post("/me/devices/{device_id:int}/revoke", name="accounts.revoke_my_device")
    async def revoke_my_device(self, request: Request, db: AsyncSession, viewer: Viewer, device_id: PathId) -> Redirect:
        device = await db.get(Device, device_id)
        if device is None or device.person_id != viewer.person_id:
            raise NotFoundException()
        await revoke_device(db, request, viewer, device)
        if device_id == viewer.device_id:
            return _signed_out_redirect("revoked")
        return Redirect(path="/me", status_code=303)

    @post("/me/large-text", name="accounts.set_large_text")
    async def set_large_text(self, request: Request, db: AsyncSession, viewer: Viewer) -> Redirect:
        """大字模式 on or off, for this person on every phone (issue 13)."""
        form = await request.form()
        person = await db.get(Person, viewer.person_id)
        person.large_text = form.get("large_text") == "on"
        person.large_text_at = utcnow()
        await db.commit()
        return Redirect(path="/me", status_code=303)

    @post("/signout", name="accounts.sign_out")
    async def sign_out(self, request: Request, db: AsyncSession, viewer: Viewer) -> Redirect:
        token = request.cookies.get(COOKIE_NAME)
        if token:
            await end_session(db, token)
        record(db, "sign_out", viewer=viewer, request=request)
        await db.commit()
        return _signed_out_redirect("signed_out")


def _signed_out_redirect(reason: str) -> Redirect:
    response = Redirect(path=f"/signin?ended={reason}", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


async def session_problem(db: AsyncSession, token: str) -> tuple[str, int | None, int | None]:
    """Why a cookie no longer opens a session: (reason, person id, device id)."""
    row = (await db.execute(
        sa.select(WebSession, Device.revoked_at).outerjoin(Device, Device.id == WebSession.device_id)
        .where(WebSession.id == hash_token(token))
    )).first()
    if row is None:
        return "unknown", None, None
    session, device_revoked = row
    if device_revoked or session.revoked_at:
        return "revoked", session.person_id, session.device_id
    return "expired", session.person_id, session.device_id


# --- administrators: people, invites, revocation, audit --------------------------------

PEOPLE_ROLES = (Role.admin, Role.community)


async def get_person_for(db: AsyncSession, viewer: Viewer, person_id: int) -> Person:
    """A person with a post (or an invitation, not yet used) inside the viewer's subtree; 404 otherwise."""
    holds_post = sa.select(Post.person_id).where(Post.person_id == person_id, viewer.subtree_clause(Post.node_path))
    invited = (sa.select(Invite.person_id).join(GridNode, GridNode.id == Invite.node_id)
               .where(Invite.person_id == person_id, viewer.subtree_clause(GridNode.path)))
    found = (await db.execute(
        sa.select(Person).where(Person.id == person_id, sa.or_(Person.id.in_(holds_post), Person.id.in_(invited)))
    )).scalars().first()
    if found is None:
        raise NotFoundException()
    return found


def _invitable_roles(viewer: Viewer) -> list[str]:
    roles: set[str] = set()
    for role in viewer.roles:
        roles |= INVITABLE.get(role, frozenset())
    return [r.value for r in Role if r in roles]


INVITABLE = invites.INVITABLE_BY


class AdminController(Controller):
    path = "/admin"
    guards = [signed_in]

    @get("/people", name="admin.people")
    async def list_people(self, request: Request, db: AsyncSession, viewer: Viewer,
                          q: str = Parameter(default="", max_length=40),
                          after: int | None = Parameter(default=None, ge=1, le=MAX_ID)) -> object:
        viewer.require_role(*PEOPLE_ROLES)
        return await _people_page(request, db, viewer, q, after=after)

    @get("/people.xlsx", name="admin.export_people")
    async def export_people(self, request: Request, db: AsyncSession, viewer: Viewer) -> Response:
        """The roster of the viewer's part of the grid, whole phone numbers included: audited."""
        if not viewer.can_export:
            raise PermissionDeniedException("Your role may not export")
        from server.spreadsheets import BOLD, XLSX, Book

        rows = (await db.execute(
            sa.select(Person, Post, GridNode).join(Post, Post.person_id == Person.id)
            .join(GridNode, GridNode.id == Post.node_id)
            .where(viewer.subtree_clause(Post.node_path), current_post()).order_by(GridNode.path, Person.id)
        )).all()
        book = Book()
        sheet = book.sheet(t(request, "People"))
        sheet.append([t(request, "Name"), t(request, "Mobile number"), t(request, "Role"), t(request, "Leader post"),
                      t(request, "Grid"), t(request, "Grid code")], font=BOLD)
        for person, post_row, node in rows:
            sheet.append([person.name, person.phone, post_row.title or t(request, ROLE_LABELS.get(post_row.role, post_row.role)),
                          post_row.post_kind or "", node.name, node.code])
        record(db, "export", viewer=viewer, object_type="people", object_id=",".join(viewer.grid_paths)[:64],
               request=request, rows=len(rows))
        await db.commit()
        return Response(content=book.save(), media_type=XLSX,
                        headers={"content-disposition": 'attachment; filename="people.xlsx"', "cache-control": "no-store"})

    @get("/people/{person_id:int}", name="admin.person")
    async def show_person(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId) -> object:
        viewer.require_role(*PEOPLE_ROLES)
        person = await get_person_for(db, viewer, person_id)
        pending = (await db.execute(sa.select(sa.func.count()).select_from(Invite).where(
            Invite.person_id == person.id, Invite.used_at.is_(None), Invite.expires_at > utcnow()))).scalar_one()
        posts = await _posts_with_nodes(db, person.id)
        covered = await covers_person(db, viewer, person.id)
        # A new phone for a post: only the posts this viewer may appoint, and only when they
        # cover every post the person holds (authority follows the post).
        invitable_posts = [(p, n) for p, n in posts if covered and p.is_current and viewer.may_appoint(p.role, n.path)]
        return render(request, "accounts/person.html", person=person, posts=posts,
                      devices=await _devices_of(db, person.id), pending=pending, role_labels=ROLE_LABELS,
                      invitable_posts=invitable_posts, covered=covered)

    @post("/invites", name="admin.issue_invite")
    async def issue_invite(self, request: Request, db: AsyncSession, viewer: Viewer,
                           data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        viewer.require_role(*PEOPLE_ROLES)
        form = {k: (data.get(k) or "").strip() for k in ("person_id", "name", "phone", "role", "grid", "post_kind")}
        errors: dict[str, str] = {}
        allowed = _invitable_roles(viewer)
        if form["role"] not in allowed:
            errors["role"] = t(request, "Choose a role you may appoint.")
        node = None
        if form["grid"]:
            node = (await db.execute(sa.select(GridNode).where(GridNode.code == form["grid"]))).scalar_one_or_none()
        elif form["role"] == Role.admin:
            node = (await db.execute(sa.select(GridNode).where(GridNode.depth == 0).order_by(GridNode.path))).scalars().first()
        if node is None or not viewer.sees_path(node.path) or node.retired_at is not None:
            errors["grid"] = t(request, "No grid node with this code in your part of the grid.")
        elif "role" not in errors:
            level_problem = invites.role_level_problem(form["role"], node)
            if level_problem:
                errors["grid"] = t(request, level_problem)
            elif not viewer.may_appoint(form["role"], node.path):
                # Each post on its own: a community post elsewhere does not let one appoint here.
                errors["role"] = t(request, "Choose a role you may appoint.")
        person = None
        if form["person_id"]:
            person_id = parse_id(form["person_id"])
            if person_id is None:
                raise NotFoundException()
            person = await get_person_for(db, viewer, person_id)
            # A phone for this person opens all their posts: the viewer must cover every one.
            await require_covers_person(db, viewer, person.id)
        else:
            if not form["name"] or len(form["name"]) > 40:
                errors["name"] = t(request, "Enter the person's name (up to 40 characters).")
            if form["phone"] and not re.fullmatch(r"1\d{10}", form["phone"]):
                errors["phone"] = t(request, "Enter an 11-digit mobile number, or leave it empty.")
        post_kind = form["post_kind"] if form["post_kind"] in ("A", "B") else "A"
        if not errors and form["role"] == Role.leader and post_kind == "A":
            holder = (await db.execute(sa.select(Post.person_id).where(
                Post.node_id == node.id, Post.role == Role.leader, Post.post_kind == "A", current_post()))).scalar()
            if holder is not None and (person is None or holder != person.id):
                # One A post a micro-grid: a new leader takes it over by a handover, which ends the old post.
                errors["post_kind"] = t(request, "This micro-grid already has an A-post leader. Hand the micro-grid over instead, or invite a B post.")
        if errors:
            return await _people_page(request, db, viewer, "", errors=errors, form=form, status_code=422)
        if person is None:
            person = Person(name=form["name"], phone=form["phone"])
            db.add(person)
            await db.flush()
        settings = request.app.state.settings
        invite, token = await invites.create_invite(db, person=person, role=form["role"], node=node,
                                                    post_kind=post_kind, created_by=viewer.person_id,
                                                    hours=settings.invite_hours)
        record(db, "invite", viewer=viewer, object_type="invite", object_id=invite.id, request=request,
               person=person.id, role=form["role"], node=node.code, post=invite.post_id)
        await db.commit()
        url = invites.invite_url(settings.base_url, token)
        return render(request, "accounts/invite_issued.html", person=person, node=node, role=form["role"],
                      role_labels=ROLE_LABELS, url=url, qr=invites.qr_svg_data_uri(url), invite=invite,
                      hours=settings.invite_hours)

    @post("/people/{person_id:int}/devices/{device_id:int}/revoke", name="admin.revoke_device")
    async def revoke_person_device(self, request: Request, db: AsyncSession, viewer: Viewer,
                                   person_id: PathId, device_id: PathId) -> Redirect:
        viewer.require_role(*PEOPLE_ROLES)
        person = await get_person_for(db, viewer, person_id)
        device = await db.get(Device, device_id)
        if device is None or device.person_id != person.id:
            raise NotFoundException()
        if person.id != viewer.person_id:
            await require_covers_person(db, viewer, person.id)
        await revoke_device(db, request, viewer, device)
        if device_id == viewer.device_id:
            return _signed_out_redirect("revoked")
        return Redirect(path=f"/admin/people/{person.id}", status_code=303)

    @get("/audit", name="admin.audit")
    async def show_audit(self, request: Request, db: AsyncSession, viewer: Viewer,
                         who: str = Parameter(default="", max_length=40),
                         action: str = Parameter(default="", max_length=40),
                         date_from: str = Parameter(query="from", default="", max_length=10),
                         date_to: str = Parameter(query="to", default="", max_length=10),
                         before: int | None = Parameter(default=None, ge=1, le=MAX_ID)) -> object:
        viewer.require_role(Role.admin)
        query = (sa.select(AuditEntry, Person.name, Device.name)
                 .outerjoin(Person, Person.id == AuditEntry.person_id)
                 .outerjoin(Device, Device.id == AuditEntry.device_id))
        errors: dict[str, str] = {}
        if who:
            if (who_id := parse_id(who)) is not None:
                query = query.where(AuditEntry.person_id == who_id)
            else:
                pattern = "%" + who.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                query = query.where(Person.name.like(pattern, escape="\\"))
        if action:
            query = query.where(AuditEntry.action == action)
        for key, value, shift in (("from", date_from, 0), ("to", date_to, 1)):
            if not value:
                continue
            parsed = parse_day(value)
            if parsed is None:
                errors[key] = t(request, "Use a date like 2026-11-27.")
                continue
            day = datetime.combine(parsed, datetime.min.time(), tzinfo=CHINA) + timedelta(days=shift)
            query = query.where(AuditEntry.at >= day if shift == 0 else AuditEntry.at < day)
        if before:
            query = query.where(AuditEntry.id < before)
        rows = [] if errors else (await db.execute(query.order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE))).all()
        filters = {"who": who, "action": action, "from": date_from, "to": date_to}
        older = None
        if len(rows) == AUDIT_PAGE:
            older = "?" + "&".join(f"{k}={v}" for k, v in filters.items() if v) + f"&before={rows[-1][0].id}"
        return render(request, "accounts/audit.html", rows=rows, filters=filters, actions=AUDIT_ACTIONS,
                      errors=errors, older=older, china=CHINA)


PEOPLE_PAGE_SIZE = 50
AUDIT_PAGE = 50  # a page of cards a phone scrolls through (issue 13), older ones a tap away


async def _people_page(request: Request, db: AsyncSession, viewer: Viewer, q: str, *, after: int | None = None,
                       errors=None, form=None, status_code: int = 200) -> object:
    """People with a current post in the viewer's part of the grid, a page at a time (a street
    has 1,352 leaders; a city, 135,000): keyset by id, so page 30 costs what page 1 costs."""
    in_scope = (sa.select(Person.id).join(Post, Post.person_id == Person.id)
                .where(viewer.subtree_clause(Post.node_path), current_post()))
    if q.strip():
        pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        in_scope = in_scope.where(Person.name.like(pattern, escape="\\"))
    in_scope = in_scope.distinct()
    total = (await db.execute(sa.select(sa.func.count()).select_from(in_scope.subquery()))).scalar_one()
    page_ids = in_scope.order_by(Person.id).limit(PEOPLE_PAGE_SIZE + 1)
    if after:
        page_ids = page_ids.where(Person.id > after)
    ids = list((await db.execute(page_ids)).scalars())
    more = len(ids) > PEOPLE_PAGE_SIZE
    ids = ids[:PEOPLE_PAGE_SIZE]
    people = []
    if ids:
        people = list((await db.execute(sa.select(Person).where(Person.id.in_(ids)).order_by(Person.id))).scalars())
    next_page = None
    if more:
        next_page = "?" + urlencode({**({"q": q.strip()} if q.strip() else {}), "after": ids[-1]})
    posts: dict[int, list[tuple[Post, GridNode]]] = {}
    devices: dict[int, int] = {}
    if people:
        ids = [p.id for p in people]
        for post_row, node in await db.execute(sa.select(Post, GridNode).join(GridNode, GridNode.id == Post.node_id)
                                               .where(Post.person_id.in_(ids), current_post()).order_by(GridNode.path)):
            posts.setdefault(post_row.person_id, []).append((post_row, node))
        devices = dict((await db.execute(sa.select(Device.person_id, sa.func.count()).where(
            Device.person_id.in_(ids), Device.revoked_at.is_(None)).group_by(Device.person_id))).all())
    return render(request, "accounts/people.html", status_code=status_code, people=people, posts=posts,
                  devices=devices, q=q, total=total, next_page=next_page, first_page=bool(after),
                  role_labels=ROLE_LABELS, invitable=_invitable_roles(viewer),
                  errors=errors or {}, form=form or {"post_kind": "A"}, mask_phone=mask_phone)
