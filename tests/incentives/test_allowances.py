"""Allowances: a leader's claim through the outbox (exact fen), the community decides, the street pays in a batch."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from server.accounts.models import AuditEntry
from server.incentives.allowances import parse_fen
from server.incentives.models import AllowanceClaim
from tests.conftest import csrf_headers
from tests.sync.helpers import CST, post_sync, record


def test_it_reads_yuan_as_exact_fen_and_writes_it_back():
    from server.incentives.allowances import yuan

    assert [yuan(x) for x in (1850, -1850, 5, 3500000000)] == ["18.50", "-18.50", "0.05", "35,000,000.00"]
    assert [parse_fen(x) for x in ("12.5", "12.50", "0.1", "25", "1000", "1000.01", "-3", "1e2", "12.345", "0")] == [
        1250, 1250, 10, 2500, 100000, None, None, None, None, None]


async def test_it_takes_a_synced_meal_claim_to_a_paid_batch(db, people, signed_in_as, new_leader):
    leader = await new_leader("报销网格长")
    client = await signed_in_as(leader)
    today = datetime.now(CST).date()
    claim = record("allowance_claim", {"kind": "meal", "day": today.isoformat(), "amount": "18.50", "note": "夜间值守误餐"})
    bad = record("allowance_claim", {"kind": "meal", "day": (today + timedelta(days=2)).isoformat(), "amount": "18,5"})
    results = (await post_sync(client, [claim, bad])).json()["results"]
    assert results[0]["status"] == "created"
    assert results[1]["status"] == "rejected" and set(results[1]["errors"]) == {"amount", "day"}
    assert (await post_sync(client, [claim])).json()["results"][0]["status"] == "duplicate"
    stored = (await db.execute(sa.select(AllowanceClaim).where(AllowanceClaim.person_id == leader.id))).scalar_one()
    claim_id = stored.id
    assert (stored.amount_fen, stored.kind, stored.status) == (1850, "meal", "claimed")
    assert "¥18.50" in (await client.get("/allowances")).text

    secretary = await signed_in_as(people.secretary)
    page = (await secretary.get("/allowances")).text
    assert "报销网格长" in page and 'id="budgets"' in page
    other = await signed_in_as(people.other_secretary)
    assert (await other.post(f"/allowances/{stored.id}/approve", headers=await csrf_headers(other))).status_code == 404
    secretary = await signed_in_as(people.secretary)
    await secretary.post(f"/allowances/{stored.id}/approve", headers=await csrf_headers(secretary))
    admin = await signed_in_as(people.admin)
    await admin.post("/allowances/budget", data={"grid": people.community.code, "amount": "35000"},
                     headers=await csrf_headers(admin))
    page = (await admin.get("/allowances")).text
    assert "¥35,000.00" in page
    response = await admin.post("/allowances/payouts", headers=await csrf_headers(admin), follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    stored = await db.get(AllowanceClaim, claim_id)
    assert stored.status == "paid" and stored.batch_id
    sheet = await admin.get(f"/allowances/payouts/{stored.batch_id}/export.xlsx")
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    mine = [r for r in rows if r[1] == "报销网格长"]
    assert mine and mine[0][2:6] == ("误餐", today.isoformat(), "18.50", 1850)
    assert (await db.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "payout_batch", AuditEntry.object_id == str(stored.batch_id)))).scalar_one() == 2


async def test_it_keeps_the_form_input_on_a_bad_amount(people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(leader)
    page = await client.get("/allowances/new")
    assert 'data-outbox-type="allowance_claim"' in page.text
    response = await client.post("/allowances", data={"kind": "travel", "day": datetime.now(CST).date().isoformat(),
                                                      "amount": "十二", "note": "去县城送材料"},
                                 headers=await csrf_headers(client))
    assert response.status_code == 422 and "去县城送材料" in response.text and "请填写金额" in response.text


async def test_the_street_pages_through_every_open_claim_and_sees_the_whole_sum_it_pays(
        db, people, signed_in_as, new_leader, monkeypatch):
    """The claims to decide come a page at a time; the approved sum above the pay button is over
    every approved claim in scope (not the page shown), and is what the payout pays, to the fen."""
    import re
    import uuid

    from server.incentives import allowances
    from server.incentives.allowances import yuan
    from server.incentives.models import PayoutBatch

    leader = await new_leader("翻页报销网格长")
    today = datetime.now(CST).date()
    for i, (status, fen) in enumerate([("claimed", 1250), ("approved", 1850), ("claimed", 999), ("approved", 4001),
                                       ("approved", 7), ("claimed", 3000), ("refused", 500), ("paid", 800)]):
        db.add(AllowanceClaim(id=uuid.uuid4(), person_id=leader.id, grid_path=people.microgrid.path, kind="meal",
                              claimed_on=today - timedelta(days=i), amount_fen=fen, status=status,
                              created_at=datetime.now(CST)))
    await db.commit()
    street = people.admin
    open_ids = {str(i) for i in (await db.execute(sa.select(AllowanceClaim.id).where(
        AllowanceClaim.status.in_(("claimed", "approved"))))).scalars()}
    approved = int((await db.execute(sa.select(sa.func.sum(AllowanceClaim.amount_fen)).where(
        AllowanceClaim.status == "approved"))).scalar_one())  # PostgreSQL sums a bigint as a numeric
    monkeypatch.setattr(allowances, "CLAIMS_PAGE", max(2, -(-len(open_ids) // 4)))

    admin = await signed_in_as(street)
    seen: list[str] = []
    url, pages = "/allowances", 0
    while url:
        page = (await admin.get(url)).text
        pages += 1
        seen += re.findall(r'data-claim-id="([0-9a-f-]+)"', page)
        if pages == 1:
            assert f"¥{yuan(approved)}" in page.split('action="/allowances/payouts"')[1].split("</form>")[0]
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found.group(1).replace("&amp;", "&").split("#")[0] if found else None
        assert pages < 20
    assert len(seen) == len(set(seen)) and set(seen) == open_ids and pages > 1  # each once, none lost
    assert "第 1 页" not in page and f"共 {pages} 页" in page
    past = (await admin.get("/allowances?page=999")).text
    assert f"第 {pages} 页" in past and 'data-claim-id="' in past
    assert (await admin.get("/allowances?page=0")).status_code == 400

    await admin.post("/allowances/payouts", headers=await csrf_headers(admin), follow_redirects=False)
    batch = (await db.execute(sa.select(PayoutBatch).order_by(PayoutBatch.id.desc()))).scalars().first()
    assert batch.total_fen == approved
