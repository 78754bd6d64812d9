"""The rewards pages: the catalogue (the street keeps it), a leader's requests, the community's approvals.

Redemption rules and locking are in redemptions.py; these handlers check who may act on what:
a leader asks for themselves; community staff (or the street) approve, refuse and record
the hand-over for leaders in their part of the grid (404 outside it). Catalogue changes and
every decision are audited.
"""
from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

import sqlalchemy as sa

from server import photos
from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Post, Role, current_post
from server.accounts.scope import Viewer
from server.incentives import ledger, redemptions
from server.incentives.models import Redemption, RewardItem
from server.sync.models import Photo, SyncReceipt
from server.validate import PathId, ascii_int
from server.web import render, t

STAFF_ROLES = (Role.admin, Role.community)
# An item's photos hang off one receipt per item (server/photos.py store_photo needs a record,
# as the notice boards' photos do): the newest is the one shown; a new upload replaces it.
REWARD_PHOTO_RECORD = uuid.UUID("9b0e3c1d-6a2f-4c57-8e44-3f1a7d2c5b60")
MAX_ITEM_PHOTOS = 20


def photo_record_id(item_id: int) -> uuid.UUID:
    return uuid.uuid5(REWARD_PHOTO_RECORD, str(item_id))


async def item_photos(db: AsyncSession, item_ids: list[int]) -> dict[int, uuid.UUID]:
    """The photo shown for each item (its newest), in one query."""
    if not item_ids:
        return {}
    by_record = {photo_record_id(i): i for i in item_ids}
    out: dict[int, uuid.UUID] = {}
    for record_id, photo_id in await db.execute(
            sa.select(Photo.record_id, Photo.id).where(Photo.record_id.in_(list(by_record)))
            .order_by(Photo.received_at, Photo.id)):
        out[by_record[record_id]] = photo_id
    return out


async def _store_item_photo(db: AsyncSession, viewer: Viewer, item: RewardItem, photo: photos.CleanPhoto) -> uuid.UUID:
    """Through the one photo path (cleaned and shrunk like every photo); the item's receipt made on first use."""
    record_id = photo_record_id(item.id)
    if await db.get(SyncReceipt, record_id) is None:
        db.add(SyncReceipt(id=record_id, type="reward_photo", person_id=viewer.person_id, content_hash="0" * 64,
                           grid_path=None))
        await db.flush()
    photo_id = uuid.uuid4()
    await photos.store_photo(db, photo_id=photo_id, record_id=record_id, person_id=viewer.person_id, photo=photo,
                             max_photos=MAX_ITEM_PHOTOS)
    return photo_id


async def _leader_path(db: AsyncSession, viewer: Viewer) -> str | None:
    """Where a leader's redemptions are filed: their A post's micro-grid (else any leader post)."""
    return (await db.execute(sa.select(Post.node_path).where(
        Post.person_id == viewer.person_id, Post.role == Role.leader, current_post())
        .order_by(Post.post_kind, Post.node_path).limit(1))).scalar()


async def _catalogue(db: AsyncSession, viewer: Viewer, request: Request, **extra) -> dict[str, Any]:
    items = (await db.execute(sa.select(RewardItem).where(
        sa.true() if viewer.is_admin else RewardItem.active.is_(True)).order_by(RewardItem.points, RewardItem.id))).scalars().all()
    is_leader = viewer.has_role(Role.leader)
    return dict(items=list(items), photos=await item_photos(db, [i.id for i in items]), balance=await ledger.balance(db, viewer.person_id) if is_leader else None,
                is_leader=is_leader, mine=await redemptions.requests_for(db, None, person_id=viewer.person_id, limit=20)
                if is_leader else [], status_labels=redemptions.STATUS_LABELS, values=extra.pop("values", {}),
                errors=extra.pop("errors", {}), tab="me", back_url="/me", **extra)


async def _get_redemption_for(db: AsyncSession, viewer: Viewer, redemption_id: str) -> Redemption:
    viewer.require_role(*STAFF_ROLES)
    found = await db.get(Redemption, redemption_id[:36])
    if found is None or not viewer.sees_path(found.grid_path):
        raise NotFoundException()
    return found


class RewardController(Controller):
    path = "/rewards"
    guards = [signed_in]

    @get("/", name="rewards.catalogue")
    async def show_catalogue(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        return render(request, "incentives/catalogue.html", **await _catalogue(db, viewer, request))

    @get("/{item_id:int}/photo", name="rewards.photo")
    async def show_item_photo(self, db: AsyncSession, viewer: Viewer, item_id: PathId) -> Response:
        """An item's photo, for everyone who may open the catalogue (the URL names the photo: cached for good)."""
        item = await db.get(RewardItem, item_id)
        photo_id = (await item_photos(db, [item_id])).get(item_id) if item is not None else None
        if photo_id is None or not (item.active or viewer.is_admin):
            raise NotFoundException()
        photo = await db.get(Photo, photo_id)
        return Response(photo.data, media_type=photo.content_type,
                        headers={"cache-control": "private, max-age=31536000, immutable"})

    @post("/", name="rewards.save_item", request_max_body_size=photos.MAX_FORM_BYTES + 64 * 1024)
    async def save_item(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The street adds an item or changes one (price, stock, offered or not, a photo)."""
        viewer.require_role(Role.admin)
        form = await request.form()
        values = {k: (form.get(k) or "").strip() for k in ("item_id", "name", "description", "points", "stock", "active")}
        errors: dict[str, str] = {}
        if not values["name"] or len(values["name"]) > 60:
            errors["name"] = t(request, "A name of 1 to 60 characters.")
        points = ascii_int(values["points"], 1, 100000)
        if points is None:
            errors["points"] = t(request, "Enter whole points from 1 to %(max)s.", max=100000)
        stock = ascii_int(values["stock"], 0, 100000)
        if stock is None:
            errors["stock"] = t(request, "Enter a whole number from 0 to %(max)s.", max=100000)
        item = None
        if values["item_id"]:
            item = await db.get(RewardItem, ascii_int(values["item_id"], 1, 2**31 - 1) or 0)
            if item is None:
                raise NotFoundException()
        cleaned: list[photos.CleanPhoto] = []
        status = 422
        try:
            cleaned = await photos.read_form_photos(form, "photo")
        except photos.PhotoRefused as refused:
            errors["photo"] = t(request, refused.message, **refused.params)
            status = refused.status if len(errors) == 1 else 422
        if errors:
            return render(request, "incentives/catalogue.html", status_code=status,
                          **await _catalogue(db, viewer, request, values=values, errors=errors))
        if item is None:
            item = RewardItem(name=values["name"], points=points, stock=stock, created_by=viewer.person_id)
            db.add(item)
        item.name, item.description, item.points, item.stock = values["name"], values["description"][:200], points, stock
        item.active = values["active"] == "on" if values["item_id"] else True
        await db.flush()
        try:
            photo_id = await _store_item_photo(db, viewer, item, cleaned[0]) if cleaned else None
        except photos.PhotoRefused as refused:  # the item's photo was replaced too often
            await db.rollback()
            errors["photo"] = t(request, refused.message, **refused.params)
            return render(request, "incentives/catalogue.html", status_code=refused.status,
                          **await _catalogue(db, viewer, request, values=values, errors=errors))
        audit.record(db, "reward_item", viewer=viewer, object_type="reward_item", object_id=item.id, request=request,
                     name=item.name, points=points, stock=stock, active=item.active,
                     photo=str(photo_id) if photo_id else None)
        await db.commit()
        return Redirect(path="/rewards", status_code=303)

    @post("/{item_id:int}/request", name="rewards.request")
    async def request_reward(self, request: Request, db: AsyncSession, viewer: Viewer, item_id: PathId) -> Any:
        viewer.require_role(Role.leader)
        path = await _leader_path(db, viewer)
        if path is None:
            raise NotFoundException()
        try:
            redemption = await redemptions.request_reward(db, person_id=viewer.person_id, item_id=item_id, grid_path=path)
        except redemptions.RewardProblem as problem:
            await db.rollback()
            return render(request, "incentives/catalogue.html", status_code=409,
                          **await _catalogue(db, viewer, request, problem=t(request, str(problem))))
        audit.record(db, "reward_request", viewer=viewer, object_type="redemption", object_id=redemption.id,
                     request=request, item_id=item_id, points=redemption.points)
        await db.commit()
        return Redirect(path="/rewards?asked=1", status_code=303)

    @get("/requests", name="rewards.requests")
    async def list_requests(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """Community staff and the street: requests of the leaders in their part of the grid."""
        viewer.require_role(*STAFF_ROLES)
        rows = await redemptions.requests_for(db, viewer.subtree_clause)
        return render(request, "incentives/requests.html", rows=rows, status_labels=redemptions.STATUS_LABELS,
                      problem=request.query_params.get("problem", "") == "1", tab="me", back_url="/me")

    @post("/requests/{redemption_id:str}/{kind:str}", name="rewards.decide")
    async def decide_request(self, request: Request, db: AsyncSession, viewer: Viewer, redemption_id: str,
                             kind: str) -> Any:
        if kind not in redemptions.STEPS:
            raise NotFoundException()
        redemption = await _get_redemption_for(db, viewer, redemption_id)
        form = await request.form()
        note = (form.get("note") or "").strip()[:200] if isinstance(form.get("note"), str) else ""
        try:
            status = await redemptions.step(db, redemption, kind, actor_id=viewer.person_id, note=note)
        except redemptions.RewardProblem:
            await db.rollback()
            return Redirect(path="/rewards/requests?problem=1", status_code=303)
        audit.record(db, "reward_" + kind, viewer=viewer, object_type="redemption", object_id=redemption.id,
                     request=request, status=status, note=note)
        await db.commit()
        return Redirect(path="/rewards/requests", status_code=303)


REWARD_HANDLERS: list = [RewardController]
