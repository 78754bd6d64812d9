"""Text cells that stay text: the registers' guard against formula injection in exports.

A name typed as `=HYPERLINK("http://…")` or `+cmd|' /C calc'!A0` must reach the street's
Excel as the characters typed, never as a formula. openpyxl turns any string starting
with "=" into a formula cell; Excel and WPS evaluate + - @ at the start when a cell is
edited, and a leading tab or carriage return hides the rest. So such a value is written
as a string cell (data type "s") with the quote prefix set (Excel's leading apostrophe).

(A shared helper for every export is being added on the `security` branch as
server/spreadsheets.py; fold this one into it when both are on main.)
"""
from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell

RISKY_START = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: str) -> bool:
    return value.startswith(RISKY_START)


def text_cell(ws, value: Any) -> Any:
    """`value` for a write-only sheet: plain text as it is, a risky one as a quoted string cell."""
    if value is None:
        return None
    text = str(value)
    if not is_risky(text):
        return text
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
