"""Recruitment and helpers: the public page `/join/<community code>`, the community's review
(`/recruitment`) and the helpers register (`/helpers`).

The public page holds spam off exactly as the resident report page does (server/issues/public.py):
a honeypot field, the signed fill-in time (`form_token`), the keyed address hash and limits
per address and per community counted from the stored rows. No JavaScript needed, so it
works in WeChat's browser.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import invites
from server.accounts.audit import client_ip, record
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.clock import utcnow
from server.grid.models import GridNode, Level
from server.issues import service as issue_service
from server.issues.public import HONEYPOT, PER_ADDRESS_PER_HOUR, check_form_token, form_token
from server.party import queries as party_queries
from server.recruit import service
from server.recruit.models import (
    HELPER_KIND_LABELS, POSITION_LABELS, STATUS_LABELS, WAY_LABELS, NominationStatus,
)
from server.validate import PathId
from server.web import render, t

PER_COMMUNITY_PER_DAY = 30


def _form(data) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _token_code(community: GridNode) -> str:
    return f"join:{community.code}"


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _grid_options(grids: list[GridNode]) -> list[tuple[str, str]]:
    """Compounds and their micro-grids as one list, each micro-grid named with its compound."""
    compounds = {g.path: g.name for g in grids if g.level == Level.compound}
    options = []
    for g in grids:
        if g.level == Level.compound:
            options.append((g.code, g.name))
        else:
            parent = next((name for path, name in compounds.items() if g.path.startswith(path)), "")
            options.append((g.code, f"{parent} · {g.name}" if parent else g.name))
    return options


class JoinController(Controller):
    """推荐、自荐: the community's public page, no account."""

    path = "/join"

    async def _page(self, request, db, community, *, values=None, errors=None, status_code=200):
        values = values or {}
        if "grid" not in values and request.query_params.get("grid"):
            values["grid"] = request.query_params.get("grid", "")[:40]
        return render(request, "recruit/join.html", status_code=status_code, community=community,
                      grid_options=_grid_options(await service.grids_of(db, community)),
                      token=form_token(_secret(request), _token_code(community)), values=values,
                      errors=errors or {}, honeypot=HONEYPOT, position_labels=POSITION_LABELS,
                      helper_labels=HELPER_KIND_LABELS, way_labels=WAY_LABELS, position_choices=service.POSITION_CHOICES)

    @get("/{code:str}", name="recruit.join_form")
    async def show_join_form(self, request: Request, db: AsyncSession, code: str) -> Any:
        return await self._page(request, db, await service.public_community(db, code))

    @post("/{code:str}", name="recruit.join")
    async def nominate(self, request: Request, db: AsyncSession, code: str) -> Any:
        community = await service.public_community(db, code)
        form = _form(await request.form())
        values = {k: form.get(k, "") for k in ("way", "position", "name", "phone", "grid", "reason",
                                                "nominator_name", "nominator_phone")}
        if form.get(HONEYPOT) or not check_form_token(_secret(request), _token_code(community), form.get("token", "")):
            errors = {"form": t(request, "We could not accept this form. Please check it and send it again.")}
            return await self._page(request, db, community, values=values, errors=errors, status_code=400)
        now = utcnow()
        address = issue_service.ip_hash(_secret(request), client_ip(request))
        if (await service.recent(db, ip_hash=address, since=now - timedelta(hours=1)) >= PER_ADDRESS_PER_HOUR
                or await service.recent(db, community_path=community.path, since=now - timedelta(days=1))
                >= PER_COMMUNITY_PER_DAY):
            return render(request, "recruit/too_many.html", status_code=429, community=community)
        try:
            await service.submit(db, community, form, address)
        except service.Refused as exc:
            errors = {k: t(request, v) for k, v in exc.errors.items()}
            return await self._page(request, db, community, values=values, errors=errors, status_code=422)
        await db.commit()
        return render(request, "recruit/thanks.html", status_code=201, community=community)


class RecruitmentController(Controller):
    """The community reviews: interview notes, approve (person + post + invite) or decline."""

    path = "/recruitment"
    guards = [signed_in]

    @get("/", name="recruit.nominations")
    async def list_nominations(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        communities = await party_queries.communities_for(db, viewer)
        code = request.query_params.get("community") or ""
        community = await party_queries.community_for(db, viewer, code) if code else None
        status = request.query_params.get("status", NominationStatus.pending)
        status = status if status in set(NominationStatus) or status == "all" else NominationStatus.pending
        rows = await service.nominations_for(db, viewer, community_path=community.path if community else "",
                                             status="" if status == "all" else status)
        return render(request, "recruit/nominations.html", rows=rows, communities=communities, community=community,
                      status=status, status_labels=STATUS_LABELS, position_labels=POSITION_LABELS,
                      helper_labels=HELPER_KIND_LABELS, way_labels=WAY_LABELS, tab="home", back_url="/")

    async def _page(self, request, db, viewer, nomination, *, errors=None, values=None, status_code=200,
                    revealed=False, saved=False):
        community = await db.get(GridNode, nomination.community_id)
        grid = await db.get(GridNode, nomination.grid_id) if nomination.grid_id else None
        person = await db.get(Person, nomination.person_id) if nomination.person_id else None
        grids = await service.grids_of(db, community, levels=(Level.compound, Level.building, Level.unit, Level.microgrid))
        microgrids = [g for g in grids if g.level == Level.microgrid]
        return render(request, "recruit/nomination.html", status_code=status_code, n=nomination, community=community,
                      grid=grid, person=person, errors=errors or {}, values=values or {}, revealed=revealed,
                      saved=saved, microgrid_options=_grid_options(microgrids),
                      helper_grid_options=_grid_options([g for g in grids if g.level in (Level.compound, Level.microgrid)]),
                      status_labels=STATUS_LABELS, position_labels=POSITION_LABELS, helper_labels=HELPER_KIND_LABELS,
                      way_labels=WAY_LABELS, tab="home", back_url=f"/recruitment?community={community.code}")

    @get("/{nomination_id:int}", name="recruit.nomination")
    async def show_nomination(self, request: Request, db: AsyncSession, viewer: Viewer, nomination_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        nomination = await service.get_nomination_for(db, viewer, nomination_id)
        return await self._page(request, db, viewer, nomination, saved=request.query_params.get("saved") == "1")

    @post("/{nomination_id:int}/phone", name="recruit.reveal_phone")
    async def reveal_phone(self, request: Request, db: AsyncSession, viewer: Viewer, nomination_id: PathId) -> Any:
        """The whole numbers, to phone for the interview: each reveal is in the audit log."""
        viewer.require_role(*service.REVIEW_ROLES)
        nomination = await service.get_nomination_for(db, viewer, nomination_id)
        record(db, "reveal_phone", viewer=viewer, object_type="nomination", object_id=nomination.id, request=request)
        await db.commit()
        return await self._page(request, db, viewer, nomination, revealed=True)

    @post("/{nomination_id:int}/notes", name="recruit.save_notes")
    async def save_interview_notes(self, request: Request, db: AsyncSession, viewer: Viewer,
                                   nomination_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        nomination = await service.get_nomination_for(db, viewer, nomination_id)
        form = _form(await request.form())
        errors = service.save_notes(db, viewer, nomination, form.get("interview_notes", ""), request)
        if errors:
            await db.rollback()
            return await self._page(request, db, viewer, nomination, status_code=422, values=form,
                                    errors={k: t(request, v) for k, v in errors.items()})
        await db.commit()
        return Redirect(path=f"/recruitment/{nomination.id}?saved=1", status_code=303)

    @post("/{nomination_id:int}/decision", name="recruit.decide")
    async def decide(self, request: Request, db: AsyncSession, viewer: Viewer, nomination_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        nomination = await service.get_nomination_for(db, viewer, nomination_id)
        form = _form(await request.form())
        settings = request.app.state.settings
        try:
            if form.get("decision") == "decline":
                await service.decline(db, viewer, nomination, form.get("reason", ""), request)
                invite, token = None, ""
            elif form.get("decision") == "approve":
                invite, token = await service.approve(db, viewer, nomination, form, invite_hours=settings.invite_hours,
                                                      request=request)
            else:
                raise service.Refused({"decision": service.MSG_CHOOSE})
        except service.Refused as exc:
            # All or nothing: a person or post made before the refusal goes with it.
            await db.rollback()
            nomination = await service.get_nomination_for(db, viewer, nomination_id)
            return await self._page(request, db, viewer, nomination, status_code=422, values=form,
                                    errors={k: t(request, v) for k, v in exc.errors.items()})
        await service.tell_nominee(db, nomination, await db.get(GridNode, nomination.community_id))
        await db.commit()
        if invite is None:
            return Redirect(path=f"/recruitment/{nomination.id}?saved=1", status_code=303)
        from server.accounts.routes import ROLE_LABELS

        person = await db.get(Person, invite.person_id)
        node = await db.get(GridNode, invite.node_id)
        url = invites.invite_url(settings.base_url, token)
        return render(request, "accounts/invite_issued.html", status_code=201, person=person, node=node,
                      role=Role.leader, role_labels=ROLE_LABELS, url=url, qr=invites.qr_svg_data_uri(url),
                      invite=invite, hours=settings.invite_hours)


class HelperController(Controller):
    """The helpers register (挖掘潜在人群): kept by the community's staff, per grid."""

    path = "/helpers"
    guards = [signed_in]

    async def _list(self, request, db, viewer, community, *, values=None, errors=None, status_code=200, saved=False):
        grids = await service.grids_of(db, community, levels=(Level.compound, Level.building, Level.unit, Level.microgrid))
        return render(request, "recruit/helpers.html", status_code=status_code, community=community,
                      communities=await party_queries.communities_for(db, viewer),
                      rows=await service.helpers_under(db, community.path),
                      grid_options=_grid_options([g for g in grids if g.level in (Level.compound, Level.microgrid)]),
                      kind_labels=HELPER_KIND_LABELS, values=values or {}, errors=errors or {}, saved=saved,
                      tab="home", back_url="/")

    async def _community(self, request, db, viewer) -> GridNode:
        communities = await party_queries.communities_for(db, viewer)
        code = request.query_params.get("community") or (communities[0].code if communities else "")
        if not code:
            raise NotFoundException()
        community = await party_queries.community_for(db, viewer, code)
        if not service.may_keep_helpers(viewer, community.path):
            raise NotFoundException()
        return community

    @get("/", name="recruit.helpers")
    async def list_helpers(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        community = await self._community(request, db, viewer)
        return await self._list(request, db, viewer, community, saved=request.query_params.get("saved") == "1")

    @post("/", name="recruit.add_helper")
    async def add_helper(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        form = _form(await request.form())
        community = await party_queries.community_for(db, viewer, form.get("community", ""))
        if not service.may_keep_helpers(viewer, community.path):
            raise NotFoundException()
        values, errors = service.helper_fields(form)
        node = await service.grid_in(db, community.path, form.get("grid", ""), service.HELPER_LEVELS)
        if node is None:
            errors["grid"] = service.MSG_GRID
        if errors:
            return await self._list(request, db, viewer, community, values=form, status_code=422,
                                    errors={k: t(request, v) for k, v in errors.items()})
        await service.add_helper(db, viewer, node, values, request)
        await db.commit()
        return Redirect(path=f"/helpers?community={community.code}&saved=1", status_code=303)

    async def _edit_page(self, request, db, helper, *, values=None, errors=None, status_code=200):
        node = await db.get(GridNode, helper.grid_id)
        community = await community_of_path(db, helper.grid_path)
        grids = await service.grids_of(db, community, levels=(Level.compound, Level.microgrid))
        return render(request, "recruit/helper.html", status_code=status_code, helper=helper, node=node,
                      community=community, grid_options=_grid_options(grids), kind_labels=HELPER_KIND_LABELS,
                      values=values or {}, errors=errors or {}, tab="home",
                      back_url=f"/helpers?community={community.code}")

    @get("/{helper_id:int}", name="recruit.helper")
    async def show_helper(self, request: Request, db: AsyncSession, viewer: Viewer, helper_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        helper = await service.get_helper_for(db, viewer, helper_id)
        return await self._edit_page(request, db, helper)

    @post("/{helper_id:int}", name="recruit.edit_helper")
    async def edit_helper(self, request: Request, db: AsyncSession, viewer: Viewer, helper_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        helper = await service.get_helper_for(db, viewer, helper_id)
        form = _form(await request.form())
        values, errors = service.helper_fields(form)
        node = await service.grid_in(db, service.community_of(helper.grid_path), form.get("grid", ""),
                                     service.HELPER_LEVELS)
        if node is None:
            errors["grid"] = service.MSG_GRID
        if errors:
            return await self._edit_page(request, db, helper, values=form, status_code=422,
                                         errors={k: t(request, v) for k, v in errors.items()})
        service.edit_helper(db, viewer, helper, node, values, request)
        await db.commit()
        community = await community_of_path(db, helper.grid_path)
        return Redirect(path=f"/helpers?community={community.code}&saved=1", status_code=303)

    @post("/{helper_id:int}/retire", name="recruit.retire_helper")
    async def retire_helper(self, request: Request, db: AsyncSession, viewer: Viewer, helper_id: PathId) -> Any:
        viewer.require_role(*service.REVIEW_ROLES)
        helper = await service.get_helper_for(db, viewer, helper_id)
        service.retire_helper(db, viewer, helper, request)
        await db.commit()
        community = await community_of_path(db, helper.grid_path)
        return Redirect(path=f"/helpers?community={community.code}&saved=1", status_code=303)


async def community_of_path(db: AsyncSession, path: str) -> GridNode:
    return (await db.execute(sa.select(GridNode).where(GridNode.path == service.community_of(path)))).scalar_one()


RECRUIT_HANDLERS = [JoinController, RecruitmentController, HelperController]
