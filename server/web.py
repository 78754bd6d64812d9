"""What every page shares: rendering, static URLs, errors, security headers."""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

from jinja2 import pass_context
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server import i18n
from server.clock import CHINA, aware
from server.config import STATIC_DIR
from server.privacy import mask_phone

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


async def add_security_headers(message, scope) -> None:
    """before_send hook: also covers answers no route middleware sees (an unknown URL's 404)."""
    if message["type"] == "http.response.start":
        existing = {k.lower() for k, _ in message.get("headers", [])}
        missing = [(k, v) for k, v in _SECURITY_HEADER_PAIRS if k not in existing]
        if missing:
            message["headers"] = [*message.get("headers", []), *missing]


def safe_next(target: object) -> str:
    """Where to go after a form: only a local path (an open redirect would let a phishing link borrow our name)."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//") or "\\" in target:
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
def _ngettext(ctx, singular: str, plural: str, n: int, **params) -> str:
    text = i18n.ngettext(ctx.get("lang", i18n.DEFAULT_LANGUAGE), singular, plural, n)
    return text % {"num": n, **params}


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """UTC from the database, shown on the street's clock (China: UTC+8, no daylight saving)."""
    if value is None:
        return ""
    return aware(value).astimezone(CHINA).strftime(fmt)


def configure_jinja(env) -> None:
    env.globals.update(_=_gettext, ngettext=_ngettext, static_url=static_url, languages=i18n.LANGUAGES)
    env.filters["mask_phone"] = mask_phone
    env.filters["local_time"] = local_time
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
        target = "/signin?next=" + request.url.path if request.method == "GET" else "/signin"
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
