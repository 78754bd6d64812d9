"""Every .xlsx the app writes is made here, and every string in it is written as text.

openpyxl stores a string starting with "=" as a formula: a resident's report
`=cmd|' /C calc'!A0` would run when the street's office opens the ledger. Here every str
value becomes a text cell (data type "s"), whatever it starts with (= + - @, a tab or a
carriage return), and is shown exactly as typed; numbers and dates stay numbers and dates.

    book = Book()                       # Book(write_only=True) streams big sheets
    sheet = book.sheet("问题台账")
    sheet.append(["编号", "问题描述"], font=BOLD)
    sheet.ws.column_dimensions["A"].width = 12   # styling goes to the openpyxl sheet
    body = book.save()

A risky string (starting with = + - @, a tab or a carriage return) also gets Excel's quote
prefix (the leading apostrophe), so it stays text when someone edits the cell in Excel or WPS.
A hand-built write-only row uses `text_cell(ws, value)` for the same.

Only this module imports openpyxl's Workbook and cells (tests/test_spreadsheets.py checks),
so a new export cannot write a cell another way; reading a workbook (load_workbook) is free.
"""
from __future__ import annotations

import io
from typing import Any, Iterable

from openpyxl import Workbook  # noqa: F401 (re-exported: the registers' exporter builds its sheets)
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill  # noqa: F401 (re-exported for the exports' styles)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOLD = Font(bold=True)
RISKY_START = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: str) -> bool:
    return value.startswith(RISKY_START)


def _as_text(cell) -> None:
    if isinstance(cell.value, str):
        # Set after the value: openpyxl guesses "f" (formula) for a leading "=".
        cell.data_type = "s"
        if is_risky(cell.value):
            cell.quotePrefix = True


def text_cell(ws, value: Any) -> Any:
    """`value` for a hand-built write-only row: plain text as it is (openpyxl keeps it text), a
    risky one as a quoted text cell; None stays empty. (Cheaper than a cell each, for 55,000 rows.)"""
    if value is None:
        return None
    text = str(value)
    if not is_risky(text):
        return text
    cell = WriteOnlyCell(ws, value=text)
    _as_text(cell)
    return cell


class Sheet:
    """One worksheet; `append` writes a row, user text as text. `ws` is the openpyxl sheet, for styling."""

    def __init__(self, ws, write_only: bool) -> None:
        self.ws = ws
        self.write_only = write_only

    def append(self, values: Iterable[Any], *, font: Font | None = None, fill: PatternFill | None = None,
               alignment: Alignment | None = None) -> None:
        if self.write_only:
            cells = []
            for value in values:
                cell = WriteOnlyCell(self.ws, value=value)
                _as_text(cell)
                if font is not None:
                    cell.font = font
                if fill is not None:
                    cell.fill = fill
                if alignment is not None:
                    cell.alignment = alignment
                cells.append(cell)
            self.ws.append(cells)
            return
        values = list(values)
        self.ws.append(values)
        if not values:
            return
        for cell in self.ws[self.ws.max_row]:
            _as_text(cell)
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if alignment is not None:
                cell.alignment = alignment

    @property
    def last_row(self):
        return self.ws[self.ws.max_row]


class Book:
    def __init__(self, *, write_only: bool = False) -> None:
        self.write_only = write_only
        self.workbook = Workbook(write_only=write_only)
        self._first = not write_only  # a normal workbook starts with one sheet

    def sheet(self, title: str) -> Sheet:
        if self._first:
            self._first = False
            ws = self.workbook.active
            ws.title = title
        else:
            ws = self.workbook.create_sheet(title)
        return Sheet(ws, self.write_only)

    def save(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()
