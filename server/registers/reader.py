"""Reading the street's files: an .xlsx workbook (values by calamine) or one CSV
sheet (UTF-8 or GBK), into plain rows with every problem said by sheet, row and column.

A file that cannot be read at all raises `FileRefused` (not a workbook, an old .xls,
password-protected, macro-enabled, larger than 20 MB, more than 200,000 rows). Anything
wrong inside a readable file is a `Problem`: a missing or renamed header, merged cells,
a formula where a value should be, an ID-card number. The importer adds its own problems
(duplicates, unknown codes, a cycle...) and writes nothing while there is one.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from server.i18n import N_
from server.registers import sheets
from server.registers.sheets import NOTES_SHEET, SHEET_BY_TITLE, SHEETS, Sheet

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
# A 20 MB zip can unpack to gigabytes: we refuse absurd files before reading them.
MAX_UNPACKED = 600 * 1024 * 1024
MAX_PROBLEMS = 5_000  # kept and shown; the count is always complete

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")

MSG_TOO_BIG = N_("The file is larger than 20 MB. Split it (for example one community per file) and import the parts.")
MSG_TOO_MANY_ROWS = N_("The file has more than 200,000 rows. Split it (for example one community per file) and import the parts.")
MSG_NOT_WORKBOOK = N_("This is not an Excel workbook (.xlsx) or a CSV file. Save it from Excel or WPS as .xlsx and try again.")
MSG_OLD_XLS = N_("This is an old Excel file (.xls). Open it in Excel or WPS and save it as .xlsx, then try again.")
MSG_PASSWORD = N_("This workbook is protected with a password. Remove the password (File → Info → Protect Workbook), save, and try again.")
MSG_MACROS = N_("This workbook contains macros (.xlsm). Save it as an ordinary workbook (.xlsx) and try again.")
MSG_EMPTY = N_("The file holds no register sheet. Use the template: the sheets are named 网格, 住户, 人员, 岗位 and 物业公司.")
MSG_CSV_UNKNOWN = N_("Cannot tell which register this CSV file holds. Name it after its sheet (for example 住户.csv) or use the template's headers.")
MSG_CSV_ENCODING = N_("The CSV file is neither UTF-8 nor GBK text. Save it again as CSV (UTF-8).")

MSG_UNKNOWN_SHEET = N_("Unknown sheet \"%(name)s\". The register sheets are 网格, 住户, 人员, 岗位 and 物业公司 (and 说明, which is ignored).")
MSG_MISSING_HEADER = N_("The column \"%(header)s\" is missing from the first row. Keep the template's headers as they are.")
MSG_UNKNOWN_HEADER = N_("Unknown column \"%(header)s\" (renamed?). The columns of this sheet are: %(expected)s.")
MSG_DUPLICATE_HEADER = N_("The column \"%(header)s\" appears twice.")
MSG_ID_HEADER = N_("This column looks like ID-card numbers. We never store ID-card numbers: delete the column and try again.")
MSG_ID_VALUE = N_("This looks like an ID-card number. We never store ID-card numbers: remove it.")
MSG_MERGED = N_("Merged cells (%(range)s). Unmerge them and fill in every cell.")
MSG_FORMULA = N_("A formula instead of a value. Copy the column and paste it back as values.")
MSG_TOO_LONG = N_("Too long: at most %(max)s characters.")

MAX_CELL = 500


@dataclass
class Problem:
    sheet: str
    row: int  # 1-based as in Excel; 0 for the whole file or sheet
    column: str  # the header, "" for a whole row or sheet
    message: str  # an English message id (server.i18n), translated where shown
    params: dict[str, Any] = field(default_factory=dict)

    def as_list(self) -> list[Any]:
        return [self.sheet, self.row, self.column, self.message, self.params]


class FileRefused(ValueError):
    """The file cannot be read at all; nothing is imported."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass
class ParsedSheet:
    sheet: Sheet
    # (Excel row number, values in the order of sheet.columns: str, or date for a date cell)
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)


@dataclass
class ParsedFile:
    sheets: dict[str, ParsedSheet] = field(default_factory=dict)  # by sheet kind
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


Progress = Callable[[int, int], None]


def read_upload(content: bytes, filename: str, progress: Progress | None = None) -> ParsedFile:
    """Read an uploaded file; FileRefused when it cannot be read at all."""
    if len(content) > MAX_BYTES:
        raise FileRefused(MSG_TOO_BIG)
    if content.startswith(OLE_MAGIC):
        # An encrypted .xlsx is an OLE container with an EncryptionInfo stream; else an old .xls.
        raise FileRefused(MSG_PASSWORD if ENCRYPTION_INFO in content else MSG_OLD_XLS)
    if content.startswith(b"PK"):
        return _read_workbook(content, filename, progress)
    if PurePath(filename).suffix.lower() in (".csv", ".txt") or _looks_like_text(content):
        return _read_csv(content, filename, progress)
    raise FileRefused(MSG_NOT_WORKBOOK)


def _looks_like_text(content: bytes) -> bool:
    head = content[:4096]
    return bool(head) and b"\x00" not in head


# --- values ----------------------------------------------------------------------------

def cell_text(value: Any) -> Any:
    """A cell as the importer wants it: stripped text, or a date for a date cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip().replace("\u3000", " ").strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Codes and phones typed into number cells come back as floats: 13800001111.0.
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


class _SheetReader:
    """Maps a header row to the sheet's columns, then checks and collects each data row."""

    def __init__(self, parsed: ParsedFile, sheet: Sheet) -> None:
        self.parsed = parsed
        self.sheet = sheet
        self.out = ParsedSheet(sheet)
        self.index: list[int | None] = []  # for each sheet column: its position in the file
        self.headers: list[str] = []
        self.ok = True

    def header(self, cells: list[Any]) -> None:
        names = [cell_text(c) if not isinstance(c, (date, datetime)) else str(c) for c in cells]
        names = [re.sub(r"[\s*＊]+$", "", n.replace(" ", "")) if isinstance(n, str) else "" for n in names]
        # The header row of the template may end with empty cells; a named column must be known.
        expected = {c.header: c for c in self.sheet.columns}
        seen: dict[str, int] = {}
        for position, name in enumerate(names):
            if not name:
                continue
            if sheets.ID_CARD_HEADER.search(name):
                self.problem(1, name, MSG_ID_HEADER)
                continue
            if name not in expected:
                self.problem(1, name, MSG_UNKNOWN_HEADER, header=name, expected="、".join(self.sheet.headers))
                continue
            if name in seen:
                self.problem(1, name, MSG_DUPLICATE_HEADER, header=name)
                continue
            seen[name] = position
        for column in self.sheet.columns:
            if column.header not in seen:
                self.problem(1, column.header, MSG_MISSING_HEADER, header=column.header)
        self.index = [seen.get(c.header) for c in self.sheet.columns]
        self.headers = names

    def problem(self, row: int, column: str, message: str, **params: Any) -> None:
        self.ok = False
        self.parsed.add(Problem(self.sheet.title, row, column, message, params))

    def row(self, number: int, cells: list[Any], formulas: set[int] = frozenset()) -> None:
        """One data row: `cells` are raw values; `formulas` the positions holding a formula."""
        values: list[Any] = []
        for column, position in zip(self.sheet.columns, self.index):
            raw = cells[position] if position is not None and position < len(cells) else None
            if position is not None and position in formulas:
                self.parsed.add(Problem(self.sheet.title, number, column.header, MSG_FORMULA))
                values.append("")
                continue
            value = cell_text(raw)
            if isinstance(value, str) and value:
                if _contains_id_card(value):
                    self.parsed.add(Problem(self.sheet.title, number, column.header, MSG_ID_VALUE))
                    value = ""
                elif len(value) > MAX_CELL:
                    self.parsed.add(Problem(self.sheet.title, number, column.header, MSG_TOO_LONG, {"max": MAX_CELL}))
                    value = value[:MAX_CELL]
            values.append(value)
        # Columns the sheet does not know are not kept, but an ID number there is still refused.
        for position, raw in enumerate(cells):
            if position not in self.index and isinstance(raw, str) and _contains_id_card(raw.strip()):
                header = self.headers[position] if position < len(self.headers) else ""
                self.parsed.add(Problem(self.sheet.title, number, header, MSG_ID_VALUE))
        self.out.rows.append((number, tuple(values)))


_ID_INSIDE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?![\dXx])")


def _contains_id_card(text: str) -> bool:
    return bool(_ID_INSIDE.search(text))


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# --- .xlsx ----------------------------------------------------------------------------
# Values come from calamine (Rust, ~20x faster than openpyxl's reader on 55,000 rows);
# what calamine does not tell, a formula where a value should be and merged cells, comes
# from one streamed pass over each sheet's XML.

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+)(\d+)(?::([A-Z]+\d+))?"')
_FORMULA = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*<(?:\w+:)?f\b')
_ROW = re.compile(rb'<(?:\w+:)?row\b')
_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*>')
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_REL = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*>')


@dataclass
class _SheetXml:
    merged: list[tuple[str, int, str]] = field(default_factory=list)  # (column letter, row, range)
    formulas: dict[int, set[int]] = field(default_factory=dict)  # row -> 0-based column positions
    rows: int = 0


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _scan_sheet(archive: zipfile.ZipFile, member: str) -> _SheetXml:
    """Merged ranges, formula cells and the row count of one sheet, read from its XML in chunks."""
    found = _SheetXml()
    tail = b""
    seen_merge: set[bytes] = set()
    seen_formula: set[tuple[bytes, bytes]] = set()
    with archive.open(member) as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            found.rows += len(_ROW.findall(chunk))
            for match in _FORMULA.finditer(data):
                key = (match.group(1), match.group(2))
                if key not in seen_formula:
                    seen_formula.add(key)
                    found.formulas.setdefault(int(match.group(2)), set()).add(_column_index(match.group(1).decode()))
            for match in _MERGE.finditer(data):
                if match.group(0) in seen_merge:
                    continue
                seen_merge.add(match.group(0))
                first = match.group(1).decode() + match.group(2).decode()
                last = (match.group(3) or b"").decode()
                found.merged.append((match.group(1).decode(), int(match.group(2)), f"{first}:{last}" if last else first))
            tail = data[-400:]
    return found


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML file inside the zip (from workbook.xml and its relationships)."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for tag in _REL.findall(rels):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get(b"Target", b"").decode()
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[attrs.get(b"Id", b"").decode()] = target
    out = {}
    for tag in _SHEET.findall(workbook):
        attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(tag)}
        name = attrs.get(b"name", b"").decode()
        name = name.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        out[name] = targets.get(attrs.get(b"id", b"").decode(), "")
    return out


def _read_workbook(content: bytes, filename: str, progress: Progress | None) -> ParsedFile:
    from python_calamine import CalamineWorkbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRefused(MSG_NOT_WORKBOOK) from None
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise FileRefused(MSG_NOT_WORKBOOK)
    if "xl/vbaProject.bin" in names or PurePath(filename).suffix.lower() in (".xlsm", ".xltm", ".xlam"):
        raise FileRefused(MSG_MACROS)
    try:
        content_types = archive.read("[Content_Types].xml")
    except KeyError:
        raise FileRefused(MSG_NOT_WORKBOOK) from None
    if b"macroEnabled" in content_types:
        raise FileRefused(MSG_MACROS)
    if unpacked > MAX_UNPACKED:
        raise FileRefused(MSG_TOO_BIG)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception:  # noqa: BLE001 - calamine raises several kinds for a broken file
        raise FileRefused(MSG_NOT_WORKBOOK) from None
    members = _sheet_members(archive)
    parsed = ParsedFile()
    scans = {}
    for title in book.sheet_names:
        member = members.get(title)
        if title.strip() in SHEET_BY_TITLE and member in names:
            scans[title] = _scan_sheet(archive, member)
    total = sum(scan.rows for scan in scans.values())
    if total > MAX_ROWS + len(scans):
        raise FileRefused(MSG_TOO_MANY_ROWS)
    done = 0
    for title in book.sheet_names:
        clean = title.strip()
        if clean == NOTES_SHEET:
            continue
        sheet = SHEET_BY_TITLE.get(clean)
        if sheet is None:
            parsed.add(Problem(title, 0, "", MSG_UNKNOWN_SHEET, {"name": title}))
            continue
        scan = scans.get(title, _SheetXml())
        try:
            rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001
            raise FileRefused(MSG_NOT_WORKBOOK) from None
        if not rows:
            continue  # an empty sheet: nothing to import from it
        reader = _SheetReader(parsed, sheet)
        reader.header(list(rows[0]))
        for letter, row_number, cell_range in scan.merged:
            reader.problem(row_number, _column_letter_to_header(letter, reader.headers), MSG_MERGED, range=cell_range)
        if not reader.ok:
            continue
        for number, cells in enumerate(rows[1:], start=2):
            if _blank(cells) and number not in scan.formulas:
                continue
            parsed.rows += 1
            if parsed.rows > MAX_ROWS:
                raise FileRefused(MSG_TOO_MANY_ROWS)
            reader.row(number, list(cells), scan.formulas.get(number, frozenset()))
            done += 1
            if progress and done % 5000 == 0:
                progress(done, max(total, done))
        parsed.sheets[sheet.kind] = reader.out
        del rows
    if not parsed.sheets and not parsed.problem_count:
        raise FileRefused(MSG_EMPTY)
    if progress:
        progress(parsed.rows, parsed.rows)
    return parsed


def _column_letter_to_header(letter: str, headers: list[str]) -> str:
    index = _column_index(letter)
    return headers[index] if 0 <= index < len(headers) else letter


# --- .csv -----------------------------------------------------------------------------

def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")  # a superset of GBK, as Excel and WPS save "CSV" in China
    except UnicodeDecodeError:
        raise FileRefused(MSG_CSV_ENCODING) from None


def _csv_sheet(filename: str, header: list[str]) -> Sheet | None:
    stem = PurePath(filename).stem.strip()
    for sheet in SHEETS:
        if stem == sheet.title or stem.lower() == sheet.kind or stem.endswith(sheet.title):
            return sheet
    names = {re.sub(r"[\s*＊]+$", "", h.strip().replace(" ", "")) for h in header if h and h.strip()}
    best = max(SHEETS, key=lambda s: len(names & set(s.headers)))
    return best if names & set(best.headers) and len(names & set(best.headers)) >= len(best.headers) // 2 else None


def _read_csv(content: bytes, filename: str, progress: Progress | None) -> ParsedFile:
    text = _decode(content)
    if "\x00" in text:
        raise FileRefused(MSG_NOT_WORKBOOK)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(rows, None)
    except csv.Error:
        raise FileRefused(MSG_NOT_WORKBOOK) from None
    if header is None:
        raise FileRefused(MSG_EMPTY)
    sheet = _csv_sheet(filename, header)
    if sheet is None:
        raise FileRefused(MSG_CSV_UNKNOWN)
    parsed = ParsedFile()
    reader = _SheetReader(parsed, sheet)
    reader.header(header)
    if reader.ok:
        try:
            for number, cells in enumerate(rows, start=2):
                if _blank(cells):
                    continue
                parsed.rows += 1
                if parsed.rows > MAX_ROWS:
                    raise FileRefused(MSG_TOO_MANY_ROWS)
                reader.row(number, cells)
                if progress and parsed.rows % 2000 == 0:
                    progress(parsed.rows, parsed.rows)
        except csv.Error:
            raise FileRefused(MSG_NOT_WORKBOOK) from None
        parsed.sheets[sheet.kind] = reader.out
    return parsed
