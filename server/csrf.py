"""CSRF protection for every state change: a token tied to the session, and an Origin check.

The token is `nonce + HMAC(secret, nonce + the session cookie)`: it is worth something only
together with the session it was made for, so a token read or planted elsewhere (another
person's, one from before sign-in, one set by a sibling host) does not pass. It travels like
Litestar's: the `csrftoken` cookie (readable by the service worker's sync, which sends it as
the `x-csrftoken` header), `<meta name="csrf-token">` and `hx-headers` on pages, and the
`_csrf_token` field of forms posted without JavaScript.

On POST, PUT, PATCH and DELETE, public routes included:
- a browser's `Origin` (or, without one, `Referer`) must be this site: the configured base
  URL, or the Host the request was sent to; `Origin: null` is refused;
- the header (or form field) must equal the cookie, and the cookie must be valid for the
  session cookie sent with it.
Either failing is a 403 whose message asks to reload the page. A GET hands out a fresh
token whenever the one held is missing or made for another session (sign-in sets one for
the new session straight away: server/accounts/routes.py set_session_cookie).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from litestar.datastructures.cookie import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.utils.scope.state import ScopeState

COOKIE_NAME = "csrftoken"
HEADER_NAME = "x-csrftoken"
FORM_FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SESSION_COOKIE = "ww_session"  # server/accounts/sessions.py COOKIE_NAME (a base module imports no area)
_NONCE_HEX = 32
# Machine-to-machine endpoints that no browser session can reach: a partner's Open311 calls
# carry an api_key, the SMS provider's replies a shared token, and no cookie
# (server/open311, server/notify/routes.py), so there is no session to ride on.
EXEMPT_PREFIXES = ("/open311/", "/notify/inbound")


def _mac(secret: str, nonce: str, session_cookie: str | None) -> str:
    bound_to = hashlib.sha256((session_cookie or "").encode()).hexdigest()
    return hmac.new(secret.encode(), f"csrf:{nonce}:{bound_to}".encode(), hashlib.sha256).hexdigest()


def new_token(secret: str, session_cookie: str | None) -> str:
    nonce = secrets.token_hex(_NONCE_HEX // 2)
    return nonce + _mac(secret, nonce, session_cookie)


def is_valid(secret: str, token: str | None, session_cookie: str | None) -> bool:
    if not token or len(token) != _NONCE_HEX + 64:
        return False
    nonce, mac = token[:_NONCE_HEX], token[_NONCE_HEX:]
    # As bytes: compare_digest raises on a str with non-ASCII characters (a header can hold them).
    return hmac.compare_digest(mac.encode("utf-8", "replace"), _mac(secret, nonce, session_cookie).encode())


def cookie_header(token: str) -> tuple[bytes, bytes]:
    """The Set-Cookie header for a token (Secure is added under https by server/web.py)."""
    cookie = Cookie(key=COOKIE_NAME, value=token, path="/", httponly=False, samesite="lax")
    return b"set-cookie", cookie.to_header(header="").encode("latin-1")


def same_site(headers, settings) -> bool:
    """The request comes from a page of this site (or from no browser page at all)."""
    source = headers.get("origin")
    if source is None:
        source = headers.get("referer")
        if source is None:
            return True  # not a browser page (a script or the service worker's own fetch): the token decides
    if source.strip().lower() == "null":
        return False
    parts = urlsplit(source)
    if not parts.scheme or not parts.netloc:
        return False
    if f"{parts.scheme}://{parts.netloc}" == settings.origin:
        return True
    host = headers.get("host")
    return bool(host) and parts.netloc == host


class CSRFMiddleware:
    """Listed in server/app.py: runs for every route (static files included, which hand out tokens too)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        litestar_app = scope["litestar_app"]
        secret = litestar_app.state.settings.secret_key
        request = litestar_app.request_class(scope=scope, receive=receive)
        session_cookie = request.cookies.get(SESSION_COOKIE)
        held = request.cookies.get(COOKIE_NAME)
        state = ScopeState.from_scope(scope)

        if request.method not in SAFE_METHODS and scope.get("path", "").startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if request.method in SAFE_METHODS:
            token = held if is_valid(secret, held, session_cookie) else new_token(secret, session_cookie)
            state.csrf_token = token
            if token != held:
                async def send_with_cookie(message) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message.get("headers", []), cookie_header(token)]
                    await send(message)

                await self.app(scope, receive, send_with_cookie)
                return
            await self.app(scope, receive, send)
            return

        if not same_site(request.headers, litestar_app.state.settings):
            raise PermissionDeniedException("CSRF check failed: the request did not come from this site")
        sent = request.headers.get(HEADER_NAME)
        content_type, _ = request.content_type
        if not sent and content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
            sent = (await request.form()).get(FORM_FIELD)
        if not (isinstance(sent, str) and held and hmac.compare_digest(sent.encode("utf-8", "replace"), held.encode("utf-8", "replace"))
                and is_valid(secret, held, session_cookie)):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = held
        await self.app(scope, receive, send)
