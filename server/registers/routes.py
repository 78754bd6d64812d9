"""The registers' pages: import and export, editing the grid, households, people and posts,
handing a micro-grid over, property companies, and approving changes from the field.

For the street administrator (the whole street) and community staff (their community);
leaders only propose household changes (`POST /households/{id}/changes`, the no-JS way of
the `household_change` outbox record). Every write goes through server/registers/edits.py
or the import job, is audited, and is scoped by the Viewer.
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.audit import record
from server.accounts.auth import signed_in
from server.accounts.authority import covers_person
from server.accounts.models import AuditEntry, Person, PoliticalStatus, Post, Role, current_post
from server.accounts.routes import ROLE_LABELS, get_person_for
from server.accounts.scope import Viewer
from server.grid import queries as grid_queries
from server.grid.models import CareTag, GridNode, Household, Level, PropertyCompany
from server.registers import changes, edits, exporter, importer, jobs, reader
from server.registers.importer import may_add_under
from server.registers.models import ImportJob, JobStatus
from server.sync.service import CREATED, store_one
from server.validate import PathId
from server.web import render, request_language, t

REGISTER_ROLES = (Role.admin, Role.community)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEVEL_CHOICES = [Level.community, Level.compound, Level.building, Level.unit, Level.microgrid]


def _require_registers(viewer: Viewer) -> None:
    viewer.require_role(*REGISTER_ROLES)


def _form(data: Any) -> dict[str, Any]:
    """A posted form as a dict; repeated fields (care tags) as lists."""
    out: dict[str, Any] = {}
    items = data.multi_items() if hasattr(data, "multi_items") else data.items()
    for key, value in items:
        if key.startswith("_"):
            continue
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    if "care_tags" in out and isinstance(out["care_tags"], str):
        out["care_tags"] = [out["care_tags"]]
    return out


def _translated(request: Request, errors: dict[str, str]) -> dict[str, str]:
    return {k: t(request, v) for k, v in errors.items()}


async def _history(db: AsyncSession, object_type: str, object_id: Any, limit: int = 30) -> list:
    return list((await db.execute(
        sa.select(AuditEntry, Person.name).outerjoin(Person, Person.id == AuditEntry.person_id)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.id.desc()).limit(limit)
    )).all())


def _labels() -> dict[str, Any]:
    return {"level_words": {k.value: v for k, v in importer.sheets.LEVEL_WORDS.items()},
            "care_options": [t.value for t in CareTag], "role_labels": ROLE_LABELS,
            "political_options": [p.value for p in PoliticalStatus], "change_labels": changes.CHANGE_LABELS}


class RegistersController(Controller):
    path = "/registers"
    guards = [signed_in]

    # --- the hub, export, template ---------------------------------------------------

    @get("/", name="registers.index")
    async def show_registers(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        _require_registers(viewer)
        roots = await grid_queries.root_nodes_for(db, viewer)
        pending = len(await changes.pending_for(db, viewer))
        return render(request, "registers/index.html", roots=roots, pending=pending)

    @get("/template.xlsx", name="registers.template")
    async def download_template(self, viewer: Viewer) -> Response:
        _require_registers(viewer)
        return Response(exporter.template_workbook(), media_type=XLSX, headers={
            "content-disposition": "attachment; filename*=UTF-8''%E8%8A%B1%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx",
            "cache-control": "no-store"})

    @get("/export.xlsx", name="registers.export")
    async def export_registers(self, request: Request, db: AsyncSession, viewer: Viewer,
                               grid: str = Parameter(default="", max_length=40)) -> Response:
        """Whole phone numbers of residents and staff: audited like every export."""
        _require_registers(viewer)
        if grid:
            node = await grid_queries.get_node_for(db, viewer, grid)
            roots = [node.path]
        else:
            roots = list(viewer.grid_paths)
        content, counts = await exporter.export_workbook(db, roots, all_companies=viewer.is_admin and not grid)
        record(db, "export", viewer=viewer, object_type="registers", object_id=grid or ",".join(roots)[:64],
               request=request, rows=counts)
        await db.commit()
        return Response(content, media_type=XLSX, headers={
            "content-disposition": "attachment; filename*=UTF-8''%E8%8A%B1%E5%90%8D%E5%86%8C.xlsx",
            "cache-control": "no-store"})

    # --- import ------------------------------------------------------------------------

    @get("/import", name="registers.import_page")
    async def show_import(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        _require_registers(viewer)
        recent = list((await db.execute(
            sa.select(ImportJob).where(ImportJob.person_id == viewer.person_id)
            .order_by(ImportJob.created_at.desc()).limit(10)
        )).scalars())
        return render(request, "registers/import.html", recent=recent, error="")

    @post("/import", name="registers.upload", request_max_body_size=reader.MAX_BYTES + 64 * 1024)
    async def upload(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        _require_registers(viewer)
        upload = (await request.form()).get("file")
        error = ""
        content = b""
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = t(request, "Choose the file to import.")
        else:
            content = await upload.read(reader.MAX_BYTES + 1)
            if len(content) > reader.MAX_BYTES:
                error = t(request, reader.MSG_TOO_BIG)
            elif not content:
                error = t(request, reader.MSG_NOT_WORKBOOK)
        if error:
            return render(request, "registers/import.html", status_code=422, recent=[], error=error)
        job = ImportJob(person_id=viewer.person_id, filename=upload.filename[-200:], sha256=importer.sha256_of(content),
                        size=len(content), content=content, status=JobStatus.checking.value)
        db.add(job)
        await db.commit()
        jobs.start_check(request.app.state.sessionmaker, job.id, viewer)
        return Redirect(path=f"/registers/import/{job.id}", status_code=303)

    async def _job(self, db: AsyncSession, viewer: Viewer, job_id: uuid.UUID) -> ImportJob:
        _require_registers(viewer)
        job = await db.get(ImportJob, job_id)
        if job is None or job.person_id != viewer.person_id:
            raise NotFoundException()
        return job

    @get("/import/{job_id:uuid}", name="registers.job")
    async def show_job(self, request: Request, db: AsyncSession, viewer: Viewer, job_id: uuid.UUID) -> object:
        """The job's page; htmx polls it (the `_job.html` part) while the job runs."""
        job = await self._job(db, viewer, job_id)
        phase, done, total = jobs.progress_of(job)
        return render(request, "registers/job.html", partial="registers/_job.html", job=job, phase=phase, done=done,
                      total=total, interrupted=jobs.is_interrupted(job),
                      running=job.status in (JobStatus.checking, JobStatus.applying) and not jobs.is_interrupted(job),
                      sheet_titles=[s.title for s in importer.sheets.SHEETS])

    @post("/import/{job_id:uuid}/apply", name="registers.apply")
    async def apply_import(self, request: Request, db: AsyncSession, viewer: Viewer, job_id: uuid.UUID) -> Redirect:
        job = await self._job(db, viewer, job_id)
        ready = job.status == JobStatus.checked and job.problem_count == 0
        if (ready or (job.status == JobStatus.applying and jobs.is_interrupted(job))) and job.content:
            job.status, job.updated_at = JobStatus.applying.value, jobs.utcnow()
            await db.commit()
            jobs.start_apply(request.app.state.sessionmaker, job.id, viewer)
        return Redirect(path=f"/registers/import/{job.id}", status_code=303)

    @post("/import/{job_id:uuid}/check", name="registers.recheck")
    async def check_again(self, request: Request, db: AsyncSession, viewer: Viewer, job_id: uuid.UUID) -> Redirect:
        job = await self._job(db, viewer, job_id)
        if job.content and (job.status in (JobStatus.checked, JobStatus.failed) or jobs.is_interrupted(job)):
            job.status, job.updated_at, job.error = JobStatus.checking.value, jobs.utcnow(), ""
            await db.commit()
            jobs.start_check(request.app.state.sessionmaker, job.id, viewer)
        return Redirect(path=f"/registers/import/{job.id}", status_code=303)

    # --- the grid ----------------------------------------------------------------------

    async def _node_page(self, request: Request, db: AsyncSession, viewer: Viewer, node: GridNode, *,
                         errors=None, form=None, status_code: int = 200) -> object:
        trail = await grid_queries.ancestors(db, node)
        children = list((await db.execute(
            sa.select(GridNode).where(GridNode.parent_id == node.id).order_by(GridNode.retired_at.is_not(None),
                                                                            GridNode.sort_order, GridNode.code)
        )).scalars())
        companies = list((await db.execute(sa.select(PropertyCompany).order_by(PropertyCompany.name))).scalars())
        leaders = await grid_queries.leaders_of(db, node) if node.level == Level.microgrid else []
        allowed_levels = [lv.value for lv in LEVEL_CHOICES if importer.sheets.LEVEL_RANK[lv] > importer.sheets.LEVEL_RANK[Level(node.level)]]
        return render(request, "registers/node.html", status_code=status_code, node=node, trail=trail,
                      children=children, companies=companies, leaders=leaders, allowed_levels=allowed_levels,
                      history=await _history(db, "grid_node", node.id), errors=errors or {}, form=form or {},
                      can_edit=viewer.may_edit(node.path), can_add=may_add_under(viewer, node.path), **_labels())

    @get("/grid/{code:str}", name="registers.node")
    async def show_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        return await self._node_page(request, db, viewer, node)

    @post("/grid/{code:str}", name="registers.save_node")
    async def save_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
                        data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        errors = await edits.rename_node(db, viewer, node, data, request)
        if not errors and "company_id" in data:
            company = data.get("company_id") or ""
            errors = await edits.set_node_company(db, viewer, node, int(company) if company.isdigit() else None, request)
        return await self._after(request, db, viewer, node, errors, data)

    async def _after(self, request: Request, db: AsyncSession, viewer: Viewer, node: GridNode, errors: dict,
                     form: dict) -> object:
        node_id = sa.inspect(node).identity[0]  # read before the rollback expires the row
        if errors:
            await db.rollback()
            node = await db.get(GridNode, node_id)
            return await self._node_page(request, db, viewer, node, errors=_translated(request, errors), form=form,
                                         status_code=422)
        await db.commit()
        code = (await db.execute(sa.select(GridNode.code).where(GridNode.id == node_id))).scalar_one()
        return Redirect(path=f"/registers/grid/{code}", status_code=303)

    @post("/grid/{code:str}/children", name="registers.add_node")
    async def add_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
                       data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        parent = await edits.get_editable_node(db, viewer, code)
        child, errors = await edits.add_node(db, viewer, parent, data, request)
        if errors:
            return await self._after(request, db, viewer, parent, errors, data)
        await db.commit()
        return Redirect(path=f"/registers/grid/{child.code}", status_code=303)

    @post("/grid/{code:str}/move", name="registers.move_node")
    async def move_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
                        data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        errors = await edits.move_node(db, viewer, node, data.get("parent", ""), request)
        return await self._after(request, db, viewer, node, errors, data)

    @post("/grid/{code:str}/retire", name="registers.retire_node")
    async def retire_node(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        errors = await edits.retire_node(db, viewer, node, request)
        return await self._after(request, db, viewer, node, errors, {})

    # --- handover ----------------------------------------------------------------------

    async def _microgrid(self, db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
        _require_registers(viewer)
        node = await grid_queries.get_node_for(db, viewer, code)
        if node.level != Level.microgrid or not viewer.may_appoint(Role.leader, node.path):
            raise PermissionDeniedException("Your role may not do this")
        return node

    async def _handover_page(self, request, db, viewer, node, *, errors=None, form=None, status_code=200):
        leaders = await grid_queries.leaders_of(db, node)
        # Candidates: leaders already working in the same community, most likely to take over.
        community = node.path[:16]
        candidates = list((await db.execute(
            sa.select(Person).join(Post, Post.person_id == Person.id)
            .where(Post.role == Role.leader, current_post(), Post.node_path.startswith(community))
            .group_by(Person.id).order_by(Person.name, Person.id).limit(300)
        )).scalars())
        trail = await grid_queries.ancestors(db, node)
        return render(request, "registers/handover.html", status_code=status_code, node=node, trail=trail,
                      leaders=leaders, candidates=candidates, errors=errors or {}, form=form or {"post_kind": "A"})

    @get("/grid/{code:str}/handover", name="registers.handover_form")
    async def show_handover(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        node = await self._microgrid(db, viewer, code)
        return await self._handover_page(request, db, viewer, node)

    @post("/grid/{code:str}/handover", name="registers.hand_over")
    async def hand_over(self, request: Request, db: AsyncSession, viewer: Viewer, code: str,
                        data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        node = await self._microgrid(db, viewer, code)
        form = {k: (data.get(k) or "").strip() for k in ("person_id", "name", "phone", "post_kind")}
        person, errors = await edits.find_or_new_person(db, viewer, form if form["person_id"] else
                                                        {k: form[k] for k in ("name", "phone")})
        if not errors:
            _post, errors = await edits.hand_over(db, viewer, node, form["post_kind"], person, request)
        if errors:
            await db.rollback()
            node = await grid_queries.get_node_for(db, viewer, code)
            return await self._handover_page(request, db, viewer, node, errors=_translated(request, errors), form=form,
                                             status_code=422)
        await db.commit()
        return Redirect(path=f"/grid/{node.code}", status_code=303)

    # --- households --------------------------------------------------------------------

    async def _editable_household(self, db: AsyncSession, viewer: Viewer, household_id: int) -> Household:
        _require_registers(viewer)
        household = await grid_queries.get_household_for(db, viewer, household_id)
        if not viewer.may_edit(household.grid_path):
            raise PermissionDeniedException("Your role may not do this")
        return household

    async def _household_page(self, request, db, viewer, household, *, errors=None, form=None, status_code=200):
        node = await db.get(GridNode, household.microgrid_id)
        trail = await grid_queries.ancestors(db, node)
        return render(request, "registers/household.html", status_code=status_code, household=household, node=node,
                      trail=trail + [node], errors=errors or {}, form=form or household.model_dump(),
                      history=await _history(db, "household", household.id), **_labels())

    @get("/grid/{code:str}/households/new", name="registers.new_household")
    async def new_household(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        return render(request, "registers/household_new.html", node=node, errors={}, form={"members": 1}, **_labels())

    @post("/grid/{code:str}/households", name="registers.add_household")
    async def add_household(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        _require_registers(viewer)
        node = await edits.get_editable_node(db, viewer, code)
        form = _form(await request.form())
        household, errors = await edits.add_household(db, viewer, node, form, request)
        if errors:
            await db.rollback()
            node = await grid_queries.get_node_for(db, viewer, code)
            return render(request, "registers/household_new.html", status_code=422, node=node,
                          errors=_translated(request, errors), form=form, **_labels())
        await db.commit()
        return Redirect(path=f"/households/{household.id}", status_code=303)

    @get("/households/{household_id:int}", name="registers.household")
    async def show_household(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household = await self._editable_household(db, viewer, household_id)
        return await self._household_page(request, db, viewer, household)

    @post("/households/{household_id:int}", name="registers.save_household")
    async def save_household(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household = await self._editable_household(db, viewer, household_id)
        form = _form(await request.form())
        values, errors = edits.household_fields(form)
        if not errors:
            errors = await edits.edit_household(db, viewer, household, values, request)
        return await self._household_done(request, db, viewer, household, errors, form)

    async def _household_done(self, request, db, viewer, household, errors, form):
        household_id = sa.inspect(household).identity[0]
        if errors:
            await db.rollback()
            household = await db.get(Household, household_id)
            return await self._household_page(request, db, viewer, household, errors=_translated(request, errors),
                                              form={**household.model_dump(), **form}, status_code=422)
        await db.commit()
        return Redirect(path=f"/registers/households/{household_id}", status_code=303)

    @post("/households/{household_id:int}/move", name="registers.move_household")
    async def move_household(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId,
                             data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        household = await self._editable_household(db, viewer, household_id)
        errors = await edits.move_household(db, viewer, household, data.get("microgrid", ""), request)
        return await self._household_done(request, db, viewer, household, errors, data)

    @post("/households/{household_id:int}/left", name="registers.household_left")
    async def household_left(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId,
                             data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        household = await self._editable_household(db, viewer, household_id)
        errors = await edits.household_left(db, viewer, household, data.get("status", ""), request)
        return await self._household_done(request, db, viewer, household, errors, data)

    # --- people and posts --------------------------------------------------------------

    async def _person_page(self, request, db, viewer, person, *, errors=None, form=None, status_code=200):
        posts = list((await db.execute(
            sa.select(Post, GridNode).join(GridNode, GridNode.id == Post.node_id)
            .where(Post.person_id == person.id).order_by(Post.ended_on.is_not(None), GridNode.path)
        )).all())
        covered = await covers_person(db, viewer, person.id)
        return render(request, "registers/person.html", status_code=status_code, person=person, posts=posts,
                      covered=covered, errors=errors or {}, form=form or person.model_dump(),
                      appointable=[r.value for r in Role if any(r in edits.sheets.ROLE_LEVELS and viewer.may_appoint(r, p.path) for p in viewer.posts)],
                      history=await _history(db, "person", person.id), **_labels())

    @get("/people/{person_id:int}", name="registers.person")
    async def show_person(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId) -> object:
        _require_registers(viewer)
        person = await get_person_for(db, viewer, person_id)
        return await self._person_page(request, db, viewer, person)

    @post("/people/{person_id:int}", name="registers.save_person")
    async def save_person(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId,
                          data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        person = await get_person_for(db, viewer, person_id)
        errors = await edits.edit_person(db, viewer, person, data, request)
        if errors:
            await db.rollback()
            person = await db.get(Person, person_id)
            return await self._person_page(request, db, viewer, person, errors=_translated(request, errors), form=data,
                                           status_code=422)
        await db.commit()
        return Redirect(path=f"/registers/people/{person_id}", status_code=303)

    @post("/people/{person_id:int}/posts", name="registers.appoint")
    async def appoint(self, request: Request, db: AsyncSession, viewer: Viewer, person_id: PathId,
                      data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        person = await get_person_for(db, viewer, person_id)
        node = (await db.execute(sa.select(GridNode).where(GridNode.code == (data.get("grid") or "").strip()))).scalar_one_or_none()
        if node is None or not viewer.sees_path(node.path):
            errors = {"grid": edits.MSG_NOT_FOUND_CODE}
        else:
            _post, errors = await edits.appoint(db, viewer, person, node, data.get("role", ""), data.get("post_kind"),
                                                data.get("title", ""), request)
        if errors:
            await db.rollback()
            person = await db.get(Person, person_id)
            return await self._person_page(request, db, viewer, person, errors=_translated(request, errors),
                                           form={**person.model_dump(), **data}, status_code=422)
        await db.commit()
        return Redirect(path=f"/registers/people/{person_id}", status_code=303)

    @post("/posts/{post_id:int}/end", name="registers.end_post")
    async def end_post(self, request: Request, db: AsyncSession, viewer: Viewer, post_id: PathId) -> Redirect:
        _require_registers(viewer)
        post_row = await db.get(Post, post_id)
        if post_row is None or not viewer.sees_path(post_row.node_path):
            raise NotFoundException()
        await edits.end_post(db, viewer, post_row, request)
        await db.commit()
        return Redirect(path=f"/registers/people/{post_row.person_id}", status_code=303)

    # --- property companies ------------------------------------------------------------

    async def _companies_page(self, request, db, viewer, *, errors=None, form=None, status_code=200):
        companies = list((await db.execute(sa.select(PropertyCompany).order_by(PropertyCompany.name))).scalars())
        served = {}
        for company_id, node in (await db.execute(
            sa.select(GridNode.property_company_id, GridNode)
            .where(GridNode.property_company_id.is_not(None), GridNode.retired_at.is_(None),
                   viewer.subtree_clause(GridNode.path)).order_by(GridNode.path)
        )).all():
            served.setdefault(company_id, []).append(node)
        return render(request, "registers/companies.html", status_code=status_code, companies=companies, served=served,
                      errors=errors or {}, form=form or {})

    @get("/companies", name="registers.companies")
    async def list_companies(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        _require_registers(viewer)
        return await self._companies_page(request, db, viewer)

    @post("/companies", name="registers.add_company")
    async def add_company(self, request: Request, db: AsyncSession, viewer: Viewer,
                          data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        return await self._save_company(request, db, viewer, None, data)

    @post("/companies/{company_id:int}", name="registers.save_company")
    async def save_company(self, request: Request, db: AsyncSession, viewer: Viewer, company_id: PathId,
                           data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> object:
        _require_registers(viewer)
        company = await db.get(PropertyCompany, company_id)
        if company is None:
            raise NotFoundException()
        return await self._save_company(request, db, viewer, company, data)

    async def _save_company(self, request, db, viewer, company, data):
        _company, errors = await edits.save_company(db, viewer, company, data, request)
        if errors:
            await db.rollback()
            return await self._companies_page(request, db, viewer, errors=_translated(request, errors), form=data,
                                              status_code=422)
        await db.commit()
        return Redirect(path="/registers/companies", status_code=303)

    # --- approving changes from the field ----------------------------------------------

    @get("/changes", name="registers.changes")
    async def list_changes(self, request: Request, db: AsyncSession, viewer: Viewer) -> object:
        _require_registers(viewer)
        return render(request, "registers/changes.html", rows=await changes.pending_for(db, viewer), errors={},
                      **_labels())

    @post("/changes/{change_id:str}/approve", name="registers.approve_change")
    async def approve_change(self, request: Request, db: AsyncSession, viewer: Viewer, change_id: str) -> object:
        _require_registers(viewer)
        change = await changes.get_change_for(db, viewer, change_id)
        errors = await changes.approve(db, viewer, change, request)
        if errors:
            await db.rollback()
            return render(request, "registers/changes.html", status_code=422, rows=await changes.pending_for(db, viewer),
                          errors={change_id: " ".join(t(request, e) for e in errors.values())}, **_labels())
        await db.commit()
        return Redirect(path="/registers/changes", status_code=303)

    @post("/changes/{change_id:str}/reject", name="registers.reject_change")
    async def reject_change(self, request: Request, db: AsyncSession, viewer: Viewer, change_id: str,
                            data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> Redirect:
        _require_registers(viewer)
        change = await changes.get_change_for(db, viewer, change_id)
        changes.reject(db, viewer, change, data.get("reason", ""), request)
        await db.commit()
        return Redirect(path="/registers/changes", status_code=303)


class ProposalController(Controller):
    """A leader's proposals, posted without JavaScript (the outbox sends the same record to /api/sync)."""

    path = ""
    guards = [signed_in]

    @post("/households/{household_id:int}/changes", name="registers.propose_change")
    async def propose_change(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        household = await grid_queries.get_household_for(db, viewer, household_id)
        form = _form(await request.form())
        form.pop("id", None)
        data = {k: v for k, v in form.items() if v not in ("", None)}
        data["household_id"] = household.id
        if "members" in data:
            data["members"] = int(data["members"]) if str(data["members"]).isdigit() else data["members"]
        result = await store_one(db, viewer, "household_change", data, request_language(request))
        # Ids only from here: a store that fell back to record-by-record detached what was loaded.
        if result.status == CREATED:
            return Redirect(path=f"/households/{household_id}", status_code=303)
        return render(request, "registers/proposal_rejected.html", status_code=422, errors=result.errors,
                      back_url=f"/households/{household_id}")

    @post("/grid/{code:str}/move-ins", name="registers.propose_move_in")
    async def propose_move_in(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> object:
        node = await grid_queries.get_node_for(db, viewer, code)
        form = _form(await request.form())
        form.pop("id", None)
        data = {k: v for k, v in form.items() if v not in ("", None)}
        data.update(kind="moved_in", microgrid_id=node.id)
        node_code = node.code  # read before the store: one that falls back to record-by-record detaches it
        if "members" in data:
            data["members"] = int(data["members"]) if str(data["members"]).isdigit() else data["members"]
        result = await store_one(db, viewer, "household_change", data, request_language(request))
        if result.status == CREATED:
            return Redirect(path=f"/grid/{node_code}", status_code=303)
        return render(request, "registers/proposal_rejected.html", status_code=422, errors=result.errors,
                      back_url=f"/grid/{node_code}")

    @get("/households/{household_id:int}/changes", name="registers.household_changes")
    async def household_changes(self, request: Request, db: AsyncSession, viewer: Viewer, household_id: PathId) -> object:
        """The changes waiting for approval on this household (a lazy part of its page)."""
        household = await grid_queries.get_household_for(db, viewer, household_id)
        return render(request, "registers/_pending.html", pending=await changes.pending_of_household(db, household.id),
                      household=household, **_labels())


REGISTERS_HANDLERS: list = [RegistersController, ProposalController]
