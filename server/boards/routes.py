"""Notice boards: the print file for a subtree, a phone preview, a leader's own board settings.

The service station printed on the boards (address, phone) is the party area's (server/party).
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import photos
from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.boards import queries, render as printing
from server.boards import plan
from server.boards.models import BoardProfile, PlanLayout
from server.clock import utcnow
from server.grid.models import GridNode, Level, active_node
from server.sync.models import SyncReceipt
from server.web import render, t

PRINT_ROLES = (Role.admin, Role.community, Role.compound)
# A leader's board photos hang off one receipt of theirs (server/photos.py store_photo needs a record).
BOARD_PHOTO_RECORD = uuid.UUID("6f1c7a52-3f0e-4a53-9d0b-2b8c0b1e5a11")
MAX_BOARD_PHOTOS = 50


async def _node_for(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code[:40], active_node()))).scalar_one_or_none()
    if node is None:
        raise NotFoundException()
    viewer.require_path(node.path)
    return node


class BoardController(Controller):
    path = "/boards"
    guards = [signed_in]

    @get("/{name:str}", name="boards.show")
    async def show_board(self, request: Request, db: AsyncSession, viewer: Viewer, name: str) -> Any:
        """`<code>.pdf`: every board under the node (staff, audited); `<code>`: the preview page."""
        if name.endswith(".pdf"):
            return await self._pdf(request, db, viewer, name[:-4])
        node = await _node_for(db, viewer, name)
        boards = await queries.boards_under(db, node) if node.level == Level.microgrid else []
        items = [printing.board_context(b, request.app.state.settings.base_url) for b in boards]
        count = len(boards) if node.level == Level.microgrid else await _count_boards(db, node)
        compounds = (await db.execute(sa.select(GridNode.code, GridNode.name).where(
            GridNode.parent_id == node.id, GridNode.level == Level.compound, active_node())
            .order_by(GridNode.sort_order, GridNode.code))).all() if node.level == Level.community else []
        return render(request, "boards/preview.html", node=node, items=items, count=count, compounds=compounds,
                      may_print=viewer.has_role(*PRINT_ROLES))

    @get("/{code:str}/chart.svg", name="boards.chart")
    async def show_structure_chart(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Response:
        """The structure chart (微网格治理体系导图) of a street or community, printable at any size."""
        from server.boards.chart import structure_chart_svg

        viewer.require_role(*PRINT_ROLES)
        node = await _node_for(db, viewer, code)
        return Response(await structure_chart_svg(db, node), media_type="image/svg+xml",
                        headers={"content-disposition": f'inline; filename="chart-{node.code}.svg"'})

    async def _compound(self, db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
        viewer.require_role(*PRINT_ROLES)
        node = await _node_for(db, viewer, code)
        if node.level != Level.compound:
            raise NotFoundException()
        return node

    @get("/{code:str}/plan", name="boards.plan")
    async def show_plan(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        """Arrange the compound plan (平面图): coordinates, or drag on a phone (static/js/plan.js)."""
        node = await self._compound(db, viewer, code)
        items = await plan.plan_items(db, node)
        values = {f"{axis}-{i.id}": str(getattr(i, attr) + 1) for i in items for axis, attr in (("col", "column"), ("row", "row"))}
        return render(request, "boards/plan.html", node=node, items=items, values=values, errors={},
                      columns=plan.COLUMNS, rows=plan.ROWS, saved=request.query_params.get("saved") == "1")

    @post("/{code:str}/plan", name="boards.save_plan")
    async def save_plan(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        node = await self._compound(db, viewer, code)
        items = await plan.plan_items(db, node)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        positions, problems, values = plan.check_positions(items, form)
        if problems:
            errors = {name: t(request, message, **params) for name, (message, params) in problems.items()}
            return render(request, "boards/plan.html", status_code=422, node=node, items=items, values=values,
                          errors=errors, columns=plan.COLUMNS, rows=plan.ROWS, saved=False)
        layout = await db.get(PlanLayout, node.id) or PlanLayout(node_id=node.id)
        before = dict(layout.positions or {})
        layout.positions, layout.updated_at = positions, utcnow()
        db.add(layout)
        audit.record(db, "plan_layout", viewer=viewer, object_type="grid_node", object_id=node.code, request=request,
                     before=before, after=positions)
        await db.commit()
        return Redirect(path=f"/boards/{node.code}/plan?saved=1", status_code=303)

    @get("/{code:str}/plan.svg", name="boards.plan_svg")
    async def show_plan_svg(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Response:
        node = await self._compound(db, viewer, code)
        svg = plan.plan_svg(node, await plan.plan_items(db, node))
        return Response(svg, media_type="image/svg+xml", headers={
            "content-disposition": f'inline; filename="plan-{node.code}.svg"', "cache-control": "no-cache"})

    @get("/{code:str}/plan.pdf", name="boards.plan_pdf")
    async def download_plan(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Response:
        """The plan board to print (A3 landscape); audited like the notice boards' file."""
        import asyncio

        node = await self._compound(db, viewer, code)
        items = await plan.plan_items(db, node)
        pdf = await asyncio.to_thread(plan.plan_pdf, plan.plan_svg(node, items))
        audit.record(db, "export", viewer=viewer, object_type="boards", object_id=node.code, request=request,
                     what="plan_board", items=len(items))
        await db.commit()
        return Response(pdf, media_type="application/pdf", headers={
            "content-disposition": f'inline; filename="plan-{node.code}-a3.pdf"'})

    async def _pdf(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Response:
        viewer.require_role(*PRINT_ROLES)
        node = await _node_for(db, viewer, code)
        size = request.query_params.get("size", "a4")
        size = size if size in printing.SIZES else "a4"
        boards = await queries.boards_under(db, node)
        pdf = await printing.boards_pdf(request.app.template_engine.engine, boards, request.app.state.settings.base_url, size)
        audit.record(db, "export", viewer=viewer, object_type="boards", object_id=node.code, request=request,
                     what="notice_boards", pages=len(boards), size=size)
        await db.commit()
        return Response(pdf, media_type="application/pdf", headers={
            "content-disposition": f'inline; filename="boards-{node.code}-{size}.pdf"'})


async def _count_boards(db: AsyncSession, node: GridNode) -> int:
    from server.tree import in_subtree

    return (await db.execute(
        sa.select(sa.func.count(sa.distinct(GridNode.id))).join(Post, sa.and_(
            Post.node_id == GridNode.id, Post.role == Role.leader, Post.post_kind == "A", current_post()))
        .where(GridNode.level == Level.microgrid, active_node(), in_subtree(GridNode.path, node.path)))).scalar_one()


class MyBoardController(Controller):
    """A leader's own board: show my phone (consent), my photo."""

    path = "/me/board"
    guards = [signed_in]

    @get("/", name="boards.mine")
    async def show_my_board(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(Role.leader)
        profile = await db.get(BoardProfile, viewer.person_id)
        person = await db.get(Person, viewer.person_id)
        codes = (await db.execute(sa.select(GridNode.code, GridNode.name).join(Post, Post.node_id == GridNode.id).where(
            Post.person_id == viewer.person_id, Post.role == Role.leader, current_post()).order_by(GridNode.code))).all()
        return render(request, "boards/mine.html", profile=profile, person=person, codes=codes, error="")

    @post("/", name="boards.save_mine")
    async def save_my_board(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(Role.leader)
        form = await request.form()
        profile = await db.get(BoardProfile, viewer.person_id) or BoardProfile(person_id=viewer.person_id)
        profile.show_phone = form.get("show_phone") == "1"
        try:
            cleaned = await photos.read_form_photos(form, "photo")
        except photos.PhotoRefused as refused:
            return render(request, "boards/mine.html", status_code=refused.status, profile=profile,
                          person=await db.get(Person, viewer.person_id), codes=[],
                          error=t(request, refused.message, **refused.params))
        if cleaned:
            record_id = uuid.uuid5(BOARD_PHOTO_RECORD, str(viewer.person_id))
            if await db.get(SyncReceipt, record_id) is None:
                post_row = (await db.execute(sa.select(Post).where(
                    Post.person_id == viewer.person_id, Post.role == Role.leader, current_post()))).scalars().first()
                db.add(SyncReceipt(id=record_id, type="board_photo", person_id=viewer.person_id, content_hash="0" * 64,
                                   grid_path=post_row.node_path if post_row else None))
                await db.flush()
            photo_id = uuid.uuid4()
            await photos.store_photo(db, photo_id=photo_id, record_id=record_id, person_id=viewer.person_id,
                                     photo=cleaned[0], max_photos=MAX_BOARD_PHOTOS)
            profile.photo_id = photo_id
        profile.updated_at = utcnow()
        db.add(profile)
        audit.record(db, "board_profile", viewer=viewer, object_type="person", object_id=viewer.person_id,
                     request=request, show_phone=profile.show_phone, photo=bool(cleaned))
        await db.commit()
        return Redirect(path="/me/board/?saved=1", status_code=303)


BOARD_HANDLERS = [BoardController, MyBoardController]
