"""The grid browser: street → community → compound → building → unit → micro-grid."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.audit import record
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import REVEAL_PHONE_ROLES, Viewer
from server.grid import queries
from server.grid.models import Level
from server.grid.stats import ARTICLE_FIGURES, tier_table
from server.validate import PathId
from server.web import render

GRID_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)


class GridController(Controller):
    path = "/grid"
    guards = [signed_in]

    @get("/{code:str}", name="grid.node")
    async def show_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
                        page: int = Parameter(default=1, ge=1, le=10_000)) -> object:
        viewer.require_role(*GRID_ROLES)
        node, trail = await queries.get_node_with_trail_for(db, viewer, code)
        context = {"node": node, "trail": trail}
        if node.level == Level.microgrid:
            context["households"] = await queries.household_rows_in(db, node)
            context["leaders"] = await queries.leaders_of(db, node)
            return render(request, "grid/microgrid.html", **context)
        context["children"] = await queries.children_with_counts(db, node, page)
        return render(request, "grid/node.html", **context)

    @get("/{code:str}/search", name="grid.search")
    async def search_households(
        self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
        q: str = Parameter(default="", max_length=40),
    ) -> object:
        viewer.require_role(*GRID_ROLES)
        node = await queries.get_node_for(db, viewer, code)
        results = await queries.search_households(db, viewer, node, q)
        return render(request, "grid/search.html", partial="grid/_search_results.html",
                      node=node, q=q, results=results)

    @get("/{code:str}/overview", name="grid.overview")
    async def show_overview(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        viewer.require_role(*GRID_ROLES)
        node, trail = await queries.get_node_with_trail_for(db, viewer, code)
        table = await tier_table(db, node.path)
        return render(request, "grid/overview.html", node=node, trail=trail, table=table,
                      article=ARTICLE_FIGURES if node.level == Level.street else None)


class HouseholdController(Controller):
    path = "/households"
    guards = [signed_in]

    @get("/{household_id:int}", name="household.show")
    async def show_household(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        viewer.require_role(*GRID_ROLES)
        household = await queries.get_household_for(db, viewer, household_id)
        microgrid = await db.get(queries.GridNode, household.microgrid_id)
        trail = await queries.ancestors(db, microgrid)
        return render(request, "grid/household.html", household=household, node=microgrid, trail=trail + [microgrid])

    @post("/{household_id:int}/phone", name="household.reveal_phone")
    async def reveal_phone(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        """The whole number, for one household, written to the audit log (htmx: the fragment only)."""
        viewer.require_role(*REVEAL_PHONE_ROLES)
        household = await queries.get_household_for(db, viewer, household_id)
        record(db, "reveal_phone", viewer=viewer, object_type="household", object_id=household.id, request=request)
        await db.commit()
        microgrid = await db.get(queries.GridNode, household.microgrid_id)
        trail = await queries.ancestors(db, microgrid)
        return render(request, "grid/household.html", partial="grid/_phone.html", household=household,
                      node=microgrid, trail=trail + [microgrid], revealed=True)
