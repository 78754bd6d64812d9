"""Every bad file gets a clear message and writes nothing."""
from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from server.accounts.models import AuditEntry, Person, Post
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household, PropertyCompany
from server.i18n import gettext
from server.registers import reader, sheets
from tests.registers.conftest import workbook

TABLES = (GridNode, Household, Person, Post, PropertyCompany, AuditEntry)


async def row_counts(engine) -> dict[str, int]:
    async with make_sessionmaker(engine)() as db:
        return {m.__tablename__: (await db.execute(sa.select(sa.func.count()).select_from(m))).scalar_one() for m in TABLES}


async def import_bytes(engine, content: bytes, filename: str = "registers.xlsx"):
    """Through the command's own path: read, plan, apply only without a problem."""
    from pathlib import Path
    import tempfile

    from server.registers.commands import import_command

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_bytes(content)
        async with make_sessionmaker(engine)() as db:
            return await import_command(db, path, dry_run=False)


def street_rows(code: str = "XB") -> dict:
    return {
        "grid": [[code, "新街道", "街道", "", "", 0, "", "在用"],
                 [f"{code}-01", "一社区", "社区", "", code, 1, "", "在用"],
                 [f"{code}-01-001", "一小区", "小区", "居民小区", f"{code}-01", 1, "", "在用"],
                 [f"{code}-01-001-01", "1号微网格", "微网格", "居民小区", f"{code}-01-001", 1, "", "在用"]],
        "households": [[f"{code}-01-001-01", "1栋101室", "王秀英", "13800001111", 2, "独居老人", "", "在住"]],
        "people": [["李春秀", "13900002222", "女", 1975, "中共党员"]],
        "posts": [["13900002222", "李春秀", "微网格长", f"{code}-01-001-01", "A", "微网格长", "", "2024-03-01", ""]],
    }


def encrypted_like() -> bytes:
    # What Excel writes for a password-protected .xlsx: an OLE container with an EncryptionInfo stream.
    return reader.OLE_MAGIC + b"\x00" * 100 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 400


def macro_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook(**street_rows()))) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"macro")
    return buffer.getvalue()


def with_sheet_edit(edit) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets.SHEETS[:4]:
        ws = book.create_sheet(sheet.title)
        ws.append(sheet.headers)
        for row in street_rows()[sheet.kind]:
            ws.append(row)
    edit(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rename_header(book):
    book["住户"]["B1"] = "门牌号"


def _drop_header(book):
    book["人员"].delete_cols(3)  # 性别


def _merge(book):
    ws = book["住户"]
    ws.append(["XB-01-001-01", "1栋102室", "张三", "", 1, "", "", "在住"])
    ws.merge_cells("C2:C3")


def _formula(book):
    book["住户"]["E2"] = "=1+1"


def _id_column(book):
    book["人员"]["F1"] = "身份证号"
    book["人员"]["F2"] = "510129197501011234"


def _id_in_notes(book):
    book["住户"]["G2"] = "身份证510129197501011234"


def _unknown_sheet(book):
    book.create_sheet("花名册2").append(["a"])


def _rows(**changes):
    def build(book):
        for kind, rows in changes.items():
            title = {s.kind: s.title for s in sheets.SHEETS}[kind]
            for row in rows:
                book[title].append(row)
    return build


BAD_WORKBOOKS = {
    # case: (how the good file is spoiled, what the Chinese message says)
    "a renamed header": (_rename_header, "无法识别的列“门牌号”"),
    "a missing header": (_drop_header, "第一行缺少“性别”列"),
    "merged cells": (_merge, "有合并单元格（C2:C3）"),
    "a formula": (_formula, "这里是公式而不是数值"),
    "an ID-card column": (_id_column, "这一列像是身份证号码"),
    "an ID-card number in a note": (_id_in_notes, "这像是身份证号码"),
    "an unknown sheet": (_unknown_sheet, "无法识别的工作表“花名册2”"),
    "a duplicate row": (_rows(households=[["XB-01-001-01", "1栋101室", "王秀英", "", 2, "", "", ""]]), "第一次出现在第2行"),
    "an unknown parent code": (_rows(grid=[["XB-01-002", "二小区", "小区", "居民小区", "XB-09", 2, "", ""]]), "没有编码为“XB-09”的网格"),
    "a cycle in the tree": (_rows(grid=[["XB-01-006-01", "甲", "楼栋", "", "XB-01-006-02", 1, "", ""],
                                        ["XB-01-006-02", "乙", "楼栋", "", "XB-01-006-01", 2, "", ""]]), "形成了循环"),
    "a level under the wrong parent": (_rows(grid=[["XB-01-001-02", "小区下的社区", "社区", "", "XB-01-001", 2, "", ""]]), "社区不能放在小区之下"),
    "a phone that is not a phone": (_rows(households=[["XB-01-001-01", "1栋103室", "赵四", "12345", 1, "", "", ""]]), "不是电话号码"),
    "a mobile that is not a mobile": (_rows(people=[["钱五", "2390000111", "", "", ""]]), "不是手机号"),
    "a second A post": (_rows(people=[["孙六", "13900003333", "", "", ""]],
                              posts=[["13900003333", "孙六", "微网格长", "XB-01-001-01", "A", "", "", "", ""]]), "已有A岗微网格长（李春秀）"),
    "an unknown care tag": (_rows(households=[["XB-01-001-01", "1栋104室", "周七", "", 1, "孤寡", "", ""]]), "无法识别的关爱标签“孤寡”"),
    "a date that is not a date": (_rows(people=[["吴八", "13900004444", "", "", ""]],
                                        posts=[["13900004444", "吴八", "微网格长", "XB-01-001-01", "B", "", "", "去年", ""]]), "不是日期"),
}


@pytest.mark.parametrize("case", list(BAD_WORKBOOKS), ids=list(BAD_WORKBOOKS))
async def test_it_writes_nothing_and_says_why_for(case, empty_engine):
    edit, fragment = BAD_WORKBOOKS[case]
    before = await row_counts(empty_engine)
    summary = await import_bytes(empty_engine, with_sheet_edit(edit))
    assert summary["applied"] is False
    assert await row_counts(empty_engine) == before
    assert any(fragment in p["message"] for p in summary["problems"]), summary["problems"]
    # Every problem says where: sheet (and row, but for a whole sheet).
    assert all(p["sheet"] for p in summary["problems"])


def test_the_good_file_of_these_cases_is_good():
    """The cases above differ from this file by one thing only."""
    parsed = reader.read_upload(with_sheet_edit(lambda book: None), "ok.xlsx")
    assert parsed.problem_count == 0 and parsed.rows == 7


async def test_the_good_file_imports(empty_engine):
    summary = await import_bytes(empty_engine, with_sheet_edit(lambda book: None))
    assert summary["applied"] is True, summary["problems"]
    counts = await row_counts(empty_engine)
    assert counts["grid_node"] == 4 and counts["household"] == 1 and counts["post"] == 1


UNREADABLE = {
    "not a workbook": (b"%PDF-1.4 not a spreadsheet \x00\x01\x02", "x.xlsx", reader.MSG_NOT_WORKBOOK),
    "an old .xls": (reader.OLE_MAGIC + b"\x00" * 600, "old.xls", reader.MSG_OLD_XLS),
    "password-protected": (encrypted_like(), "locked.xlsx", reader.MSG_PASSWORD),
    "macro-enabled": (macro_workbook(), "macro.xlsm", reader.MSG_MACROS),
    "a broken zip": (b"PK\x03\x04 broken", "broken.xlsx", reader.MSG_NOT_WORKBOOK),
    "larger than 20 MB": (b"a,b\n" + b"x" * (reader.MAX_BYTES + 1), "big.csv", reader.MSG_TOO_BIG),
}


@pytest.mark.parametrize("case", list(UNREADABLE), ids=list(UNREADABLE))
async def test_it_refuses_unreadable_files(case, empty_engine):
    content, filename, message = UNREADABLE[case]
    with pytest.raises(reader.FileRefused) as refused:
        reader.read_upload(content, filename)
    assert refused.value.message == message
    before = await row_counts(empty_engine)
    summary = await import_bytes(empty_engine, content, filename)
    assert summary["applied"] is False and summary["problem_count"] == 1
    assert summary["problems"][0]["message"] == gettext("zh-CN", message)
    assert await row_counts(empty_engine) == before


def test_it_refuses_more_than_200000_rows():
    header = ",".join(sheets.PEOPLE.headers) + "\n"
    body = "".join(f"某人,1{i:010d},,,\n" for i in range(reader.MAX_ROWS + 1))
    with pytest.raises(reader.FileRefused) as refused:
        reader.read_upload((header + body).encode(), "人员.csv")
    assert refused.value.message == reader.MSG_TOO_MANY_ROWS


def test_it_counts_rows_of_a_workbook_before_reading_them(monkeypatch):
    monkeypatch.setattr(reader, "MAX_ROWS", 5)
    rows = street_rows()
    rows["households"] = [["XB-01-001-01", f"{i}号", "某", "", 1, "", "", ""] for i in range(10)]
    with pytest.raises(reader.FileRefused) as refused:
        reader.read_upload(workbook(**rows), "many.xlsx")
    assert refused.value.message == reader.MSG_TOO_MANY_ROWS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
async def test_it_reads_a_csv_sheet_in(encoding, empty_engine):
    first = await import_bytes(empty_engine, workbook(**{k: v for k, v in street_rows().items() if k == "grid"}))
    assert first["applied"], first["problems"]
    text = ",".join(sheets.HOUSEHOLDS.headers) + "\n" + "XB-01-001-01,2栋201室,刘德华,028-88886666,3,低保、退役军人,老住户,在住\n"
    summary = await import_bytes(empty_engine, text.encode(encoding), "住户.csv")
    assert summary["applied"], summary["problems"]
    async with make_sessionmaker(empty_engine)() as db:
        household = (await db.execute(sa.select(Household).where(Household.address == "2栋201室"))).scalar_one()
    assert household.head_name == "刘德华" and household.care_tags == ["low_income", "veteran"]
