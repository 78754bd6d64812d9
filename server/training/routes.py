"""The materials library: a list searchable offline, each material on its own page, kept
on the phone; the street's office and community staff add materials."""
from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.training.models import MATERIAL_KIND_LABELS, MaterialKind, TrainingMaterial, TrainingMaterialFile
from server.tree import COMMUNITY_LEN
from server.web import render, t

READER_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)
MAX_BODY = 20000
MAX_OFFLINE_MATERIALS = 100
MAX_PDF = 8 * 1024 * 1024  # a policy document; the phone keeps it, so keep it small


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


class NotAPdf(ValueError):
    pass


def pdf_text(data: bytes) -> str:
    """The text of a PDF, page by page, for searching the library offline (pypdf, already
    used to join the printed boards). Raises NotAPdf for anything pypdf cannot read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF-"):
        raise NotAPdf()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise NotAPdf()
        text = "\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise NotAPdf() from exc
    return " ".join(text.split())[:MAX_BODY]


async def _read_pdf(request: Request, form) -> tuple[bytes | None, str | None]:
    """The uploaded PDF, or None; and the message for the field when it cannot be taken."""
    upload = form.get("pdf")
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
        return None, None
    data = await upload.read()
    if not data:
        return None, None
    if len(data) > MAX_PDF:
        return None, t(request, "This PDF is too large (at most 8 MB).")
    return data, None


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

    @get("/materials/{material_id:int}/file.pdf", name="training.material_pdf")
    async def material_pdf(self, db: AsyncSession, viewer: Viewer, material_id: int) -> Response:
        """The material's original PDF, shown by the phone's viewer (and kept for offline)."""
        viewer.require_role(*READER_ROLES)
        material = await db.get(TrainingMaterial, material_id)
        if material is None or not (viewer.is_admin or material.owner_path in _owner_paths(viewer)):
            raise NotFoundException()
        stored = await db.get(TrainingMaterialFile, material_id)
        if stored is None:
            raise NotFoundException()
        return Response(stored.data, media_type="application/pdf", headers={
            "content-disposition": f"inline; filename*=UTF-8''{quote(material.title)}.pdf",
            "cache-control": "private, max-age=0", "etag": f'"{stored.sha256}"'})

    @post("/materials", name="training.add_material")
    async def add_material(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The street's office adds for everyone, community staff for their community: a text,
        or a PDF (its text taken out for searching, unless a text is typed as well)."""
        viewer.require_role(Role.admin, Role.community)
        form = await request.form()
        values = _form_dict(form)
        title = values.get("title", "").strip()
        body = values.get("body", "").strip()
        kind = values.get("kind", "")
        errors = {}
        pdf, pdf_error = await _read_pdf(request, form)
        if pdf_error:
            errors["pdf"] = pdf_error
        elif pdf is not None:
            try:
                extracted = await asyncio.to_thread(pdf_text, pdf)
            except NotAPdf:
                errors["pdf"] = t(request, "This file is not a PDF that can be opened.")
                pdf = None
            else:
                body = body or extracted or title
        if not title:
            errors["title"] = t(request, "Please fill this in.")
        elif len(title) > 80:
            errors["title"] = t(request, "This is too long.")
        if not body and "pdf" not in errors:
            errors["body"] = t(request, "Type the text or add the PDF.")
        elif len(body) > MAX_BODY:
            errors["body"] = t(request, "This is too long.")
        if kind not in set(MaterialKind):
            errors["kind"] = t(request, "Please choose one of the options.")
        if errors:
            return await self._library(request, db, viewer, errors=errors, values=values, status_code=422)
        owner = "" if viewer.is_admin else next(p.path for p in viewer.posts if p.role == Role.community)
        material = TrainingMaterial(owner_path=owner, kind=kind, title=title,
                                    summary=values.get("summary", "").strip()[:200], body=body,
                                    pdf_size=len(pdf) if pdf else 0, created_by=viewer.person_id)
        db.add(material)
        await db.flush()
        if pdf:
            db.add(TrainingMaterialFile(material_id=material.id, sha256=hashlib.sha256(pdf).hexdigest(), data=pdf))
        audit.record(db, "add_material", viewer=viewer, object_type="training_material", object_id=material.id,
                     request=request, title=title, pdf_size=len(pdf) if pdf else 0)
        await db.commit()
        return Redirect(path="/training/materials?saved=1", status_code=303)


async def training_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """The library and every material in it: shown at the door without a signal."""
    if not viewer.has_role(*READER_ROLES):
        return []
    materials = await materials_for(db, viewer, limit=MAX_OFFLINE_MATERIALS)
    pages = ["/training/materials"] + [f"/training/materials/{m.id}" for m in materials]
    return pages + [f"/training/materials/{m.id}/file.pdf" for m in materials if m.pdf_size]


from server.training.sessions import SESSION_HANDLERS  # noqa: E402

TRAINING_HANDLERS = [TrainingController, *SESSION_HANDLERS]
OFFLINE_PAGES = [training_offline_pages]
