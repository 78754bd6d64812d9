"""Patrol pages: the calendar, a compound's history and trend, the on-site checklist,
a patrol's report (print, .xlsx), and the checklist templates.

The checklist form posts to the outbox when the page has JavaScript (static/js/patrol.js
turns the form into one `patrol` record); without it, the form posts here and is stored
through `store_one`: the same type, the same `apply_patrol`, one way into the database.
"""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server import photos
from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Level
from server.i18n import N_
from server.issues.scope import can_see as can_see_issue
from server.patrols import export, queries
from server.patrols import records as patrol_records
from server.patrols.chart import pass_rate_chart
from server.patrols.models import (
    PARTICIPANT_ROLES, RESULT_LABELS, RURAL, PatrolAnswer, PatrolItem, PatrolTemplate, PatrolTemplateVersion, Result,
)
from server.recruit import service as recruit_service
from server.recruit.models import HELPER_KIND_LABELS, HELPER_PATROL_ROLE
from server.sync.service import CREATED, DUPLICATE, store_one
from server.validate import PathId, ascii_int, parse_id
from server.web import render, request_language, t

# Roles of roster people, as participant roles.
ROSTER_ROLE = {Role.leader: "leader", Role.compound: "staff", Role.community: "staff", Role.property: "property",
               Role.admin: "staff"}
# A grid Party branch's secretary or committee member takes part as 支委 (the seed's list).
OFFICE_ROLE = {"branch_secretary": "branch_committee", "branch_member": "branch_committee"}
# Who puts an item on the joint-analysis list: the staff who run the monthly meetings.
ANALYSIS_ROLES = (Role.admin, Role.community, Role.compound)
GUEST_ROWS = 3
NEW_ITEM_ROWS = 3


def _int(value: Any) -> int | None:
    return parse_id(value)


def _client_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def form_to_record(form, version_items: list[PatrolItem] | None = None) -> dict[str, Any]:
    """The checklist form as a `patrol` record's data (what patrol.js builds in the browser)."""
    answers = []
    for key in form.keys():
        if not key.startswith("result-"):
            continue
        item_id = _int(key.removeprefix("result-"))
        result = form.get(key)
        if item_id is None or result not in set(Result):
            continue
        handling = form.get(f"handling-{item_id}") or ""
        answers.append({
            "item_id": item_id, "result": result, "note": (form.get(f"note-{item_id}") or "").strip()[:500],
            "fixed_on_spot": result == Result.failed and handling == "fixed",
            "problem_id": "problem" if result == Result.failed and handling == "problem" else None,
        })
    participants = []
    for person_id in form.getall("participant", []):
        if (pid := _int(person_id)) is not None:
            role = form.get(f"participant_role-{pid}") or "other"
            participants.append({"role": role if role in PARTICIPANT_ROLES else "other",
                                 "name": form.get(f"participant_name-{pid}") or "-", "person_id": pid})
    # Helpers from the community's register (居民小组长, 楼栋长, 志愿者 ...): named like guests, no account.
    for helper_id in form.getall("helper", []):
        if (hid := _int(helper_id)) is not None:
            role = form.get(f"helper_role-{hid}") or "other"
            name = (form.get(f"helper_name-{hid}") or "").strip()
            if name:
                participants.append({"role": role if role in PARTICIPANT_ROLES else "other", "name": name[:40]})
    for i in range(GUEST_ROWS):
        name = (form.get(f"guest_name-{i}") or "").strip()
        if name:
            role = form.get(f"guest_role-{i}") or "other"
            participants.append({"role": role if role in PARTICIPANT_ROLES else "other", "name": name[:40]})
    return {
        "compound_id": _int(form.get("compound_id")) or 0,
        "template_version_id": _int(form.get("template_version_id")) or 0,
        "answers": answers,
        "participants": participants,
        "notes": (form.get("notes") or "").strip()[:1000],
    }


class PatrolController(Controller):
    path = "/patrols"
    guards = [signed_in]

    @get("/", name="patrols.calendar")
    async def show_calendar(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*queries.PATROL_ROLES)
        state = request.query_params.get("state") or ""
        months, rows = await queries.calendar(db, viewer)
        counts = {s: sum(1 for r in rows if r.state == s) for s in ("done", "due", "overdue")}
        shown = [r for r in rows if r.state == state] if state in counts else rows
        return render(request, "patrols/calendar.html", months=months, rows=shown, counts=counts, state=state,
                      due_day=queries.DUE_DAY, tab="patrols",
                      may_edit_templates=viewer.has_role(*queries.TEMPLATE_ROLES))

    @get("/compounds/{code:str}", name="patrols.compound")
    async def show_compound(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        viewer.require_role(*queries.PATROL_ROLES)
        compound = await queries.get_compound_for(db, viewer, code)
        rates = await queries.monthly_rates(db, compound)
        patrols = await queries.patrols_of(db, compound)
        this_month = queries.months_back(1)[0]
        return render(request, "patrols/compound.html", compound=compound, patrols=patrols,
                      chart=pass_rate_chart(rates), rates=rates,
                      repeated=await queries.repeated_failures(db, compound),
                      done_this_month=any(p.month == this_month for p in patrols),
                      may_flag=viewer.has_role(*ANALYSIS_ROLES) and viewer.sees_path(compound.path),
                      flagged=request.query_params.get("flagged"),
                      checklist_template=await queries.template_for(db, compound.path, compound.kind),
                      back_url="/patrols", tab="patrols")

    @get("/compounds/{code:str}/export.xlsx", name="patrols.export_history")
    async def export_history(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Response:
        """The compound's last 12 patrols side by side, for the monthly analysis meeting (audited)."""
        viewer.require_role(*queries.PATROL_ROLES)
        compound = await queries.get_compound_for(db, viewer, code)
        patrols = list(reversed(await queries.patrols_of(db, compound, limit=12)))
        grid, items = await queries.answer_grid(db, patrols)
        community = await db.get(GridNode, compound.parent_id) if compound.parent_id else None
        body = export.history_workbook(compound, community.name if community else "", patrols, grid, items,
                                       await queries.repeated_failures(db, compound))
        audit.record(db, "export", viewer=viewer, object_type="patrol_history", object_id=compound.code,
                     request=request, format="xlsx", patrols=len(patrols))
        await db.commit()
        filename = f"联动巡查记录-{compound.name}.xlsx"
        return Response(body, media_type=export.XLSX, headers={
            "content-disposition": f"attachment; filename=\"patrols-{compound.code}.xlsx\"; filename*=UTF-8''{quote(filename)}",
            "cache-control": "no-store",
        })

    @get("/compounds/{code:str}/new", name="patrols.new")
    async def new_patrol(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        viewer.require_role(*queries.PATROL_ROLES)
        compound = await queries.get_compound_for(db, viewer, code)
        return await _checklist(request, db, viewer, compound, {}, {})

    @post("/compounds/{code:str}", name="patrols.record", request_max_body_size=40 * 1024 * 1024)
    async def record_patrol(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        """The checklist posted without JavaScript (online): stored by the sync type's own apply."""
        viewer.require_role(*queries.PATROL_ROLES)
        compound = await queries.get_compound_for(db, viewer, code)
        form = await request.form()
        data = form_to_record(form)
        data["compound_id"] = compound.id
        record_id = _client_uuid(form.get("id")) or str(uuid.uuid4())
        values = {k: v for k in form.keys() if isinstance(v := form.get(k), str)}
        values["participant"] = form.getall("participant", [])
        values["helper"] = form.getall("helper", [])
        # Each item's photos, as patrol.js would send them: checked and shrunk before anything is stored.
        item_photos: dict[str, photos.CleanPhoto] = {}
        try:
            for answer in data["answers"]:
                cleaned = await photos.read_form_photos(form, f"photo-{answer['item_id']}")
                answer["photos"] = [str(uuid.uuid4()) for _ in cleaned]
                item_photos.update(zip(answer["photos"], cleaned))
        except photos.PhotoRefused as refused:
            return await _checklist(request, db, viewer, compound, values,
                                    {"photos": t(request, refused.message, **refused.params)}, status_code=refused.status)
        for answer in data["answers"]:
            if answer["problem_id"]:
                # Derived from the patrol's id: resending the same form makes the same problems.
                answer["problem_id"] = str(uuid.uuid5(uuid.UUID(record_id), f"problem-{answer['item_id']}"))
        result = await store_one(db, viewer, "patrol", data, request_language(request), record_id=record_id)
        if result.status == CREATED and item_photos:
            for photo_id, photo in item_photos.items():
                await photos.store_photo(db, photo_id=uuid.UUID(photo_id), record_id=uuid.UUID(record_id),
                                         person_id=viewer.person_id, photo=photo, max_photos=patrol_records.PATROL.max_photos)
            await db.commit()
        if result.status in (CREATED, DUPLICATE):
            return Redirect(path=f"/patrols/{result.id}?saved=1", status_code=303)
        return await _checklist(request, db, viewer, compound, values, result.errors, status_code=422)

    @post("/compounds/{code:str}/analysis", name="patrols.flag_for_analysis")
    async def flag_for_analysis(self, request: Request, db: AsyncSession, viewer: Viewer, code: str) -> Any:
        """Apply for an item that keeps failing to go on the joint-analysis agenda (联动分析).

        The list is the ledger's: an open problem whose application the secretary accepts.
        The item's latest problem carries the application; when every failure was fixed on the spot, a problem is
        made for it first. Both go through the ledger's sync types, like everything else.
        """
        viewer.require_role(*ANALYSIS_ROLES)
        compound = await queries.get_compound_for(db, viewer, code)
        form = await request.form()
        key = form.get("item_key") or ""
        repeated = {f.key: f for f in await queries.repeated_failures(db, compound)}
        failure = repeated.get(key)
        if failure is None:
            raise NotFoundException()
        lang = request_language(request)
        reason = t(request, "Failed in %(n)s patrols since %(month)s.", n=failure.failures, month=failure.months[0])
        issue = failure.issue
        if issue is None or not issue.is_open():
            categories = await queries.categories_by_code(db)
            category = categories.get(failure.category_code) or categories.get("other")
            made = await store_one(db, viewer, "issue", {
                "node_id": compound.id, "category_id": category.id, "source": "patrol",
                "description": f"{failure.section}·{failure.title}：{reason}",
            }, lang)
            if made.status not in (CREATED, DUPLICATE):
                raise PermissionDeniedException("; ".join(made.errors.values()))
            issue_id = made.id
            # The item's latest failure now leads to this problem: the page and the next
            # re-check follow it from there.
            latest = (await db.execute(
                sa.select(PatrolAnswer).where(PatrolAnswer.compound_path == compound.path, PatrolAnswer.item_key == key,
                                              PatrolAnswer.result == Result.failed)
                .order_by(PatrolAnswer.month.desc(), PatrolAnswer.id).limit(1)
            )).scalar_one()
            latest.issue_id = issue_id
            await db.commit()
        elif issue.flagged or issue.analysis_status in ("applied", "accepted"):
            return Redirect(path=f"/patrols/compounds/{compound.code}?flagged={quote(key)}", status_code=303)
        else:
            issue_id = issue.id
        # An application to the secretary (问题、理由), like the leader on duty's: she decides the agenda.
        flagged = await store_one(db, viewer, "issue_event", {
            "issue_id": issue_id, "kind": "apply_analysis", "problem": f"{failure.section}·{failure.title}"[:200],
            "reason": reason}, lang)
        if flagged.status not in (CREATED, DUPLICATE):
            raise PermissionDeniedException("; ".join(flagged.errors.values()))
        return Redirect(path=f"/patrols/compounds/{compound.code}?flagged={quote(key)}", status_code=303)

    @get("/templates", name="patrols.templates")
    async def list_templates(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*queries.TEMPLATE_ROLES)
        templates = await queries.templates_for(db, viewer)
        owned = {t.owner_path for t, _editable in templates}
        communities = [c for c in await _communities_for(db, viewer) if c.path not in owned]
        return render(request, "patrols/templates.html", templates=templates, communities=communities,
                      back_url="/patrols", tab="patrols")

    @post("/templates", name="patrols.create_template")
    async def create_template(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """A community's own checklist, starting as a copy of the one its compounds use now."""
        viewer.require_role(*queries.TEMPLATE_ROLES)
        form = await request.form()
        community = await db.get(GridNode, _int(form.get("community_id")) or 0)
        if community is None or community.level != Level.community or not (
            viewer.is_admin or any(p.role == Role.community and community.path.startswith(p.path) for p in viewer.posts)
        ):
            raise NotFoundException()
        existing = (await db.execute(sa.select(PatrolTemplate).where(PatrolTemplate.owner_path == community.path))).scalar_one_or_none()
        if existing is None:
            source = await queries.template_for(db, community.path)
            items = await queries.version_items(db, source.current_version_id)
            existing = PatrolTemplate(name=f"{community.name}{source.name}", owner_node_id=community.id,
                                      owner_path=community.path)
            db.add(existing)
            await db.flush()
            await _publish(db, viewer, existing, [_copy(i) for i in items],
                           t(request, "Copied from %(name)s", name=source.name))
            audit.record(db, "create_template", viewer=viewer, object_type="patrol_template", object_id=existing.id,
                         request=request, community=community.code)
            await db.commit()
        return Redirect(path=f"/patrols/templates/{existing.id}", status_code=303)

    @get("/templates/{template_id:int}", name="patrols.template")
    async def show_template(self, request: Request, db: AsyncSession, viewer: Viewer, template_id: PathId) -> Any:
        template = await _template_for(db, viewer, template_id)
        return await _template_page(request, db, template, {}, {}, kind=_kind(request.query_params.get("kind"), template))

    @post("/templates/{template_id:int}", name="patrols.publish_version")
    async def publish_version(self, request: Request, db: AsyncSession, viewer: Viewer, template_id: PathId) -> Any:
        """Saving the checklist publishes a new version; patrols keep the version they used."""
        template = await _template_for(db, viewer, template_id)
        form = await request.form()
        kind = _kind(form.get("kind"), template)  # the estates' checklist, or the settlements' (散居林盘)
        categories = await queries.categories_by_code(db)
        current = {i.key: i for i in await queries.version_items(db, template.version_for(kind))}
        rows, errors = [], {}
        count = ascii_int(form.get("rows"), 0, 300) or 0
        for n in range(min(count, 300)):
            title = (form.get(f"title-{n}") or "").strip()
            key = (form.get(f"key-{n}") or "").strip()[:40]
            if form.get(f"remove-{n}") or (not title and not key):
                continue
            section = (form.get(f"section-{n}") or "").strip()
            category = form.get(f"category-{n}") or "other"
            if not title or not section:
                errors[f"row-{n}"] = t(request, "Give the item a section and a name.")
            elif len(title) > 40 or len(section) > 40:
                errors[f"row-{n}"] = t(request, "This is too long.")
            if category not in categories:
                errors[f"row-{n}"] = t(request, "Please choose a category.")
            if not key or key not in current:
                key = f"item-{uuid.uuid4().hex[:12]}"  # a new item: a key of its own
            rows.append(PatrolItem(version_id=0, key=key, section=section[:40], title=title[:40],
                                   hint=(form.get(f"hint-{n}") or "").strip()[:200], category_code=category,
                                   sort_order=ascii_int(form.get(f"order-{n}"), 1, 9999) or (n + 1)))
        if not rows:
            errors["rows"] = t(request, "A checklist needs at least one item.")
        if len({r.key for r in rows}) != len(rows):
            errors["rows"] = t(request, "An item appears twice.")
        if errors:
            return await _template_page(request, db, template, {k: form.get(k) for k in form.keys()}, errors,
                                        status_code=422, kind=kind)
        rows.sort(key=lambda r: r.sort_order)
        for order, row in enumerate(rows, start=1):
            row.sort_order = order
        version = await _publish(db, viewer, template, rows, (form.get("note") or "").strip()[:200], compound_kind=kind)
        audit.record(db, "publish_template", viewer=viewer, object_type="patrol_template", object_id=template.id,
                     request=request, version=version.number, items=len(rows), compound_kind=kind)
        await db.commit()
        suffix = f"&kind={RURAL}" if kind == RURAL else ""
        return Redirect(path=f"/patrols/templates/{template.id}?saved={version.number}{suffix}", status_code=303)

    @get("/{patrol_id:str}", name="patrols.show")
    async def show_patrol(self, request: Request, db: AsyncSession, viewer: Viewer, patrol_id: str) -> Any:
        viewer.require_role(*queries.PATROL_ROLES)
        return await _report(request, db, viewer, patrol_id, printing=False)

    @get("/{patrol_id:str}/print", name="patrols.print")
    async def print_patrol(self, request: Request, db: AsyncSession, viewer: Viewer, patrol_id: str) -> Any:
        viewer.require_role(*queries.PATROL_ROLES)
        return await _report(request, db, viewer, patrol_id, printing=True)

    @get("/{patrol_id:str}/export.xlsx", name="patrols.export")
    async def export_patrol(self, request: Request, db: AsyncSession, viewer: Viewer, patrol_id: str) -> Response:
        viewer.require_role(*queries.PATROL_ROLES)
        patrol, compound = await queries.get_patrol_for(db, viewer, patrol_id)
        version = await db.get(PatrolTemplateVersion, patrol.version_id)
        template = await db.get(PatrolTemplate, version.template_id)
        community = await db.get(GridNode, compound.parent_id) if compound.parent_id else None
        recorder = await db.get(Person, patrol.recorded_by)
        body = export.patrol_workbook(patrol, compound, community.name if community else "", version, template.name,
                                      await queries.answers_of(db, patrol), recorder.name if recorder else "")
        audit.record(db, "export", viewer=viewer, object_type="patrol", object_id=patrol.id, request=request,
                     format="xlsx", compound=compound.code, month=patrol.month)
        await db.commit()
        filename = f"联动巡查-{compound.name}-{patrol.month}.xlsx"
        return Response(body, media_type=export.XLSX, headers={
            "content-disposition": f"attachment; filename=\"patrol-{patrol.month}.xlsx\"; filename*=UTF-8''{quote(filename)}",
            "cache-control": "no-store",
        })


# ---------------------------------------------------------------- helpers

async def _checklist(request: Request, db: AsyncSession, viewer: Viewer, compound: GridNode, values: dict,
                     errors: dict, status_code: int = 200) -> Any:
    template = await queries.template_for(db, compound.path, compound.kind)
    version = await db.get(PatrolTemplateVersion, template.version_for(compound.kind))
    items = await queries.version_items(db, version.id)
    last, recheck = await queries.recheck_list(db, compound)
    categories = await queries.categories_by_code(db)
    return render(
        request, "patrols/new.html", status_code=status_code, compound=compound, checklist_template=template,
        version=version, sections=queries.sections(items), item_count=len(items),
        recheck=recheck, recheck_by_key={r.item.key: r for r in recheck}, last=last,
        roster=_by_seed_role(await queries.roster_of(db, compound)), roster_role=ROSTER_ROLE, office_role=OFFICE_ROLE,
        helpers=await recruit_service.helpers_under(db, compound.path), helper_role=HELPER_PATROL_ROLE,
        helper_labels=HELPER_KIND_LABELS,
        roles=PARTICIPANT_ROLES,
        results=RESULT_LABELS, categories=categories, values=values, errors=errors, guest_rows=range(GUEST_ROWS),
        back_url=f"/patrols/compounds/{compound.code}", tab="patrols",
    )


async def _report(request: Request, db: AsyncSession, viewer: Viewer, patrol_id: str, *, printing: bool) -> Any:
    patrol, compound = await queries.get_patrol_for(db, viewer, patrol_id)
    version = await db.get(PatrolTemplateVersion, patrol.version_id)
    template = await db.get(PatrolTemplate, version.template_id)
    rows = await queries.answers_of(db, patrol)
    recorder = await db.get(Person, patrol.recorded_by)
    _, rechecked = await queries.recheck_list(db, compound, before=patrol)
    if printing:
        audit.record(db, "print", viewer=viewer, object_type="patrol", object_id=patrol.id, request=request,
                     compound=compound.code, month=patrol.month)
        await db.commit()
    return render(request, "patrols/report.html", patrol=patrol, compound=compound, version=version,
                  checklist_template=template, rows=rows, recorder=recorder, rechecked=rechecked,
                  categories=await queries.categories_by_code(db), results=RESULT_LABELS, roles=PARTICIPANT_ROLES,
                  participant_roles=list(PARTICIPANT_ROLES), printing=printing, saved=request.query_params.get("saved"),
                  # A leader patrols the whole compound but sees only their micro-grid in the ledger.
                  can_open=lambda issue: can_see_issue(viewer, issue),
                  back_url=f"/patrols/compounds/{compound.code}", tab="patrols")


async def _template_for(db: AsyncSession, viewer: Viewer, template_id: int) -> PatrolTemplate:
    viewer.require_role(*queries.TEMPLATE_ROLES)
    template = await db.get(PatrolTemplate, template_id)
    if template is None or not queries.may_edit_template(viewer, template):
        raise NotFoundException()
    return template


def _kind(value: Any, template: PatrolTemplate) -> str:
    """"rural" when asked for and the template keeps a settlements' checklist, else "" (estates)."""
    return RURAL if value == RURAL and template.rural_version_id else ""


async def _template_page(request: Request, db: AsyncSession, template: PatrolTemplate, values: dict, errors: dict,
                         status_code: int = 200, kind: str = "") -> Any:
    items = await queries.version_items(db, template.version_for(kind))
    version = await db.get(PatrolTemplateVersion, template.version_for(kind))
    return render(request, "patrols/template.html", status_code=status_code, checklist_template=template, version=version,
                  kind=kind,
                  items=items, versions=await queries.versions_of(db, template),
                  categories=list((await queries.categories_by_code(db)).values()),
                  new_rows=range(len(items), len(items) + NEW_ITEM_ROWS), values=values, errors=errors,
                  saved=request.query_params.get("saved"), back_url="/patrols/templates", tab="patrols")


def _by_seed_role(roster: list) -> list:
    """The roster in the seed's order of participants: 微网格长, 支委, 物业企业人员, then staff."""
    order = {role: n for n, role in enumerate(PARTICIPANT_ROLES)}
    return sorted(roster, key=lambda pp: order.get(OFFICE_ROLE.get(pp[1].office) or ROSTER_ROLE.get(pp[1].role, "other"),
                                                   len(order)))


def _copy(item: PatrolItem) -> PatrolItem:
    return PatrolItem(version_id=0, key=item.key, section=item.section, title=item.title, hint=item.hint,
                      category_code=item.category_code, sort_order=item.sort_order)


async def _publish(db: AsyncSession, viewer: Viewer, template: PatrolTemplate, items: list[PatrolItem],
                   note: str, compound_kind: str = "") -> PatrolTemplateVersion:
    # Lock the template row: two editors saving at once must not both publish "version 3".
    await db.execute(sa.update(PatrolTemplate).where(PatrolTemplate.id == template.id)
                     .values(current_version_id=PatrolTemplate.current_version_id))
    number = (await db.execute(sa.select(sa.func.coalesce(sa.func.max(PatrolTemplateVersion.number), 0))
                               .where(PatrolTemplateVersion.template_id == template.id))).scalar_one() + 1
    version = PatrolTemplateVersion(template_id=template.id, number=number, note=note, created_by=viewer.person_id,
                                    compound_kind=compound_kind)
    db.add(version)
    await db.flush()
    for item in items:
        item.version_id = version.id
        db.add(item)
    if compound_kind == RURAL:
        template.rural_version_id = version.id
    else:
        template.current_version_id = version.id
    await db.flush()
    return version


async def _communities_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    if viewer.is_admin:
        clause = sa.true()
    else:
        paths = [p.path for p in viewer.posts if p.role == Role.community]
        if not paths:
            return []
        clause = GridNode.path.in_(paths)
    rows = await db.execute(sa.select(GridNode).where(GridNode.level == Level.community, clause).order_by(GridNode.path))
    return list(rows.scalars())


# A community's staff patrol a dozen compounds; the street's office works online.
MAX_OFFLINE_COMPOUNDS = 30


async def patrol_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """The checklist of each compound the person patrols, kept on the phone for the stairwell."""
    if not viewer.has_role(*queries.PATROL_ROLES):
        return []
    compounds = await queries.compounds_for(db, viewer)
    if len(compounds) > MAX_OFFLINE_COMPOUNDS:
        return ["/patrols"]
    urls = ["/patrols"]
    for compound in compounds:
        urls += [f"/patrols/compounds/{compound.code}/new", f"/patrols/compounds/{compound.code}"]
    return urls


PATROL_HANDLERS = [PatrolController]
OFFLINE_PAGES = [patrol_offline_pages]

# Used in templates through _(); listed so the extractor sees them.
_STATES = [N_("Done"), N_("Due"), N_("Overdue")]
