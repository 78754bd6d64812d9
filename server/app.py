"""create_app(): every controller listed once, middleware, plugins."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.router import Router
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from server.accounts.auth import SessionAuthMiddleware, provide_viewer, signed_in
from server.accounts.routes import AccountController, AdminController, AuthController
from server.config import STATIC_DIR, TEMPLATES_DIR, Settings, load_settings
from server.csrf import CSRFMiddleware
from server.db import make_engine, make_sessionmaker, provide_db
from server.grid.routes import GridController, HouseholdController
from server.home import search_in_my_grid, show_home, switch_language
from server.incentives import allowances, holidays, ledger
from server.incentives.catalogue import REWARD_HANDLERS
from server.incentives.commendations import COMMENDATION_HANDLERS
from server.incentives.dashboard import DASHBOARD_HANDLERS
from server.incentives.routes import INCENTIVES_HANDLERS
from server.incentives.satisfaction import SATISFACTION_HANDLERS
from server.issues import routes as issue_routes
from server.issues import sync as issue_records
from server.issues.public import PUBLIC_HANDLERS
from server.issues.routes import ISSUE_HANDLERS
from server.boards.routes import BOARD_HANDLERS
from server.notify.routes import NOTIFY_HANDLERS
from server.notify.runner import running_worker
from server.open311.routes import OPEN311_HANDLERS
from server.party.routes import PARTY_HANDLERS
from server.recruit.routes import RECRUIT_HANDLERS
from server.training import routes as training_routes
from server.patrols import records as patrol_records
from server.patrols import routes as patrol_routes
from server.patrols.routes import PATROL_HANDLERS
from server.registers import changes as register_changes
from server.registers.routes import REGISTERS_HANDLERS
from server.sync import registry
from server.tasks import records as task_records
from server.tasks import routes as task_routes
from server.sync.pwa import PWA_HANDLERS
from server.sync.routes import PhotoController, SyncController
from server.visits import records as visit_records
from server.visits import routes as visit_routes
from server.visits.routes import VISITS_HANDLERS
from server.web import CleanFormText, RefuseControlCharacters, TrustedProxies, add_security_headers, configure_jinja, exception_handler

ROUTE_HANDLERS = [
    show_home,
    switch_language,
    search_in_my_grid,
    GridController,
    HouseholdController,
    AuthController,
    AccountController,
    AdminController,
    SyncController,
    PhotoController,
    *PWA_HANDLERS,
    *VISITS_HANDLERS,
    *PATROL_HANDLERS,
    *ISSUE_HANDLERS,
    *PUBLIC_HANDLERS,
    *REGISTERS_HANDLERS,
    *OPEN311_HANDLERS,
    *INCENTIVES_HANDLERS,
    *DASHBOARD_HANDLERS,
    *SATISFACTION_HANDLERS,
    *NOTIFY_HANDLERS,
    *PARTY_HANDLERS,
    *training_routes.TRAINING_HANDLERS,
    *REWARD_HANDLERS,
    *COMMENDATION_HANDLERS,
    *BOARD_HANDLERS,
    *allowances.ALLOWANCE_HANDLERS,
    *RECRUIT_HANDLERS,
    *holidays.HOLIDAY_HANDLERS,
    *task_routes.TASK_HANDLERS,
]

# Every record type a phone may send to POST /api/sync (server/sync/registry.py).
SYNC_TYPES = [
    *visit_records.SYNC_TYPES,  # visit, errand, mediation, hazard_check, worklog_problem, errand_step
    *issue_records.SYNC_TYPES,  # issue, issue_event
    *patrol_records.SYNC_TYPES,  # patrol
    *register_changes.SYNC_TYPES,  # household_change
    *allowances.SYNC_TYPES,  # allowance_claim
    *holidays.SYNC_TYPES,  # holiday_visit
    *task_records.SYNC_TYPES,  # task_report
]

# Run after every stored batch, in its transaction (server/sync/registry.py).
AFTER_SYNC = [
    ledger.fold_on_arrival,  # the sender's glimmer points, folded as their records arrive
]

# Who keeps which pages on the phone (GET /api/offline-pages, server/sync/pwa.py).
OFFLINE_PAGES = [
    *visit_routes.OFFLINE_PAGES,  # the worklist, households, visit and work-log forms
    *patrol_routes.OFFLINE_PAGES,  # the checklists of the compounds a person patrols
    *training_routes.OFFLINE_PAGES,  # the training materials library, to show a policy at the door
    *issue_routes.OFFLINE_PAGES,  # the report form (also per micro-grid) and the ledger
    *task_routes.OFFLINE_PAGES,  # a leader's open task shares, to report done
    *allowances.OFFLINE_PAGES,  # the allowance claim form
    *holidays.OFFLINE_PAGES,  # a visitor's holiday visit list
]

def shared_stores(settings: Settings) -> tuple[StoreRegistry | None, Callable[[], Awaitable[None]]]:
    """Litestar stores (rate limits...) on Redis when WEIWANG_REDIS_URL is set, so several app
    processes count together; else the default: memory, per process. Returns the registry
    (None for the default) and how to close it."""
    if not settings.redis_url:
        async def nothing() -> None:
            return None
        return None, nothing
    from redis.asyncio import Redis
    from litestar.stores.redis import RedisStore

    client = Redis.from_url(settings.redis_url)
    root = RedisStore(client, namespace="weiwang", handle_client_shutdown=False)
    return StoreRegistry(default_factory=root.with_namespace), client.aclose


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    registry.install(SYNC_TYPES, AFTER_SYNC)
    stores, close_stores = shared_stores(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar):
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        try:
            # The notification outbox is delivered from every app process (server/notify/worker.py).
            async with running_worker(app.state.sessionmaker, settings):
                yield
        finally:
            await engine.dispose()
            await close_stores()

    template_config = TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=lambda engine: configure_jinja(engine.engine),
    )
    static_router = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        # URLs carry a content hash (?v=...), so a year is safe.
        cache_control=CacheControlHeader(max_age=31_536_000, public=True),
        include_in_schema=False,
    )
    return Litestar(
        route_handlers=[*ROUTE_HANDLERS, static_router],
        dependencies={"db": Provide(provide_db), "viewer": Provide(provide_viewer)},
        lifespan=[lifespan],
        template_config=template_config,
        plugins=[HTMXPlugin()],
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=1),
        # Every method, OPTIONS and HEAD included: a guard must always find the person (or None).
        middleware=[TrustedProxies, RefuseControlCharacters,
                    DefineMiddleware(SessionAuthMiddleware, exclude=["^/static/"], exclude_http_methods=[]),
                    # A token tied to the session and an Origin check on every change (server/csrf.py).
                    CSRFMiddleware,
                    CleanFormText],
        exception_handlers={Exception: exception_handler},
        # CSP and friends on every answer, error pages, static files and unknown URLs included.
        before_send=[add_security_headers],
        # The API description as JSON only, for signed-in people: the HTML viewers load
        # scripts from CDNs (against our CSP) and visitors see nothing but public pages.
        openapi_config=OpenAPIConfig(
            title="Weiwang", version="1", path="/schema", render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(path="/schema", route_handlers=[], guards=[signed_in], include_in_schema=False),
        ),
        state=State({"settings": settings, "offline_pages": OFFLINE_PAGES}),
        stores=stores,
        debug=False,
    )
