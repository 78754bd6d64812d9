"""The materials library: a list searchable offline, each material on its own page, kept
on the phone; the street's office and community staff add materials."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.training.models import MATERIAL_KIND_LABELS, MaterialKind, TrainingMaterial
from server.tree import SEGMENT
from server.web import render, t

READER_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)
MAX_BODY = 20000
MAX_OFFLINE_MATERIALS = 100
COMMUNITY_LEN = 2 * SEGMENT


def _owner_paths(viewer: Viewer) -> list[str]:
    """The street-wide materials and those of every community the person works in."""
    return [""] + sorted({p.path[:COMMUNITY_LEN] for p in viewer.posts if len(p.path) >= COMMUNITY_LEN})


def _readable(viewer: Viewer):
    owners = _owner_paths(viewer)
    if viewer.is_admin:
        return sa.true()
    return TrainingMaterial.owner_path.in_(owners)


async def materials_for(db: AsyncSession, viewer: Viewer, limit: int | None = None) -> list[TrainingMaterial]:
    stmt = sa.select(TrainingMaterial).where(_readable(viewer)).order_by(TrainingMaterial.created_at.desc(),
                                                                          TrainingMaterial.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())


def _form_dict(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


class TrainingController(Controller):
    path = "/training"
    guards = [signed_in]

    @get("/materials", name="training.materials")
    async def list_materials(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*READER_ROLES)
        return await self._library(request, db, viewer)

    async def _library(self, request, db, viewer, *, errors=None, values=None, status_code=200):
        return render(request, "training/materials.html", status_code=status_code,
                      materials=await materials_for(db, viewer), kind_labels=MATERIAL_KIND_LABELS,
                      may_add=viewer.has_role(Role.admin, Role.community), errors=errors or {}, values=values or {},
                      saved=request.query_params.get("saved") == "1", tab="me", back_url="/me")

    @get("/materials/{material_id:int}", name="training.material")
    async def show_material(self, request: Request, db: AsyncSession, viewer: Viewer, material_id: int) -> Any:
        viewer.require_role(*READER_ROLES)
        material = await db.get(TrainingMaterial, material_id)
        if material is None or not (viewer.is_admin or material.owner_path in _owner_paths(viewer)):
            raise NotFoundException()
        return render(request, "training/material.html", material=material, kind_labels=MATERIAL_KIND_LABELS,
                      tab="me", back_url="/training/materials")

    @post("/materials", name="training.add_material")
    async def add_material(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The street's office adds for everyone, community staff for their community."""
        viewer.require_role(Role.admin, Role.community)
        values = _form_dict(await request.form())
        title = values.get("title", "").strip()
        body = values.get("body", "").strip()
        kind = values.get("kind", "")
        errors = {}
        if not title:
            errors["title"] = t(request, "Please fill this in.")
        elif len(title) > 80:
            errors["title"] = t(request, "This is too long.")
        if not body:
            errors["body"] = t(request, "Please fill this in.")
        elif len(body) > MAX_BODY:
            errors["body"] = t(request, "This is too long.")
        if kind not in set(MaterialKind):
            errors["kind"] = t(request, "Please choose one of the options.")
        if errors:
            return await self._library(request, db, viewer, errors=errors, values=values, status_code=422)
        owner = "" if viewer.is_admin else next(p.path for p in viewer.posts if p.role == Role.community)
        material = TrainingMaterial(owner_path=owner, kind=kind, title=title,
                                    summary=values.get("summary", "").strip()[:200], body=body,
                                    created_by=viewer.person_id)
        db.add(material)
        await db.flush()
        audit.record(db, "add_material", viewer=viewer, object_type="training_material", object_id=material.id,
                     request=request, title=title)
        await db.commit()
        return Redirect(path="/training/materials?saved=1", status_code=303)


async def training_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """The library and every material in it: shown at the door without a signal."""
    if not viewer.has_role(*READER_ROLES):
        return []
    materials = await materials_for(db, viewer, limit=MAX_OFFLINE_MATERIALS)
    return ["/training/materials"] + [f"/training/materials/{m.id}" for m in materials]


from server.training.sessions import SESSION_HANDLERS  # noqa: E402

TRAINING_HANDLERS = [TrainingController, *SESSION_HANDLERS]
OFFLINE_PAGES = [training_offline_pages]
