"""Who is asking: the session middleware, the `viewer` dependency and the guard."""
from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from server import csrf
from server.accounts.scope import Viewer
from server.accounts.sessions import COOKIE_NAME, load_viewer
from server.db import close_request_session, request_session


# Where the middleware leaves the reason a cookie stopped working, for the sign-in page.
SESSION_ENDED_KEY = "ww_session_ended"
ENDED_COOKIE = "ww_ended"
SESSION_ENDED_HEADER = "x-session-ended"
SESSION_ENDED_REASONS = ("revoked", "unknown", "expired")
_CLEAR_COOKIE = (b"set-cookie", f"{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax".encode())


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Puts the Viewer (or None for a visitor) on `connection.user`.

    A cookie that opens no session (tampered, expired, or its device revoked) is audited
    once and deleted in the same response, so the person lands on sign-in with a reason.
    """

    async def __call__(self, scope, receive, send) -> None:
        async def send_clearing_dead_cookie(message) -> None:
            reason = scope.get(SESSION_ENDED_KEY)
            if message["type"] == "http.response.start" and reason:
                # The reason outlives the cookie for a few minutes: the request that found
                # the session dead may be a background one (the outbox's status poll), and
                # the sign-in page should still say why the person was signed out.
                ended = (b"set-cookie", f"{ENDED_COOKIE}={reason}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax".encode())
                # Without the session the CSRF token must be one made for no session (server/csrf.py).
                fresh = csrf.cookie_header(csrf.new_token(scope["litestar_app"].state.settings.secret_key, None))
                # Said to the phone too: on "revoked" or "unknown" the service worker drops the
                # pages with personal data it keeps for offline use (static/sw.js, outbox-core.js).
                told = (SESSION_ENDED_HEADER.encode(), reason.encode())
                message["headers"] = [*message.get("headers", []), _CLEAR_COOKIE, ended, fresh, told]
            await send(message)

        try:
            await super().__call__(scope, receive, send_clearing_dead_cookie)
        finally:
            await close_request_session(scope)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(COOKIE_NAME)
        viewer = None
        if token:
            # The request's one session: the handler's `db` goes on with it (server/db.py).
            db = request_session(connection.scope)
            viewer = await load_viewer(db, token, connection.app.state.settings.session_days)
            if viewer is None:
                connection.scope[SESSION_ENDED_KEY] = await _audit_dead_session(db, connection, token)
                await db.rollback()
        return AuthenticationResult(user=viewer, auth=token if viewer else None)


async def _audit_dead_session(db, connection: ASGIConnection, token: str) -> str:
    from datetime import timedelta

    import sqlalchemy as sa

    from server.accounts.audit import client_ip, record
    from server.accounts.models import AuditEntry
    from server.accounts.routes import session_problem
    from server.clock import utcnow

    reason, person_id, device_id = await session_problem(db, token)
    # A phone's service worker may send a dozen requests with the dead cookie at once:
    # one entry a minute per device and address is the record, the rest is noise.
    recent = (await db.execute(
        sa.select(AuditEntry.id).where(
            AuditEntry.action == "session_rejected", AuditEntry.at > utcnow() - timedelta(minutes=1),
            AuditEntry.person_id.is_(None) if person_id is None else AuditEntry.person_id == person_id,
            AuditEntry.device_id.is_(None) if device_id is None else AuditEntry.device_id == device_id,
            AuditEntry.ip == client_ip(connection),
        ).limit(1)
    )).first()
    if recent is None:
        record(db, "session_rejected", person_id=person_id, device_id=device_id, request=connection,
               reason=reason, path=connection.url.path[:200])
        await db.commit()
    return reason


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the page needs a signed-in person (pages redirect to sign-in, JSON gets 401).

    Async on purpose: Litestar runs a plain function guard in a worker thread, a hop per request."""
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("signed_out")


async def provide_viewer(request: Request) -> Viewer:
    if request.user is None:
        raise NotAuthorizedException("signed_out")
    return request.user
