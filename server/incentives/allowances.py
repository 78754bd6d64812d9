"""Allowances (the article's ¥350,000 fund for duty, meal and travel costs).

A leader claims on the phone, offline like every record: sync type `allowance_claim`
(the client's UUID is the key, a receipt photo goes up after it through PUT /api/photos,
stored by server/photos.py). The community approves or refuses the claims of its leaders;
the street pays every approved claim of its part of the grid in a batch, exported as .xlsx.
Each community has a yearly budget; spent is what was approved or paid. Amounts are integer
fen from the form to the spreadsheet: "12.5" is 1250, never a float.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit
from server.accounts.auth import signed_in
from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.clock import CHINA, today_in_china, utcnow
from server.grid import queries as grid_queries
from server.grid.models import GridNode, Level
from server.i18n import N_
from server.incentives.dashboard import _xlsx
from server.incentives.models import AllowanceBudget, AllowanceClaim, PayoutBatch
from server.photos import MAX_PHOTOS
from server.spreadsheets import BOLD, Book
from server.sync.registry import SyncRecord, SyncType
from server.sync.service import CREATED, store_one
from server.tree import COMMUNITY_LEN, community_of
from server.validate import PathId, ascii_int, parse_day
from server.web import render, request_language, t

KINDS = {"duty": N_("Duty"), "meal": N_("Meals"), "travel": N_("Travel")}
KIND_ZH = {"duty": "执勤", "meal": "误餐", "travel": "出行"}
STATUS_LABELS = {"claimed": N_("Waiting for approval"), "approved": N_("Approved: to be paid"),
                 "refused": N_("Not approved"), "paid": N_("Paid")}
CLAIMS_PAGE = 50  # claims to decide, a page at a time
MAX_FEN = 100_000  # ¥1,000 a claim: more is a typo or needs the office
MSG_AMOUNT = N_("Enter the amount in yuan, e.g. 25 or 12.50 (at most 1000).")
MSG_DAY = N_("Enter the day of the cost (not in the future, at most 90 days ago).")
MSG_NOT_LEADER = N_("Only a micro-grid leader can claim an allowance.")
_AMOUNT = re.compile(r"([0-9]{1,6})(?:\.([0-9]{1,2}))?")


def parse_fen(text: str) -> int | None:
    """ "12.5" -> 1250 fen, exactly (no float on the way); None when not a sane amount."""
    match = _AMOUNT.fullmatch((text or "").strip())
    if not match:
        return None
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return fen if 0 < fen <= MAX_FEN else None


def yuan(fen: int | None) -> str:
    """Fen as yuan text, exactly: 1850 -> "18.50", -1850 -> "-18.50" (an overspent budget)."""
    fen = fen or 0
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


class AllowanceClaimData(msgspec.Struct):
    """An allowance claim (执勤/误餐/出行 补贴): the day, the amount in yuan as text, a note, a receipt photo."""

    kind: Literal["duty", "meal", "travel"]
    day: Annotated[str, msgspec.Meta(max_length=10, description="YYYY-MM-DD, the day of the cost")]
    amount: Annotated[str, msgspec.Meta(max_length=10, description="Yuan, e.g. 12.50")]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""
    photos: Annotated[list[str], msgspec.Meta(max_length=MAX_PHOTOS)] = []


async def _leader_path(db: AsyncSession, person_id: int) -> str | None:
    return (await db.execute(sa.select(Post.node_path).where(
        Post.person_id == person_id, Post.role == Role.leader, current_post())
        .order_by(Post.post_kind, Post.node_path).limit(1))).scalar()


async def apply_claim(db: AsyncSession, viewer: Viewer, record: SyncRecord) -> dict[str, str] | None:
    data: AllowanceClaimData = record.data
    errors = {}
    fen = parse_fen(data.amount)
    if fen is None:
        errors["amount"] = record.t(MSG_AMOUNT)
    today = record.created_at.astimezone(CHINA).date()
    day = parse_day(data.day, earliest=today - timedelta(days=90), latest=today)
    if day is None:
        errors["day"] = record.t(MSG_DAY)
    path = await _leader_path(db, viewer.person_id)
    if path is None:
        errors["kind"] = record.t(MSG_NOT_LEADER)
    if errors:
        return errors
    db.add(AllowanceClaim(id=record.id, person_id=viewer.person_id, grid_path=path, kind=data.kind, claimed_on=day,
                          amount_fen=fen, note=data.note.strip(), status="claimed", created_at=record.created_at))
    record.grid_path = path  # the receipt photo is seen where the claim is
    from server.notify.rules import approval_waiting

    await approval_waiting(db, path, title="补贴申领待审批", body=f"{viewer.name}：{yuan(fen)}元", url="/allowances",
                           key=f"claim:{record.id}", from_sync=True)
    return None


ALLOWANCE_CLAIM = SyncType(name="allowance_claim", schema=AllowanceClaimData, apply=apply_claim,
                           roles=frozenset({Role.leader}), max_photos=3,
                           description="An allowance claim (执勤/误餐/出行): day, amount in yuan, note, receipt photo.")
SYNC_TYPES = [ALLOWANCE_CLAIM]


async def budgets(db: AsyncSession, viewer: Viewer, year: int) -> list[dict[str, Any]]:
    """Budget, spent (approved or paid) and left for each community the viewer sees."""
    communities = (await db.execute(sa.select(GridNode.path, GridNode.name).where(
        GridNode.level == Level.community, viewer.subtree_clause(GridNode.path)).order_by(GridNode.path))).all()
    if not communities:
        # A community's staff see their own (the clause above covers it); a leader sees nothing here.
        return []
    budget = dict((await db.execute(sa.select(AllowanceBudget.node_path, AllowanceBudget.amount_fen).where(
        AllowanceBudget.year == year))).all())
    community = community_of(AllowanceClaim.grid_path)
    spent = dict((await db.execute(sa.select(community, sa.func.sum(AllowanceClaim.amount_fen)).where(
        AllowanceClaim.status.in_(("approved", "paid")), viewer.subtree_clause(AllowanceClaim.grid_path),
        AllowanceClaim.claimed_on >= date(year, 1, 1), AllowanceClaim.claimed_on <= date(year, 12, 31))
        .group_by(community))).all())
    return [{"path": p, "name": n, "budget": budget.get(p, 0), "spent": int(spent.get(p) or 0),
             "left": budget.get(p, 0) - int(spent.get(p) or 0)} for p, n in communities]


def form_options(request: Request) -> list[tuple[str, str]]:
    return [(k, t(request, v)) for k, v in KINDS.items()]


class AllowanceController(Controller):
    path = "/allowances"
    guards = [signed_in]

    @get("/", name="allowances.list")
    async def list_claims(self, request: Request, db: AsyncSession, viewer: Viewer,
                          page: int = Parameter(default=1, ge=1, le=10_000)) -> Any:
        """A leader's own claims; community staff and the street: the claims to decide (a page at a
        time: a street's 1,352 leaders claim every month) and the budgets."""
        mine = (await db.execute(sa.select(AllowanceClaim).where(AllowanceClaim.person_id == viewer.person_id)
                                 .order_by(AllowanceClaim.claimed_on.desc()).limit(50))).scalars().all()
        staff = viewer.has_role(Role.admin, Role.community)
        claims, waiting, approved_fen, pages = [], 0, 0, 1
        if staff:
            open_claims = [viewer.subtree_clause(AllowanceClaim.grid_path), AllowanceClaim.status.in_(("claimed", "approved"))]
            # Counted over every open claim in scope, not the page shown: the sum is what the
            # payout below pays (the same claims), to the fen.
            waiting, approved_fen = (await db.execute(sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case(
                    (AllowanceClaim.status == "approved", AllowanceClaim.amount_fen), else_=0)), 0))
                .where(*open_claims))).one()
            pages = max(1, -(-waiting // CLAIMS_PAGE))
            page = min(page, pages)  # past the end (claims were decided meanwhile): the last page
            claims = (await db.execute(
                sa.select(AllowanceClaim, Person.name).join(Person, Person.id == AllowanceClaim.person_id)
                .where(*open_claims).order_by(AllowanceClaim.status, AllowanceClaim.claimed_on, AllowanceClaim.id)
                .limit(CLAIMS_PAGE).offset((page - 1) * CLAIMS_PAGE))).all()
        batches = (await db.execute(sa.select(PayoutBatch).where(viewer.subtree_clause(PayoutBatch.node_path))
                                    .order_by(PayoutBatch.created_at.desc()).limit(10))).scalars().all() if viewer.is_admin else []
        year = today_in_china().year
        return render(request, "incentives/allowances.html", mine=mine, claims=claims, staff=staff, year=year,
                      budgets=await budgets(db, viewer, year) if staff else [], batches=batches, kinds=KINDS,
                      status_labels=STATUS_LABELS, yuan=yuan, tab="me", back_url="/me",
                      is_leader=viewer.has_role(Role.leader), approved_fen=int(approved_fen), waiting=waiting,
                      page=page, pages=pages)

    @get("/new", name="allowances.new")
    async def new_claim(self, request: Request, viewer: Viewer) -> Any:
        viewer.require_role(Role.leader)
        return render(request, "incentives/allowance_form.html", values={"kind": "meal", "day": today_in_china().isoformat()},
                      errors={}, kinds=form_options(request), back_url="/allowances")

    @post("/", name="allowances.claim")
    async def claim_allowance(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The form without JavaScript: the same `store_one` as the outbox."""
        viewer.require_role(Role.leader)
        form = await request.form()
        data = {k: (form.get(k) or "").strip() for k in ("kind", "day", "amount", "note") if isinstance(form.get(k), str)}
        result = await store_one(db, viewer, "allowance_claim", data, request_language(request))
        if result.status == CREATED:
            return Redirect(path="/allowances", status_code=303)
        return render(request, "incentives/allowance_form.html", status_code=422, values=data, errors=result.errors,
                      kinds=form_options(request), back_url="/allowances")

    @post("/{claim_id:uuid}/{decision:str}", name="allowances.decide")
    async def decide_claim(self, request: Request, db: AsyncSession, viewer: Viewer, claim_id: Any, decision: str) -> Any:
        viewer.require_role(Role.admin, Role.community)
        status = {"approve": "approved", "refuse": "refused"}.get(decision)
        claim = await db.get(AllowanceClaim, claim_id)
        if status is None or claim is None or not viewer.sees_path(claim.grid_path):
            raise NotFoundException()
        if claim.status == "claimed":
            claim.status, claim.decided_by, claim.decided_at = status, viewer.person_id, utcnow()
            audit.record(db, "allowance_" + decision, viewer=viewer, object_type="allowance_claim", object_id=claim.id,
                         request=request, amount_fen=claim.amount_fen)
            await db.commit()
        return Redirect(path="/allowances", status_code=303)

    @post("/budget", name="allowances.budget")
    async def set_budget(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The street sets a community's yearly budget (yuan, whole)."""
        viewer.require_role(Role.admin)
        form = await request.form()
        node = await grid_queries.get_node_for(db, viewer, (form.get("grid") or "")[:40])
        amount = ascii_int(form.get("amount"), 0, 100_000_000)
        year = today_in_china().year
        if node.level != Level.community or amount is None:
            raise NotFoundException()
        row = (await db.execute(sa.select(AllowanceBudget).where(AllowanceBudget.year == year,
                                                                 AllowanceBudget.node_path == node.path))).scalar()
        if row is None:
            row = AllowanceBudget(year=year, node_path=node.path, amount_fen=0)
            db.add(row)
        row.amount_fen, row.set_by, row.set_at = amount * 100, viewer.person_id, utcnow()
        audit.record(db, "allowance_budget", viewer=viewer, object_type="grid_node", object_id=node.code,
                     request=request, year=year, amount_fen=amount * 100)
        await db.commit()
        return Redirect(path="/allowances", status_code=303)

    @post("/payouts", name="allowances.payout")
    async def make_payout(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        """The street pays every approved claim it sees, in one batch."""
        viewer.require_role(Role.admin)
        roots = await grid_queries.root_nodes_for(db, viewer)
        claims = (await db.execute(sa.select(AllowanceClaim).where(
            AllowanceClaim.status == "approved", viewer.subtree_clause(AllowanceClaim.grid_path)).with_for_update())).scalars().all()
        if not claims or not roots:
            return Redirect(path="/allowances", status_code=303)
        batch = PayoutBatch(node_path=roots[0].path, total_fen=sum(c.amount_fen for c in claims), claims=len(claims),
                            created_by=viewer.person_id)
        db.add(batch)
        await db.flush()
        for claim in claims:
            claim.status, claim.batch_id = "paid", batch.id
        audit.record(db, "allowance_payout", viewer=viewer, object_type="payout_batch", object_id=batch.id,
                     request=request, claims=len(claims), total_fen=batch.total_fen)
        await db.commit()
        return Redirect(path="/allowances", status_code=303)

    @get("/payouts/{batch_id:int}/export.xlsx", name="allowances.payout_export")
    async def export_payout(self, request: Request, db: AsyncSession, viewer: Viewer, batch_id: PathId) -> Response:
        viewer.require_role(Role.admin)
        batch = await db.get(PayoutBatch, batch_id)
        if batch is None or not viewer.sees_path(batch.node_path):
            raise NotFoundException()
        rows = (await db.execute(sa.select(AllowanceClaim, Person.name, Person.phone).join(
            Person, Person.id == AllowanceClaim.person_id).where(AllowanceClaim.batch_id == batch.id)
            .order_by(AllowanceClaim.grid_path, AllowanceClaim.claimed_on))).all()
        names = dict((await db.execute(sa.select(GridNode.path, GridNode.name).where(
            GridNode.path.in_(sorted({c.grid_path[:COMMUNITY_LEN] for c, *_ in rows}))))).all())
        book = Book()
        sheet = book.sheet("补贴发放")
        sheet.append(["社区", "微网格长", "类型", "日期", "金额（元）", "金额（分）", "说明", "编号"], font=BOLD)
        for claim, name, _phone in rows:
            sheet.append([names.get(claim.grid_path[:COMMUNITY_LEN], ""), name, KIND_ZH[claim.kind], claim.claimed_on.isoformat(),
                          yuan(claim.amount_fen), claim.amount_fen, claim.note, str(claim.id)])
        sheet.append(["合计", "", "", "", yuan(batch.total_fen), batch.total_fen, f"{batch.claims} 笔", ""], font=BOLD)
        audit.record(db, "export", viewer=viewer, object_type="payout_batch", object_id=batch.id, request=request,
                     rows=len(rows))
        await db.commit()
        return _xlsx(book.save(), f"payout-{batch.id}.xlsx", f"补贴发放-{batch.id}.xlsx")


ALLOWANCE_HANDLERS: list = [AllowanceController]


async def leader_offline_pages(db: AsyncSession, viewer: Viewer) -> list[str]:
    """A leader keeps the claim form on the phone: a meal after a night's duty is claimed offline."""
    return ["/allowances/new"] if viewer.has_role(Role.leader) else []


OFFLINE_PAGES = [leader_offline_pages]
