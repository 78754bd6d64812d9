"""Exporting the registers, and the empty template: one workbook, streamed (openpyxl write-only).

The export is what the import reads back: same sheets, same headers, codes and phone
numbers as text, dates as 2024-03-01. Exporting, importing the file into an empty
database and exporting again gives the same cells (tests/registers/test_round_trip.py).

Every text a person typed goes out as text: a cell starting with = + - @ or a tab or
carriage return is written as a string with Excel's quote prefix, so it can never run
as a formula (server/registers/cells.py).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.accounts.models import Person, Post, Role
from server.grid.models import GridNode, Household, Level, PropertyCompany, active_household
from server.tree import subtree_bounds
from server.registers import sheets
from server.registers.cells import text_cell
from server.spreadsheets import Font, Workbook, WriteOnlyCell

WIDTHS = {"编码": 22, "名称": 26, "上级编码": 22, "微网格编码": 24, "地址": 22, "关爱标签": 16, "备注": 30,
          "手机号": 15, "电话": 15, "网格编码": 24, "职务": 14, "物业公司": 26, "开始日期": 12, "结束日期": 12}

Progress = Callable[[int, int], None]


def _sheet(book: Workbook, sheet: sheets.Sheet):
    ws = book.create_sheet(sheet.title)
    for index, column in enumerate(sheet.columns):
        letter = chr(ord("A") + index)
        ws.column_dimensions[letter].width = WIDTHS.get(column.header, 10)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    return ws


def _notes(book: Workbook) -> None:
    ws = book.create_sheet(sheets.NOTES_SHEET)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 90
    bold = Font(bold=True)
    ws.append([WriteOnlyCell(ws, value=v) for v in ("工作表", "列", "必填", "说明")])
    for cell in ws._cells if hasattr(ws, "_cells") else []:  # pragma: no cover - write-only has none
        cell.font = bold
    ws.append(["", "", "", "每张表第一行是列名，请不要修改或删除列名；不需要的表可以删除。导入前会先检查全部内容，"
               "有任何问题都不会写入，问题会按“表 / 行 / 列”列出。同一文件重复导入不会重复添加。"])
    ws.append(["", "", "", "系统不保存身份证号码：含身份证号码的列或单元格会被拒绝。"])
    for sheet in sheets.SHEETS:
        ws.append([sheet.title, "", "", sheet.about])
        for column in sheet.columns:
            ws.append([sheet.title, column.header, "是" if column.required else "", column.note])


def template_workbook() -> bytes:
    """Headers, one example row per sheet, and the notes sheet."""
    book = Workbook(write_only=True)
    for sheet in sheets.SHEETS:
        ws = _sheet(book, sheet)
        ws.append([text_cell(ws, c.example) for c in sheet.columns])
    _notes(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _in_roots(column, roots: list[str] | None):
    if roots is None:
        return sa.true()
    if not roots:
        return sa.false()
    clauses = []
    for root in roots:
        low, high = subtree_bounds(root)
        clauses.append(sa.and_(column >= low, column < high))
    return sa.or_(*clauses)


def _date(value) -> str:
    return value.isoformat() if value else ""


async def export_workbook(db: AsyncSession, roots: list[str] | None, *, all_companies: bool = False,
                          progress: Progress | None = None) -> tuple[bytes, dict[str, int]]:
    """The registers under `roots` (None: everything) as .xlsx bytes, and the rows per sheet."""
    book = Workbook(write_only=True)
    counts: dict[str, int] = {}
    done = 0

    def tick(n: int = 1) -> None:
        nonlocal done
        done += n
        if progress and done % 5000 == 0:
            progress(done, 0)

    companies_used: set[int] = set()
    company_names = dict((await db.execute(sa.select(PropertyCompany.id, PropertyCompany.name))).all())

    # 网格
    ws = _sheet(book, sheets.GRID)
    parent = aliased(GridNode)
    rows = await db.stream(
        sa.select(GridNode.code, GridNode.name, GridNode.level, GridNode.kind, parent.code, GridNode.sort_order,
                  GridNode.property_company_id, GridNode.retired_at)
        .outerjoin(parent, parent.id == GridNode.parent_id)
        .where(_in_roots(GridNode.path, roots)).order_by(GridNode.path)
    )
    n = 0
    async for code, name, level, kind, parent_code, order, company_id, retired_at in rows:
        if company_id:
            companies_used.add(company_id)
        ws.append([
            text_cell(ws, code), text_cell(ws, name), sheets.LEVEL_WORDS[Level(level)],
            sheets.KIND_WORDS.get(kind, "") if kind else "", text_cell(ws, parent_code or ""), order,
            text_cell(ws, company_names.get(company_id, "")),
            sheets.NODE_RETIRED if retired_at is not None else sheets.NODE_ACTIVE,
        ])
        n += 1
        tick()
    counts[sheets.GRID.title] = n

    # 住户: the households living there now (the history stays in the database).
    ws = _sheet(book, sheets.HOUSEHOLDS)
    rows = await db.stream(
        sa.select(GridNode.code, Household.address, Household.head_name, Household.phone, Household.members,
                  Household.care_tags, Household.notes)
        .join(GridNode, GridNode.id == Household.microgrid_id)
        .where(_in_roots(Household.grid_path, roots), active_household())
        .order_by(Household.grid_path, Household.id)
    )
    n = 0
    async for code, address, head, phone, members, tags, notes in rows:
        ws.append([
            text_cell(ws, code), text_cell(ws, address), text_cell(ws, head), text_cell(ws, phone), members,
            "、".join(sheets.CARE_WORDS.get(t, t) for t in (tags or [])), text_cell(ws, notes),
            sheets.HOUSEHOLD_STATUS_WORDS[sheets.HouseholdStatus.active],
        ])
        n += 1
        tick()
    counts[sheets.HOUSEHOLDS.title] = n

    # 岗位 first in memory (a few thousand), so 人员 lists exactly the people of these posts.
    post_rows = (await db.execute(
        sa.select(Person.id, Person.phone, Person.name, Post.role, GridNode.code, Post.post_kind, Post.title,
                  Post.company_id, Post.started_on, Post.ended_on)
        .join(Person, Person.id == Post.person_id).join(GridNode, GridNode.id == Post.node_id)
        .where(_in_roots(Post.node_path, roots)).order_by(Post.node_path, Post.id)
    )).all()
    person_ids = sorted({r[0] for r in post_rows})
    ws = _sheet(book, sheets.PEOPLE)
    n = 0
    for start in range(0, len(person_ids), 500):
        for name, phone, gender, year, political in (await db.execute(
            sa.select(Person.name, Person.phone, Person.gender, Person.birth_year, Person.political_status)
            .where(Person.id.in_(person_ids[start:start + 500])).order_by(Person.id)
        )).all():
            ws.append([
                text_cell(ws, name), text_cell(ws, phone), sheets.GENDER_WORDS.get(gender, ""), year,
                sheets.POLITICAL_WORDS.get(political, "") if political else "",
            ])
            n += 1
            tick()
    counts[sheets.PEOPLE.title] = n

    ws = _sheet(book, sheets.POSTS)
    for _pid, phone, name, role, code, kind, title, company_id, started, ended in post_rows:
        if company_id:
            companies_used.add(company_id)
        ws.append([
            text_cell(ws, phone), text_cell(ws, name), sheets.ROLE_WORDS[Role(role)], text_cell(ws, code),
            kind or "", text_cell(ws, title), text_cell(ws, company_names.get(company_id, "") if role == Role.property else ""),
            _date(started), _date(ended),
        ])
        tick()
    counts[sheets.POSTS.title] = len(post_rows)

    ws = _sheet(book, sheets.COMPANIES)
    query = sa.select(PropertyCompany.id, PropertyCompany.name, PropertyCompany.phone).order_by(PropertyCompany.id)
    n = 0
    for company_id, name, phone in (await db.execute(query)).all():
        if all_companies or company_id in companies_used:
            ws.append([text_cell(ws, name), text_cell(ws, phone)])
            n += 1
    counts[sheets.COMPANIES.title] = n

    _notes(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), counts


def cells_of(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values (for comparing two exports: the files' bytes differ by timestamps)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()
