"""What every page shares: rendering, static URLs, errors, security headers."""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from jinja2 import pass_context
from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.utils.scope.state import ScopeState
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server import i18n
from server.clock import CHINA, aware, today_in_china
from server.config import STATIC_DIR
from server.privacy import mask_phone
from server.validate import clean_text, has_control_characters, has_unstorable_characters

log = logging.getLogger("weiwang")

LANG_COOKIE = "lang"

# Strict: nothing inline, nothing from elsewhere. Pages must work with this unchanged.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


_SECURITY_HEADER_PAIRS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


HSTS = (b"strict-transport-security", b"max-age=31536000")


def _is_secure_cookie(header: bytes) -> bool:
    return any(part.strip().lower() == b"secure" for part in header.split(b";")[1:])


async def add_security_headers(message, scope) -> None:
    """before_send hook: also covers answers no route middleware sees (an unknown URL's 404).

    Besides CSP and friends, in one place so no route can forget them:
    - `Cache-Control: no-store` on every answer to a signed-in person that does not say
      otherwise (pages with households and phone numbers stay out of shared and back-button
      caches; the service worker keeps what it must in its own Cache, which ignores this);
    - under https, HSTS, and `Secure` on every cookie, whoever set it (session, csrftoken,
      lang, ww_ended, and any cookie added later).
    """
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    existing = {k.lower() for k, _ in headers}
    headers += [(k, v) for k, v in _SECURITY_HEADER_PAIRS if k not in existing]
    if scope.get("user") is not None and b"cache-control" not in existing:
        headers.append((b"cache-control", b"no-store"))
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    if settings is not None and settings.secure_cookies:
        if b"strict-transport-security" not in existing:
            headers.append(HSTS)
        headers = [(k, v + b"; Secure") if k.lower() == b"set-cookie" and not _is_secure_cookie(v) else (k, v)
                   for k, v in headers]
    message["headers"] = headers


class TrustedProxies:
    """Middleware: the client's address from X-Forwarded-For, only when the connection comes from a
    configured proxy (WEIWANG_TRUSTED_PROXIES); otherwise the header is ignored.

    Rate limits, the audit log and the residents' report limit all read `scope["client"]`:
    trusting the header from anyone would let a script pick a fresh address per request.
    Of the addresses listed, the right-most one that is not itself a trusted proxy is the client.
    """

    def __init__(self, app) -> None:
        self.app = app
        self._networks: tuple | None = None

    def _trusted(self, scope, address: str) -> bool:
        if self._networks is None:
            self._networks = tuple(ipaddress.ip_network(n) for n in scope["litestar_app"].state.settings.trusted_proxies)
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    async def __call__(self, scope, receive, send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and self._trusted(scope, client[0]):
            forwarded = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for"]
            hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
            for hop in reversed(hops):
                if not self._trusted(scope, hop):
                    scope["client"] = (hop[:45], 0)
                    break
        await self.app(scope, receive, send)


class CleanFormText:
    """Middleware: every text field of a posted form, without NUL, controls or direction overrides.

    Cleaned once, where Litestar keeps the parsed form (every reader, `request.form()` or a
    `data` body, then sees the same text), so what a handler checks (required, unique, length)
    is what is stored. JSON text is cleaned by its readers (server/sync/service.py) and, as a
    last net, by the before_flush hook (server/validate.py).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        # The JSON API reads its body as JSON whatever the content type says (/api/sync).
        if (scope["type"] == "http" and scope.get("method") not in ("GET", "HEAD", "OPTIONS")
                and not scope.get("path", "").startswith("/api/")):
            request = scope["litestar_app"].request_class(scope=scope, receive=receive)
            content_type, _ = request.content_type
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                await request.form()
                state = ScopeState.from_scope(scope)
                state.form = {key: _clean_form_value(value) for key, value in dict(state.form).items()}
        await self.app(scope, receive, send)


def _clean_form_value(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_text(v) if isinstance(v, str) else v for v in value]
    return value


class RefuseControlCharacters:
    """Middleware: NUL or another control character in a path (or, tab and line breaks aside, in
    a query) is a 400 before any handler.

    Nobody types them; a driver would (PostgreSQL refuses NUL in text with an error).
    Text in bodies is cleaned where it is stored instead (server/validate.py).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"), errors="replace")
            if has_control_characters(scope.get("path", "")) or has_unstorable_characters(query):
                raise ClientException("control characters in the URL")
        await self.app(scope, receive, send)


# A path on this site, in plain ASCII URL characters: no whitespace, no control characters
# (browsers drop tab, CR and LF from URLs, so "/\t/evil.example" is "//evil.example"), no
# backslash (read as a slash), no second slash or backslash right after the first.
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#]*")


def safe_next(target: object) -> str:
    """Where to go after a form or sign-in: a path on this site, or "/".

    An open redirect would let a phishing link borrow our name. static/js/accounts.js
    applies the same rule again before it navigates (sameSiteNext).
    """
    if not isinstance(target, str) or len(target) > 2000 or not _LOCAL_PATH.fullmatch(target):
        return "/"
    # Encoded variants of the same tricks ("/%2F/evil", "/%5Cevil", "/%09/evil"), decoded twice.
    decoded = target
    for _ in range(2):
        decoded = unquote(decoded)
        if decoded.startswith(("//", "/\\")) or "\\" in decoded or has_control_characters(decoded):
            return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def request_language(request: Request) -> str:
    return i18n.pick_language(request.cookies.get(LANG_COOKIE))


@lru_cache(maxsize=None)
def _static_version(relative: str) -> str:
    # Content hash in the URL: the service worker may cache the file forever.
    return hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:10]


def static_url(relative: str) -> str:
    return f"/static/{relative}?v={_static_version(relative)}"


@pass_context
def _gettext(ctx, message: str, **params) -> str:
    text = i18n.gettext(ctx.get("lang", i18n.DEFAULT_LANGUAGE), message)
    return text % params if params else text


@pass_context
def _pgettext(ctx, context: str, message: str, **params) -> str:
    text = i18n.pgettext(ctx.get("lang", i18n.DEFAULT_LANGUAGE), context, message)
    return text % params if params else text


@pass_context
def _ngettext(ctx, singular: str, plural: str, n: int, **params) -> str:
    text = i18n.ngettext(ctx.get("lang", i18n.DEFAULT_LANGUAGE), singular, plural, n)
    return text % {"num": n, **params}


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """UTC from the database, shown on the street's clock (China: UTC+8, no daylight saving)."""
    if value is None:
        return ""
    return aware(value).astimezone(CHINA).strftime(fmt)


def short_date(value, with_time: bool = False) -> str:
    """A date (or a moment, on the street's clock) as people read it on the phone: 11-27, 11-27 18:30,
    with the year only when it is not this year (2025-11-27). Dates are dates; datetimes are UTC."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = aware(value).astimezone(CHINA)
    else:
        with_time = False
    fmt = "%m-%d" if value.year == today_in_china().year else "%Y-%m-%d"
    return value.strftime(fmt + (" %H:%M" if with_time else ""))


MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pass_context
def _month_name(ctx, month: str) -> str:
    """'2026-07' as a month's name: 7月 in Chinese, Jul in English (not "Month 7")."""
    number = int(str(month)[5:7])
    return MONTHS_EN[number - 1] if ctx.get("lang") == "en" else f"{number}月"


def configure_jinja(env) -> None:
    env.globals.update(_=_gettext, pgettext=_pgettext, ngettext=_ngettext, static_url=static_url, languages=i18n.LANGUAGES)
    env.filters["mask_phone"] = mask_phone
    env.filters["local_time"] = local_time
    env.filters["short_date"] = short_date
    env.filters["month_name"] = _month_name
    env.trim_blocks = True
    env.lstrip_blocks = True
    # Templates change only with a deploy; checking their mtime on every render costs a stat per file.
    env.auto_reload = False


def is_htmx(request: Request) -> bool:
    """True when htmx wants a fragment; boosted navigation and history restores want the page."""
    headers = request.headers
    return (
        bool(headers.get("hx-request"))
        and headers.get("hx-request-type") != "full"
        and not headers.get("hx-history-restore-request")
    )


def render(request: Request, template: str, *, status_code: int = 200, partial: str | None = None, **context) -> Template:
    """Render a page, or only its partial for an htmx request to the same URL."""
    name = partial if partial and is_htmx(request) else template
    context.setdefault("viewer", request.scope.get("user"))
    context.setdefault("lang", request_language(request))
    response = Template(template_name=name, context=context, status_code=status_code, media_type=MediaType.HTML)
    if partial:
        response.headers["vary"] = "HX-Request, Cookie"
    return response


def t(request: Request, message: str, **params) -> str:
    """Translate in Python code (flash messages, form errors)."""
    text = i18n.gettext(request_language(request), message)
    return text % params if params else text


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def exception_handler(request: Request, exc: Exception) -> Response:
    """One handler: pages get <status>.html, htmx gets _error.html, JSON clients JSON."""
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        status, detail = HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error"

    if isinstance(exc, NotAuthorizedException) and not _wants_json(request):
        target = "/signin?next=" + quote(request.url.path, safe="/") if request.method == "GET" else "/signin"
        ended = request.scope.get("ww_session_ended")  # set by SessionAuthMiddleware
        if ended:
            target += ("&" if "?" in target else "?") + "ended=" + ended
        if is_htmx(request):
            return Response(content="", status_code=204, headers={"hx-redirect": target})
        return Redirect(path=target, status_code=303)

    if _wants_json(request):
        extra = getattr(exc, "extra", None)
        body = {"status_code": status, "detail": detail}
        if isinstance(extra, dict):
            body.update(extra)
        return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=getattr(exc, "headers", None))

    template = "_error.html" if is_htmx(request) else "errors/page.html"
    return render(request, template, status_code=status, status=status, detail=detail)
