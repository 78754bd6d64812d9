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
