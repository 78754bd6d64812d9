"""The ledger as .xlsx: Chinese headers, the filtered problems only, no phones, audited."""
from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from server.accounts.models import AuditEntry
from server.issues.export import HEADERS
from server.clock import today_in_china


async def test_it_exports_a_communitys_month_with_chinese_headers(signed_in_as, people, new_problem, db):
    mine = await new_problem(description="导出测试：楼道堆物", reporter_phone="13700002222")
    month = today_in_china().strftime("%Y-%m")
    client = await signed_in_as(people.secretary)
    response = await client.get(f"/issues/export.xlsx?node={people.community.code}&month={month}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [title for title, _ in HEADERS]
    assert rows[0][:3] == ("编号", "上报时间", "社区/村")
    ours = [row for row in rows[1:] if row[0] == mine.tracking_code]
    assert ours and ours[0][6] == "导出测试：楼道堆物" and ours[0][2] == people.community.name and ours[0][9] == "待处理"
    assert all("13700002222" not in " ".join(str(c) for c in row) for row in rows)
    entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.person_id == people.secretary.id)
                              .order_by(AuditEntry.id.desc()))).scalars().first()
    assert entry is not None and entry.object_type == "issue_ledger" and entry.detail["rows"] == len(rows) - 1


async def test_it_exports_nothing_from_outside_the_scope(signed_in_as, people, new_problem):
    mine = await new_problem(description="别的社区不该看到")
    client = await signed_in_as(people.other_secretary)
    response = await client.get("/issues/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    assert all(row[0] != mine.tracking_code for row in rows[1:])
    assert (await client.get(f"/issues/export.xlsx?node={people.community.code}")).status_code == 404
