"""What makes the app installable and usable offline: the service worker, the manifest,
the outbox and offline pages, and the list of pages a person keeps on the phone.

Each area lists its providers of pages to keep in `OFFLINE_PAGES`: `fn(db, viewer)`
returns local URLs (the worklist and household pages come from server/visits, the patrol
checklists from server/patrols). server/app.py passes every area's list to create_app,
which keeps them in `app.state.offline_pages`. The service worker fetches the list on
sign-in and after each sync.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.auth import signed_in
from server.accounts.scope import Viewer
from server.config import STATIC_DIR, TEMPLATES_DIR
from server.web import render, static_url, t

# Bounded: a leader has one or two micro-grids of 20-60 households; a phone keeps at most this many pages.
MAX_OFFLINE_PAGES = 400

# The app shell, precached when the worker installs: every static file a template names
# (static_url('...') with a literal path; tests/test_static.py keeps every call literal) and the
# manifest's icons. Derived, not listed by hand: a new page's script or style is in the shell
# the moment a template names it, so a page kept for offline use never opens without them.
_STATIC_REF = re.compile(r"""static_url\(\s*['"]([^'"]+)['"]\s*\)""")
MANIFEST_ICONS = ["icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png"]


def template_assets() -> list[str]:
    """Every static path a template names, in a stable order."""
    found: set[str] = set()
    for template in TEMPLATES_DIR.rglob("*.html"):
        found.update(_STATIC_REF.findall(template.read_text()))
    return sorted(found)


OfflinePagesFn = Callable[[AsyncSession, Viewer], Awaitable[list[str]]]


def shell_urls() -> list[str]:
    paths = list(dict.fromkeys(template_assets() + MANIFEST_ICONS))
    return [static_url(path) for path in paths] + ["/offline", "/outbox"]


@lru_cache(maxsize=1)
def service_worker_source() -> tuple[str, str]:
    """static/sw.js with the versioned shell URLs filled in; its version changes with any of them."""
    template = (STATIC_DIR / "sw.js").read_text()
    shell = shell_urls()
    version = hashlib.sha256((template + json.dumps(shell)).encode()).hexdigest()[:10]
    source = template.replace('"__VERSION__"', json.dumps(version)).replace("[/*__SHELL__*/]", json.dumps(shell))
    return source, version


@get("/sw.js", name="pwa.service_worker", include_in_schema=False, cache=False)
async def service_worker() -> Response:
    source, _ = service_worker_source()
    # no-cache: the browser must check for a new worker on every visit; the scope is the whole site.
    return Response(source, media_type="text/javascript", headers={
        "cache-control": "no-cache", "service-worker-allowed": "/",
    })


@get("/manifest.webmanifest", name="pwa.manifest", include_in_schema=False)
async def manifest(request: Request) -> Response:
    body = {
        "name": "微网",
        "short_name": "微网",
        "description": t(request, "Micro-grid community governance"),
        "lang": "zh-CN",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f6f4",
        "theme_color": "#b7312c",
        "icons": [
            {"src": static_url(MANIFEST_ICONS[0]), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static_url(MANIFEST_ICONS[1]), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static_url(MANIFEST_ICONS[2]), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": "记走访", "short_name": "记走访", "url": "/worklist",
             "icons": [{"src": static_url("icons/icon-192.png"), "sizes": "192x192"}]},
            {"name": "报问题", "short_name": "报问题", "url": "/issues/new",
             "icons": [{"src": static_url("icons/icon-192.png"), "sizes": "192x192"}]},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"cache-control": "no-cache"})


@get("/offline", name="pwa.offline", include_in_schema=False)
async def offline_page(request: Request) -> object:
    """Shown by the service worker for a page that is not on the phone. Public: it is cached once for everyone."""
    return render(request, "sync/offline.html")


@get("/outbox", name="pwa.outbox", include_in_schema=False)
async def outbox_page(request: Request) -> object:
    """The outbox lives in the phone (IndexedDB): static/js/outbox.js fills this page in."""
    return render(request, "sync/outbox.html", tab="outbox")


@get("/api/offline-pages", name="pwa.offline_pages", guards=[signed_in], summary="Pages to keep on the phone", cache=False)
async def list_offline_pages(request: Request, db: AsyncSession, viewer: Viewer) -> dict[str, object]:
    providers: list[OfflinePagesFn] = request.app.state.offline_pages
    lists = [await provider(db, viewer) for provider in providers]
    return {"person_id": viewer.person_id, "urls": fair_share(lists, MAX_OFFLINE_PAGES), "max": MAX_OFFLINE_PAGES}


def fair_share(lists: list[list[str]], limit: int) -> list[str]:
    """At most `limit` URLs from the providers' lists, each URL once. When they hold more than
    that, every provider keeps an equal share (a list shorter than its share keeps all of it, and
    what it leaves goes to the others): a leader with a long worklist still has the training
    materials, the claim form and their tasks on the phone, which the first 400 cut away.
    Each list keeps its own order (most wanted first); the lists keep theirs."""
    seen: set[str] = set()
    own = [[url for url in urls if not (url in seen or seen.add(url))] for urls in lists]
    take = [0] * len(own)
    total = 0
    while total < limit:
        before = total
        for i, urls in enumerate(own):  # one more from each list that has one, in turn
            if take[i] < len(urls) and total < limit:
                take[i] += 1
                total += 1
        if total == before:
            break
    return [url for i, urls in enumerate(own) for url in urls[:take[i]]]


PWA_HANDLERS = [service_worker, manifest, offline_page, outbox_page, list_offline_pages]
