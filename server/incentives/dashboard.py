"""The scorecard dashboard for the street and each community, and the .xlsx exports.

The street sees one card per community and the leaders who need help across it; a
community (or compound) sees each leader's card. Twelve months of trends are drawn as
SVG on the server. Figures are aggregates over a subtree, cached a minute (server/cache.py)
per subtree and month: the same for everyone who may see that subtree.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from server import cache
from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import EXPORT_ROLES, Viewer
from server.clock import recent_months
from server.grid import queries as grid_queries
from server.grid.models import GridNode, Level
from server.incentives import export, scorecard
from server.incentives.charts import bar_chart
from server.incentives.ledger import period_months
from server.incentives.rules import WEIGHT_NAMES, WEIGHTS, load_rule_book
from server.tree import in_subtree
from server.validate import ascii_int, parse_month
from server.web import render, t

DASHBOARD_ROLES = (Role.admin, Role.community, Role.compound)
ALL_TIME = "all"


def _month(value: str) -> str | None:
    """The month asked for: "all" for all time, else a valid YYYY-MM (default this month)."""
    if value == ALL_TIME:
        return None
    return parse_month(value) or recent_months(1)[0]


async def _node(db: AsyncSession, viewer: Viewer, grid: str) -> GridNode:
    viewer.require_role(*DASHBOARD_ROLES)
    if grid:
        return await grid_queries.get_node_for(db, viewer, grid)
    roots = await grid_queries.root_nodes_for(db, viewer)
    if not roots:
        raise NotFoundException()
    return roots[0]


async def month_cards(db: AsyncSession, viewer: Viewer, node: GridNode, period: str | None) -> list[scorecard.Scorecard]:
    """The leaders' scorecards under `node` (cached a minute: the dashboard and the staff home share them)."""
    book = await load_rule_book(db)
    weights = book.current.weights

    async def compute():
        return await scorecard.scorecards(db, node.path, viewer.subtree_clause, weights, period)

    return await cache.cached(("scorecards", node.path, viewer.grid_paths, period, book.current.version), compute)


async def low_coverage_leaders(db: AsyncSession, viewer: Viewer) -> list[scorecard.Scorecard]:
    """This month's leaders with low visit coverage in the person's part of the grid (the staff home's card)."""
    node = await _node(db, viewer, "")
    return scorecard.low_coverage(await month_cards(db, viewer, node, recent_months(1)[0]))


LOW_PAGE = 50


async def leader_cards(db: AsyncSession, viewer: Viewer, node: GridNode, month: str | None) -> list[scorecard.Scorecard]:
    book = await load_rule_book(db)
    return await scorecard.scorecards(db, node.path, viewer.subtree_clause, book.current.weights, month)


class ScorecardController(Controller):
    path = "/scorecards"
    guards = [signed_in]

    @get("/", name="scorecards.show")
    async def show_dashboard(self, request: Request, db: AsyncSession, viewer: Viewer,
                             grid: str = Parameter(default="", max_length=40),
                             month: str = Parameter(default="", max_length=7),
                             needs: str = Parameter(default="", max_length=12),
                             page: str = Parameter(default="1", max_length=6)) -> Any:
        node = await _node(db, viewer, grid)
        period = _month(month)
        book = await load_rule_book(db)
        weights = book.current.weights
        scope_key = viewer.grid_paths
        cards = await month_cards(db, viewer, node, period)
        if needs == "coverage":
            # The staff home's card opens this: the leaders with low coverage, a page of 50 at a time
            # (a street early in the month would otherwise list a thousand).
            low = scorecard.low_coverage(cards)
            pages = max(1, -(-len(low) // LOW_PAGE))
            number = min(max(ascii_int(page, 1) or 1, 1), pages)
            return render(request, "incentives/low_coverage.html", node=node, month=period or ALL_TIME,
                          rows=low[(number - 1) * LOW_PAGE:number * LOW_PAGE], total=len(low), page=number, pages=pages,
                          low_pct=round(scorecard.LOW_COVERAGE * 100), back_url="/", tab="home")
        months = sorted(recent_months(12))
        trend = await cache.cached(("score-trend", node.path, scope_key, months[-1]),
                                   lambda: scorecard.trends(db, node.path, viewer.subtree_clause, months))
        communities = []
        if node.level == Level.street:
            rows = await db.execute(sa.select(GridNode.path, GridNode.code, GridNode.name).where(
                GridNode.level == Level.community, in_subtree(GridNode.path, node.path)))
            names = {path: (code, name) for path, code, name in rows}
            communities = scorecard.community_cards(cards, names, await _leader_paths(db, node, viewer), weights)
        charts = [
            bar_chart("coverage", t(request, "Households visited"), [(m, trend.coverage[m]) for m in months], percent=True),
            bar_chart("points", t(request, "Points earned"), [(m, trend.points[m]) for m in months]),
            bar_chart("on_time", t(request, "Problems solved on time"), [(m, trend.on_time[m]) for m in months], percent=True),
        ]
        helped = scorecard.needs_help(cards)
        return render(request, "incentives/dashboard.html", node=node, month=period or ALL_TIME, period=period,
                      cards=cards if node.level != Level.street else [], communities=communities,
                      helped=sorted(helped, key=lambda c: (-(c.overdue), c.coverage or 0))[:30], helped_count=len(helped),
                      charts=charts, weights=[(t(request, WEIGHT_NAMES[k]), t(request, WEIGHTS[k][0]), weights[k]) for k in WEIGHTS],
                      formula=scorecard.formula(weights, {k: t(request, v) for k, v in WEIGHT_NAMES.items()}), months=sorted(recent_months(13), reverse=True),
                      may_export=viewer.can_export, back_url="/me", tab="me")

    @get("/export.xlsx", name="scorecards.export")
    async def export_scorecards(self, request: Request, db: AsyncSession, viewer: Viewer,
                                grid: str = Parameter(default="", max_length=40),
                                month: str = Parameter(default="", max_length=7)) -> Response:
        viewer.require_role(*EXPORT_ROLES)
        node = await _node(db, viewer, grid)
        period = _month(month)
        cards = await leader_cards(db, viewer, node, period)
        title = "微网格长考评" + (f"-{period}" if period else "-累计")
        content = export.scorecards_workbook(cards, title)
        audit.record(db, "export", viewer=viewer, object_type="scorecards", object_id=node.code, request=request,
                     month=period or ALL_TIME, rows=len(cards))
        await db.commit()
        return _xlsx(content, "scorecards.xlsx", f"{title}-{node.name}.xlsx")

    @get("/points.xlsx", name="scorecards.export_points")
    async def export_points(self, request: Request, db: AsyncSession, viewer: Viewer,
                            grid: str = Parameter(default="", max_length=40),
                            month: str = Parameter(default="", max_length=7),
                            period: str = Parameter(default="month", max_length=8)) -> Response:
        """The points ledger of a subtree (a month, quarter or year; "all" for everything), audited."""
        viewer.require_role(*EXPORT_ROLES)
        node = await _node(db, viewer, grid)
        chosen = _month(month)
        months = period_months(period if period in ("month", "quarter", "year") else "month", chosen) if chosen else None
        content, count = await export.ledger_workbook(db, node.path, viewer.subtree_clause, months)
        audit.record(db, "export", viewer=viewer, object_type="points_ledger", object_id=node.code, request=request,
                     months=months or ALL_TIME, rows=count)
        await db.commit()
        return _xlsx(content, "points.xlsx", f"积分台账-{node.name}-{chosen or '累计'}.xlsx")


async def _leader_paths(db: AsyncSession, node: GridNode, viewer: Viewer) -> dict[int, str]:
    posts = await scorecard.leader_posts(db, node.path, viewer.subtree_clause)
    return {pid: path for pid, _n, _id, _c, _mn, path in posts}


def _xlsx(content: bytes, ascii_name: str, name: str) -> Response:
    return Response(content, media_type=export.XLSX, headers={
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "cache-control": "private, no-store"})


DASHBOARD_HANDLERS: list = [ScorecardController]
