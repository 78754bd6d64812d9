"""Patrol reports print and export to .xlsx, and both are written to the audit log."""
from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from server.accounts.models import AuditEntry

from .conftest import patrol_record, post_sync


async def test_it_exports_a_patrol_report_to_xlsx_and_audits_it(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items, fail={3: "problem", 4: "fixed"})
    await post_sync(client, [record])
    secretary = await signed_in_as(people.secretary)

    response = await secretary.get(f"/patrols/{record['id']}/export.xlsx")

    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert "联动巡查报告" in values[0][0] and compound.name in values[0][0]
    body = [row for row in values if row and row[2] in {i.title for i in items}]
    assert len(body) == 24  # 20 items and the maintenance records section (0017)
    assert body[3][4] == "不合格" and body[3][6] == "转问题台账" and body[3][8] == "待处理"
    assert body[4][6] == "当场整改"
    entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.object_id == record["id"],
                                                          AuditEntry.action == "export"))).scalar_one()
    assert entry.person_id == people.secretary.id and entry.detail["format"] == "xlsx"


async def test_it_prints_a_patrol_report_and_audits_it(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items)
    await post_sync(client, [record])

    page = await client.get(f"/patrols/{record['id']}/print")

    assert page.status_code == 200 and "data-autoprint" in page.text and "联动巡查报告" in page.text
    count = (await db.execute(sa.select(sa.func.count()).where(AuditEntry.object_id == record["id"],
                                                               AuditEntry.action == "print"))).scalar_one()
    assert count == 1


async def test_it_exports_a_compounds_patrols_side_by_side(db, people, signed_in_as):
    from datetime import datetime, timedelta

    from .conftest import CST, checklist_of, patroller_of, unpatrolled_compound

    compound = await unpatrolled_compound(db, people.community)
    version_id, items = await checklist_of(db, compound)
    client = await signed_in_as(await patroller_of(db, people, compound))
    await post_sync(client, [
        patrol_record(compound, version_id, items, fail={0: "fixed"}, created_at=datetime.now(CST) - timedelta(days=33)),
        patrol_record(compound, version_id, items, fail={0: "fixed", 1: "fixed"}),
    ])

    response = await client.get(f"/patrols/compounds/{compound.code}/export.xlsx")

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book["巡查记录"].iter_rows(values_only=True))
    by_title = {row[1]: row[2:] for row in rows[2:]}
    assert by_title[items[0].title] == ("不合格", "不合格") and by_title[items[1].title] == ("合格", "不合格")
    assert [r[1] for r in book["反复不合格"].iter_rows(min_row=2, values_only=True)] == [items[0].title]
    entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.object_type == "patrol_history",
                                                          AuditEntry.object_id == compound.code))).scalar_one()
    assert entry.action == "export"
