"""The import page: upload → a dry run as a background job → every problem by row → confirm → applied."""
from __future__ import annotations

import asyncio
import re
import uuid

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.db import make_sessionmaker
from server.grid.models import Household
from server.registers.models import ImportJob
from tests.conftest import csrf_headers
from tests.registers.conftest import workbook

HX = {"HX-Request": "true"}


async def upload(client, content: bytes, filename: str = "住户.xlsx"):
    return await client.post("/registers/import", files={"file": (filename, content)},
                             headers=await csrf_headers(client), follow_redirects=False)


async def until_settled(client, engine, job_id: str, timeout: float = 30) -> ImportJob:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with make_sessionmaker(engine)() as db:
            job = await db.get(ImportJob, uuid.UUID(job_id))
        if job.status not in ("checking", "applying"):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job.status}"
        await client.get(f"/registers/import/{job_id}", headers=HX)  # as the page's poll would
        await asyncio.sleep(0.1)


def households_sheet(code: str, rows: list[list]) -> bytes:
    return workbook(households=[[code, *row] for row in rows])


async def test_problems_by_row_then_fixed_then_applied(client, engine, own_community, signed_in_as):
    from tests.registers.test_handover import db_person

    c = own_community
    await signed_in_as(await db_person(engine, c.secretary))
    bad = households_sheet(c.mg1.code, [["21号", "甲", "13800001111", 2, "", "", ""],
                                        ["22号", "", "13800001111", 2, "", "", ""],      # no head
                                        ["23号", "丙", "12345", 2, "", "", ""],          # not a phone
                                        ["24号", "丁", "13800001111", 99, "", "", ""]])  # members
    response = await upload(client, bad)
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    job = await until_settled(client, engine, job_id)
    assert job.status == "checked" and job.problem_count == 3
    page = await client.get(f"/registers/import/{job_id}")
    assert page.status_code == 200
    for row, words in ((3, "必填"), (4, "不是电话号码"), (5, "人数应为1到30")):
        assert re.search(rf"第{row}行 · [^<]*</span>\s*<span class=\"what\">[^<]*{words}", page.text), (row, words)
    assert "确认导入" not in page.text
    refused = await client.post(f"/registers/import/{job_id}/apply", headers=await csrf_headers(client), follow_redirects=False)
    assert refused.status_code == 303
    assert (await until_settled(client, engine, job_id)).status == "checked"

    good = households_sheet(c.mg1.code, [["21号", "甲", "13800001111", 2, "", "", ""], ["22号", "乙", "", 1, "独居老人", "", ""]])
    job_id = (await upload(client, good)).headers["location"].rsplit("/", 1)[1]
    job = await until_settled(client, engine, job_id)
    assert job.status == "checked" and job.problem_count == 0 and job.counts["住户"]["added"] == 2
    page = await client.get(f"/registers/import/{job_id}")
    assert "确认导入" in page.text
    async with make_sessionmaker(engine)() as db:
        assert not (await db.execute(sa.select(Household).where(Household.microgrid_id == c.mg1.id,
                                                               Household.address == "21号"))).first()
    applied = await client.post(f"/registers/import/{job_id}/apply", headers=await csrf_headers(client), follow_redirects=False)
    assert applied.status_code == 303
    job = await until_settled(client, engine, job_id)
    assert job.status == "done" and job.content is None
    async with make_sessionmaker(engine)() as db:
        added = (await db.execute(sa.select(Household.address).where(Household.microgrid_id == c.mg1.id,
                                                                     Household.address.in_(["21号", "22号"])))).scalars().all()
        audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "registers_import",
                                                              AuditEntry.object_id == job_id))).scalar_one()
    assert sorted(added) == ["21号", "22号"]
    assert audit.person_id == c.secretary and audit.detail["sha256"] == job.sha256


async def test_rows_outside_the_importers_community_are_refused(client, engine, people, own_community, signed_in_as):
    from tests.registers.test_handover import db_person

    c = own_community
    await signed_in_as(await db_person(engine, c.secretary))
    content = households_sheet(people.microgrid.code, [["99号", "外人", "", 1, "", "", ""]])
    job_id = (await upload(client, content)).headers["location"].rsplit("/", 1)[1]
    job = await until_settled(client, engine, job_id)
    assert job.problem_count == 1 and job.problems[0][3].startswith("This is outside your part of the grid")


async def test_a_file_that_is_not_a_workbook_says_so(client, engine, people, signed_in_as):
    await signed_in_as(people.secretary)
    job_id = (await upload(client, b"\x00\x01 nonsense", "x.xlsx")).headers["location"].rsplit("/", 1)[1]
    job = await until_settled(client, engine, job_id)
    assert job.status == "failed"
    assert "这不是Excel工作簿" in (await client.get(f"/registers/import/{job_id}")).text


async def test_an_upload_with_no_file_keeps_the_page(client, people, signed_in_as):
    await signed_in_as(people.secretary)
    response = await client.post("/registers/import", files={"other": ("a.txt", b"x")}, headers=await csrf_headers(client))
    assert response.status_code == 422 and "请选择要导入的文件" in response.text


async def test_someone_elses_job_is_not_found(client, engine, people, signed_in_as):
    await signed_in_as(people.secretary)
    job_id = (await upload(client, households_sheet("X", []))).headers["location"].rsplit("/", 1)[1]
    client.cookies.clear()
    await signed_in_as(people.admin)
    assert (await client.get(f"/registers/import/{job_id}")).status_code == 404


async def test_export_and_template_downloads(client, engine, people, signed_in_as):
    from server.registers.exporter import cells_of

    await signed_in_as(people.secretary)
    template = await client.get("/registers/template.xlsx")
    assert template.status_code == 200 and set(cells_of(template.content)) == {"网格", "住户", "人员", "岗位", "物业公司", "说明"}
    export = await client.get("/registers/export.xlsx")
    assert export.status_code == 200
    cells = cells_of(export.content)
    codes = {row[0] for row in cells["网格"][1:]}
    assert people.community.code in codes and people.other_community.code not in codes
    async with make_sessionmaker(engine)() as db:
        entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.object_type == "registers",
                                                              AuditEntry.person_id == people.secretary.id)
                                  .order_by(AuditEntry.id.desc()).limit(1))).scalar_one()
    assert entry.detail["rows"]["住户"] == len(cells["住户"]) - 1
