"""Text cells that stay text: the registers' guard against formula injection in exports.

A name typed as `=HYPERLINK("http://…")` or `+cmd|' /C calc'!A0` must reach the street's
Excel as the characters typed, never as a formula. openpyxl turns any string starting
with "=" into a formula cell; Excel and WPS evaluate + - @ at the start when a cell is
edited, and a leading tab or carriage return hides the rest. So such a value is written
as a string cell (data type "s") with the quote prefix set (Excel's leading apostrophe).

The rule lives in server/spreadsheets.py, shared by every export; these names stay for the
registers' code.
"""
from __future__ import annotations

from server.spreadsheets import RISKY_START, is_risky, text_cell  # noqa: F401 (the registers' names)
