"""Importing the registers: a dry run that writes nothing, then the same plan applied in one
transaction.

    parsed = reader.read_upload(content, filename)        # rows, and problems of the file
    plan = await make_plan(db, authority, parsed)          # reads the database, writes nothing
    plan.counts, plan.problems                             # what would change, what is wrong
    await apply_plan(db, authority, plan, ...)             # only when there is no problem

Natural keys, so that importing the same file twice changes nothing:
    网格 the code · 住户 micro-grid code + address (among households living there now) ·
    人员 the mobile number · 岗位 mobile + role + grid code + A/B (a current post; a row with
    an end date ends it, or is kept as history) · 物业公司 the name.
A row that is not in the file is left alone: retiring is said in the file (状态 撤销 /
迁出 / 已故, an end date), never inferred from a missing row.

Scope: each row is checked against the importer's authority (a `Viewer`, or `CommandLine`
for `weiwang registers import`): nodes and households through `may_edit`, posts through
`may_appoint`, and a person's posts through `covers` (authority follows the post). A row
outside it is a problem, never skipped silently.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.audit import record
from server.accounts.invites import void_invites_for_post
from server.accounts.models import Person, Post, Role
from server.clock import today_in_china, utcnow
from server.grid.models import GridNode, Household, HouseholdStatus, Level, PropertyCompany
from server.tree import SEGMENT, child_path, subtree_bounds
from server.i18n import N_
from server.registers import sheets
from server.registers.paths import MAX_DEPTH, rewrite_subtree
from server.registers.reader import ParsedFile, Problem

CHUNK = 500  # ids or keys per IN (...): under every driver's parameter limit
INSERT_CHUNK = 2000

MSG_REQUIRED = N_("Required.")
MSG_DUPLICATE = N_("The same %(key)s appears again (first on row %(first)s).")
MSG_BAD_CODE = N_("A code is letters, digits, - _ or . (at most 40 characters).")
MSG_BAD_LEVEL = N_("Unknown level \"%(value)s\". Use 街道, 社区, 小区, 楼栋, 单元 or 微网格.")
MSG_BAD_KIND = N_("Unknown type \"%(value)s\" for this level. Use one of: %(allowed)s.")
MSG_KIND_NOT_HERE = N_("Only compounds and micro-grids have a type: leave this empty.")
MSG_UNKNOWN_PARENT = N_("No grid with the code \"%(code)s\", in this file or in the system.")
MSG_WRONG_PARENT_LEVEL = N_("A %(level)s cannot sit under a %(parent)s. A node sits under a higher level.")
MSG_STREET_PARENT = N_("Only a street has no parent code.")
MSG_CYCLE = N_("These parent codes go round in a circle: %(codes)s.")
MSG_TOO_DEEP = N_("The tree would be more than 8 levels deep here.")
MSG_LEVEL_CHANGED = N_("The level of an existing grid cannot change (it is %(level)s). Retire it and add a new one.")
MSG_BAD_STATUS = N_("Unknown status \"%(value)s\". Use one of: %(allowed)s.")
MSG_BAD_INT = N_("A whole number is needed.")
MSG_BAD_MEMBERS = N_("Members must be a whole number from 1 to 30.")
MSG_UNKNOWN_COMPANY = N_("No property company named \"%(name)s\", in the 物业公司 sheet or in the system.")
MSG_RETIRED_TARGET = N_("The grid \"%(code)s\" is retired.")
MSG_RETIRE_BUSY = N_("This grid cannot be retired while %(what)s. Move or end them first (they may be in this file too).")
MSG_PARENT_RETIRED = N_("The parent grid \"%(code)s\" is retired.")
MSG_NOT_MICROGRID = N_("\"%(code)s\" is not a micro-grid: households hang off micro-grids.")
MSG_BAD_PHONE = N_("Not a phone number: use an 11-digit mobile number or a landline like 028-88888888.")
MSG_BAD_MOBILE = N_("Not a mobile number: 11 digits starting with 1.")
MSG_BAD_CARE = N_("Unknown care tag \"%(value)s\". Use: 独居老人、残疾人、低保、留守儿童、退役军人、大病、特困供养.")
MSG_NO_SUCH_HOUSEHOLD = N_("No household lives at this address on this micro-grid, so it cannot be marked %(status)s.")
MSG_BAD_GENDER = N_("Gender is 男 or 女 (or empty).")
MSG_BAD_YEAR = N_("Birth year is a four-digit year such as 1975.")
MSG_BAD_POLITICAL = N_("Unknown 政治面貌 \"%(value)s\". Use 中共党员、中共预备党员、共青团员、民主党派、无党派人士 or 群众.")
MSG_SHARED_PHONE = N_("Several people in the system share this mobile number; correct them in the app first.")
MSG_NO_POST = N_("This new person has no post in the 岗位 sheet. Add their post, or leave them out.")
MSG_UNKNOWN_PERSON = N_("No person with this mobile number, in the 人员 sheet or in the system.")
MSG_NAME_MISMATCH = N_("This mobile number belongs to %(name)s, not to this name.")
MSG_BAD_ROLE = N_("Unknown role \"%(value)s\". Use 街道管理员、社区工作人员、网格员、微网格长 or 物业.")
MSG_ROLE_LEVEL = N_("A %(role)s post does not belong on a %(level)s.")
MSG_POST_KIND = N_("A micro-grid leader's post is A or B.")
MSG_POST_KIND_NOT_HERE = N_("Only micro-grid leaders have an A or B post: leave this empty.")
MSG_COMPANY_NOT_HERE = N_("Only property company staff belong to a company: leave this empty.")
MSG_COMPANY_NEEDED = N_("Which property company does this person work for? The grid has none either.")
MSG_BAD_DATE = N_("Not a date: write it like 2024-03-01.")
MSG_FUTURE_DATE = N_("This date is in the future.")
MSG_END_BEFORE_START = N_("The end date is before the start date.")
MSG_SECOND_A = N_("The micro-grid \"%(code)s\" already has an A-post leader (%(name)s). Give their post an end date in this file, or hand the micro-grid over in the app.")
MSG_OUTSIDE = N_("This is outside your part of the grid, or your role may not change it.")
MSG_NOT_COVERED = N_("This person holds a post outside what you may appoint: only the street administrator may change their posts.")
MSG_TOO_LONG_FIELD = N_("Too long: at most %(max)s characters.")
MSG_ADMIN_ONLY = N_("Only the street administrator may change an existing property company.")


class CommandLine:
    """The authority of `weiwang registers import`: whoever runs it owns the database."""

    person_id = None
    device_id = None
    is_admin = True

    def sees_path(self, path: str) -> bool:
        return True

    def may_edit(self, path: str) -> bool:
        return True

    def may_appoint(self, role: str, path: str) -> bool:
        return True

    def covers(self, posts: Iterable[tuple[str, str]]) -> bool:
        return True


def may_add_under(authority, parent_path: str) -> bool:
    """May a child be added under the node at `parent_path` (community staff: under their community)?"""
    return authority.may_edit(parent_path + "0" * SEGMENT)


# --- the plan ---------------------------------------------------------------------------

@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    retired: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "retired": self.retired, "unchanged": self.unchanged}


@dataclass
class NodeRef:
    """A grid node of the plan: one already in the database, or one the file adds."""

    code: str
    level: str
    id: int | None = None
    path: str | None = None
    retired: bool = False
    parent_code: str | None = None
    row: int | None = None  # the 网格 row that names it, if any


@dataclass
class Plan:
    counts: dict[str, Counts] = field(default_factory=lambda: {s.title: Counts() for s in sheets.SHEETS})
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0
    companies_new: list[dict] = field(default_factory=list)
    companies_changed: list[tuple[int, dict, dict]] = field(default_factory=list)  # id, after, before
    nodes_new: list[dict] = field(default_factory=list)  # values + parent_code, file order
    nodes_changed: list[tuple[int, dict, dict]] = field(default_factory=list)
    nodes_moved: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, new parent code
    nodes_retired: list[tuple[int, str]] = field(default_factory=list)
    people_new: list[dict] = field(default_factory=list)
    people_changed: list[tuple[int, dict, dict]] = field(default_factory=list)
    posts_new: list[dict] = field(default_factory=list)  # with phone, code, company_name
    posts_changed: list[tuple[int, dict, dict]] = field(default_factory=list)
    posts_ended: list[tuple[int, date]] = field(default_factory=list)
    households_new: list[dict] = field(default_factory=list)  # with code
    households_changed: list[tuple[int, dict, dict]] = field(default_factory=list)
    households_left: list[tuple[int, str]] = field(default_factory=list)  # id, status

    def problem(self, sheet: sheets.Sheet | str, row: int, column: str, message: str, **params: Any) -> None:
        self.problem_count += 1
        if len(self.problems) < 5000:
            title = sheet.title if isinstance(sheet, sheets.Sheet) else sheet
            self.problems.append(Problem(title, row, column, message, params))

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def changes(self) -> int:
        return sum(c.added + c.changed + c.retired for c in self.counts.values())

    def counts_dict(self) -> dict[str, dict[str, int]]:
        return {title: c.as_dict() for title, c in self.counts.items()}


Progress = Callable[[int, int], None]


def _parse_date(value: Any) -> date | None | str:
    """A date cell or text like 2024-03-01 / 2024/3/1 / 20240301; "" for empty; "bad" when unreadable."""
    if isinstance(value, date):
        return value
    if not value:
        return None
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return "bad"


def _valid_phone(value: str) -> bool:
    return bool(sheets.MOBILE.fullmatch(value) or sheets.LANDLINE.fullmatch(value))


async def _chunked(db: AsyncSession, make_query, keys: Iterable) -> list:
    keys = list(keys)
    out: list = []
    for start in range(0, len(keys), CHUNK):
        out.extend((await db.execute(make_query(keys[start:start + CHUNK]))).all())
    return out


class _Planner:
    def __init__(self, db: AsyncSession, authority, parsed: ParsedFile, progress: Progress | None) -> None:
        self.db = db
        self.auth = authority
        self.parsed = parsed
        self.plan = Plan(problems=list(parsed.problems), problem_count=parsed.problem_count, rows=parsed.rows)
        self.progress = progress
        self.done = 0
        self.today = today_in_china()
        self.companies: dict[str, tuple[int | None, str]] = {}  # name -> (id or None if new, phone)
        self.nodes: dict[str, NodeRef] = {}  # code -> ref (database and file)
        self.db_nodes: dict[str, Any] = {}  # code -> database row
        self.file_nodes: dict[str, tuple[int, dict]] = {}  # code -> (row, values) of the 网格 sheet
        self.bad_codes: set[str] = set()  # codes whose own row has a problem: rows pointing at them say nothing more
        self.people: dict[str, Any] = {}  # phone -> database row
        self.file_people: dict[str, tuple[int, dict]] = {}
        self.shared_phones: set[str] = set()
        self.retiring_codes: set[str] = set()

    def rows(self, kind: str) -> list[tuple[int, tuple]]:
        parsed = self.parsed.sheets.get(kind)
        return parsed.rows if parsed else []

    def tick(self) -> None:
        self.done += 1
        if self.progress and self.done % 2000 == 0:
            self.progress(self.done, self.plan.rows)

    # --- loading what the file refers to -------------------------------------------

    async def load(self) -> None:
        db = self.db
        for company_id, name, phone in (await db.execute(
            sa.select(PropertyCompany.id, PropertyCompany.name, PropertyCompany.phone)
        )).all():
            self.companies[name] = (company_id, phone)
        codes: set[str] = set()
        for _, values in self.rows("grid"):
            codes.update(v for v in (values[0], values[4]) if v)
        codes.update(values[0] for _, values in self.rows("households") if values[0])
        codes.update(values[3] for _, values in self.rows("posts") if values[3])
        nodes = GridNode.__table__
        rows = await _chunked(db, lambda part: sa.select(
            nodes.c.id, nodes.c.code, nodes.c.parent_id, nodes.c.level, nodes.c.kind, nodes.c.name, nodes.c.path,
            nodes.c.depth, nodes.c.sort_order, nodes.c.property_company_id, nodes.c.retired_at,
        ).where(nodes.c.code.in_(part)), [c for c in codes if isinstance(c, str)])
        parent_ids = {r.parent_id for r in rows if r.parent_id}
        parents = {r.id: r.code for r in await _chunked(
            db, lambda part: sa.select(nodes.c.id, nodes.c.code).where(nodes.c.id.in_(part)), parent_ids)}
        for r in rows:
            self.db_nodes[r.code] = r
            self.nodes[r.code] = NodeRef(r.code, r.level, r.id, r.path, r.retired_at is not None,
                                         parents.get(r.parent_id))
        phones: set[str] = {values[1] for _, values in self.rows("people") if values[1]}
        phones.update(values[0] for _, values in self.rows("posts") if values[0])
        people = Person.__table__
        for r in await _chunked(db, lambda part: sa.select(
            people.c.id, people.c.name, people.c.phone, people.c.gender, people.c.birth_year,
            people.c.political_status,
        ).where(people.c.phone.in_(part)), phones):
            if r.phone in self.people:
                self.shared_phones.add(r.phone)
            self.people[r.phone] = r

    # --- 物业公司 -----------------------------------------------------------------------

    def plan_companies(self) -> None:
        sheet = sheets.COMPANIES
        counts = self.plan.counts[sheet.title]
        first: dict[str, int] = {}
        for number, (name, phone) in self.rows("companies"):
            self.tick()
            if not name:
                self.plan.problem(sheet, number, sheet.column("name").header, MSG_REQUIRED)
                continue
            if len(name) > 100:
                self.plan.problem(sheet, number, "名称", MSG_TOO_LONG_FIELD, max=100)
                continue
            if name in first:
                self.plan.problem(sheet, number, "名称", MSG_DUPLICATE, key="名称", first=first[name])
                continue
            first[name] = number
            if phone and not _valid_phone(phone):
                self.plan.problem(sheet, number, "电话", MSG_BAD_PHONE)
                continue
            existing = self.companies.get(name)
            if existing is None:
                self.companies[name] = (None, phone)
                self.plan.companies_new.append({"name": name, "phone": phone})
                counts.added += 1
            elif existing[1] != phone:
                if not self.auth.is_admin:
                    self.plan.problem(sheet, number, "电话", MSG_ADMIN_ONLY)
                    continue
                self.plan.companies_changed.append((existing[0], {"phone": phone}, {"phone": existing[1]}))
                counts.changed += 1
            else:
                counts.unchanged += 1

    # --- 网格 ---------------------------------------------------------------------------

    def plan_grid(self) -> None:
        sheet = sheets.GRID
        col = {c.key: c.header for c in sheet.columns}
        for number, values in self.rows("grid"):
            self.tick()
            code, name, level_word, kind_word, parent, order, company, status = values
            problems_before = self.plan.problem_count
            if not code:
                self.plan.problem(sheet, number, col["code"], MSG_REQUIRED)
                continue
            if not sheets.CODE.fullmatch(code):
                self.plan.problem(sheet, number, col["code"], MSG_BAD_CODE)
                self.bad_codes.add(code)
                continue
            if code in self.file_nodes:
                self.plan.problem(sheet, number, col["code"], MSG_DUPLICATE, key=col["code"], first=self.file_nodes[code][0])
                continue
            if not name:
                self.plan.problem(sheet, number, col["name"], MSG_REQUIRED)
            elif len(name) > 100:
                self.plan.problem(sheet, number, col["name"], MSG_TOO_LONG_FIELD, max=100)
            level = sheets.LEVEL_SYNONYMS.get(level_word)
            if not level_word:
                self.plan.problem(sheet, number, col["level"], MSG_REQUIRED)
            elif level is None:
                self.plan.problem(sheet, number, col["level"], MSG_BAD_LEVEL, value=level_word)
            kind = None
            if level is not None:
                allowed = sheets.KINDS_OF_LEVEL.get(level)
                if allowed is None:
                    if kind_word:
                        self.plan.problem(sheet, number, col["kind"], MSG_KIND_NOT_HERE)
                else:
                    kind = sheets.KIND_SYNONYMS.get(kind_word)
                    if not kind_word:
                        self.plan.problem(sheet, number, col["kind"], MSG_REQUIRED)
                    elif kind not in allowed:
                        self.plan.problem(sheet, number, col["kind"], MSG_BAD_KIND, value=kind_word,
                                          allowed="、".join(sheets.KIND_WORDS[k] for k in sorted(allowed)))
            sort_order = None
            if order:
                if re.fullmatch(r"-?\d{1,9}", order):
                    sort_order = int(order)
                else:
                    self.plan.problem(sheet, number, col["order"], MSG_BAD_INT)
            if company and company not in self.companies:
                self.plan.problem(sheet, number, col["company"], MSG_UNKNOWN_COMPANY, name=company)
            retired = False
            if status in ("", sheets.NODE_ACTIVE):
                retired = False
            elif status == sheets.NODE_RETIRED:
                retired = True
            else:
                self.plan.problem(sheet, number, col["status"], MSG_BAD_STATUS, value=status,
                                  allowed=f"{sheets.NODE_ACTIVE}、{sheets.NODE_RETIRED}")
            existing = self.db_nodes.get(code)
            if existing is not None and level is not None and existing.level != level:
                self.plan.problem(sheet, number, col["level"], MSG_LEVEL_CHANGED,
                                  level=sheets.LEVEL_WORDS[Level(existing.level)])
            if level == Level.street and parent:
                self.plan.problem(sheet, number, col["parent"], MSG_STREET_PARENT)
            if level is not None and level != Level.street and not parent:
                self.plan.problem(sheet, number, col["parent"], MSG_REQUIRED)
            values_ok = self.plan.problem_count == problems_before
            self.file_nodes[code] = (number, {
                "code": code, "name": name, "level": level, "kind": kind, "parent": parent or None,
                "sort_order": sort_order, "company": company or None, "retired": retired, "ok": values_ok,
            })
            if not values_ok:
                self.bad_codes.add(code)
            elif existing is None:
                self.nodes[code] = NodeRef(code, level, None, None, retired, parent or None, number)
            else:
                self.nodes[code].row = number

        # The tree: parents known, levels in order, no cycle, not too deep; then what changes.
        for code, (number, row) in self.file_nodes.items():
            if not row["ok"]:
                continue
            self._check_place(code, number, row)
        for code, (number, row) in self.file_nodes.items():
            if row["ok"]:
                self._plan_node(code, number, row)
        # A row with a problem says so once: rows pointing at its code say nothing more.
        for code, (number, row) in self.file_nodes.items():
            if not row["ok"]:
                self.bad_codes.add(code)
                if code not in self.db_nodes:
                    self.nodes.pop(code, None)

    def _check_place(self, code: str, number: int, row: dict) -> None:
        sheet = sheets.GRID
        parent_code = row["parent"]
        if parent_code is None:
            return
        parent = self.nodes.get(parent_code)
        if parent is None:
            if parent_code not in self.bad_codes:
                self.plan.problem(sheet, number, "上级编码", MSG_UNKNOWN_PARENT, code=parent_code)
            row["ok"] = False
            return
        # Walk up: through the file's parent codes, then the database's paths (a cycle first:
        # it would also break the level order, but "a circle" says what to fix).
        chain = [code]
        current = parent_code
        existing_ids = {self.nodes[code].id} if self.nodes.get(code) and self.nodes[code].id else set()
        depth = 1
        while current is not None:
            if current in chain:
                self.plan.problem(sheet, number, "上级编码", MSG_CYCLE, codes=" → ".join(chain + [current]))
                row["ok"] = False
                return
            chain.append(current)
            depth += 1
            file_row = self.file_nodes.get(current)
            ref = self.nodes.get(current)
            if file_row is not None and file_row[1]["ok"]:
                if ref is not None and ref.id is not None:
                    existing_ids.add(ref.id)
                current = file_row[1]["parent"]
                continue
            if ref is None or ref.path is None:
                break  # a bad row further up has its own problem
            # A database node not restated in the file: its ancestors are in its path.
            ancestor_ids = {int(ref.path[i:i + SEGMENT]) for i in range(0, len(ref.path), SEGMENT)}
            if existing_ids & ancestor_ids:
                self.plan.problem(sheet, number, "上级编码", MSG_CYCLE, codes=" → ".join(chain))
                row["ok"] = False
                return
            depth += len(ref.path) // SEGMENT - 1
            break
        row["depth"] = depth
        if sheets.LEVEL_RANK[Level(parent.level)] >= sheets.LEVEL_RANK[row["level"]]:
            self.plan.problem(sheet, number, "上级编码", MSG_WRONG_PARENT_LEVEL,
                              level=sheets.LEVEL_WORDS[row["level"]], parent=sheets.LEVEL_WORDS[Level(parent.level)])
            row["ok"] = False
            return
        if depth > MAX_DEPTH:
            self.plan.problem(sheet, number, "上级编码", MSG_TOO_DEEP)
            row["ok"] = False

    def _plan_node(self, code: str, number: int, row: dict) -> None:
        sheet = sheets.GRID
        counts = self.plan.counts[sheet.title]
        existing = self.db_nodes.get(code)
        company_id = self.companies[row["company"]][0] if row["company"] else None
        parent_ref = self.nodes.get(row["parent"]) if row["parent"] else None
        if parent_ref is not None and parent_ref.retired and not row["retired"]:
            self.plan.problem(sheet, number, "上级编码", MSG_PARENT_RETIRED, code=row["parent"])
            return
        if existing is None:
            if parent_ref is None:
                allowed = self.auth.may_edit("")  # a new street: the command line only
            elif parent_ref.path is not None:
                allowed = may_add_under(self.auth, parent_ref.path)
            else:
                allowed = True  # under a new node of this file, itself checked
            if not allowed:
                self.plan.problem(sheet, number, "编码", MSG_OUTSIDE)
                row["ok"] = False
                return
            self.plan.nodes_new.append({
                "code": code, "name": row["name"], "level": row["level"].value, "kind": row["kind"],
                "parent_code": row["parent"], "sort_order": row["sort_order"] or 0, "company_name": row["company"],
                "retired": row["retired"], "depth": row.get("depth", 1),
            })
            counts.added += 1
            return
        before = {"name": existing.name, "kind": existing.kind, "property_company_id": existing.property_company_id}
        after = {"name": row["name"], "kind": row["kind"], "property_company_id": company_id}
        if row["sort_order"] is not None:
            before["sort_order"], after["sort_order"] = existing.sort_order, row["sort_order"]
        if row["company"] and company_id is None:
            after["company_name"] = row["company"]  # a company new in this file
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        moved = row["parent"] != self.nodes[code].parent_code
        retiring = row["retired"] and existing.retired_at is None
        reinstating = not row["retired"] and existing.retired_at is not None
        if not (changed or moved or retiring or reinstating):
            if not self.auth.sees_path(existing.path):
                self.plan.problem(sheet, number, "编码", MSG_OUTSIDE)
                return
            counts.unchanged += 1
            return
        if not self.auth.may_edit(existing.path) or (
            moved and parent_ref is not None and parent_ref.path is not None and not may_add_under(self.auth, parent_ref.path)
        ):
            self.plan.problem(sheet, number, "编码", MSG_OUTSIDE)
            row["ok"] = False
            return
        if changed:
            self.plan.nodes_changed.append((existing.id, changed, {k: before.get(k) for k in changed}))
        if moved:
            self.plan.nodes_moved.append((existing.id, code, row["parent"]))
        if reinstating:
            self.plan.nodes_changed.append((existing.id, {"retired_at": None}, {"retired_at": "retired"}))
        if retiring:
            self.plan.nodes_retired.append((existing.id, code))
            self.retiring_codes.add(code)
            counts.retired += 1
        else:
            counts.changed += 1

    # --- 人员 ---------------------------------------------------------------------------

    def plan_people(self) -> None:
        sheet = sheets.PEOPLE
        for number, values in self.rows("people"):
            self.tick()
            name, phone, gender_word, year, political_word = values
            before = self.plan.problem_count
            if not name:
                self.plan.problem(sheet, number, "姓名", MSG_REQUIRED)
            elif len(name) > 40:
                self.plan.problem(sheet, number, "姓名", MSG_TOO_LONG_FIELD, max=40)
            if not phone:
                self.plan.problem(sheet, number, "手机号", MSG_REQUIRED)
                continue
            if not sheets.MOBILE.fullmatch(phone):
                self.plan.problem(sheet, number, "手机号", MSG_BAD_MOBILE)
                continue
            if phone in self.file_people:
                self.plan.problem(sheet, number, "手机号", MSG_DUPLICATE, key="手机号", first=self.file_people[phone][0])
                continue
            gender = sheets.GENDER_SYNONYMS.get(gender_word, None if gender_word else "")
            if gender is None:
                self.plan.problem(sheet, number, "性别", MSG_BAD_GENDER)
            birth_year = None
            if year:
                if re.fullmatch(r"\d{4}", year) and 1900 <= int(year) <= self.today.year:
                    birth_year = int(year)
                else:
                    self.plan.problem(sheet, number, "出生年份", MSG_BAD_YEAR)
            political = sheets.POLITICAL_SYNONYMS.get(political_word, None if political_word else "")
            if political is None:
                self.plan.problem(sheet, number, "政治面貌", MSG_BAD_POLITICAL, value=political_word)
            if phone in self.shared_phones:
                self.plan.problem(sheet, number, "手机号", MSG_SHARED_PHONE)
            self.file_people[phone] = (number, {
                "name": name, "phone": phone, "gender": gender or "", "birth_year": birth_year,
                "political_status": political or "", "ok": self.plan.problem_count == before,
            })

    async def finish_people(self, post_phones: set[str]) -> None:
        """After the posts: a new person needs a post, a changed one needs authority over all theirs."""
        sheet = sheets.PEOPLE
        counts = self.plan.counts[sheet.title]
        existing_ids = [r.id for phone, r in self.people.items() if phone in self.file_people]
        current = defaultdict(list)
        for person_id, role, path in await _chunked(self.db, lambda part: sa.select(
            Post.person_id, Post.role, Post.node_path).where(Post.person_id.in_(part), Post.ended_on.is_(None)),
            existing_ids):
            current[person_id].append((role, path))
        for phone, (number, row) in self.file_people.items():
            if not row["ok"]:
                continue
            existing = self.people.get(phone)
            values = {k: row[k] for k in ("name", "phone", "gender", "birth_year", "political_status")}
            if existing is None:
                if phone not in post_phones:
                    self.plan.problem(sheet, number, "手机号", MSG_NO_POST)
                    continue
                self.plan.people_new.append(values)
                counts.added += 1
                continue
            before = {k: getattr(existing, k) for k in values}
            changed = {k: v for k, v in values.items() if before[k] != v}
            if not changed:
                counts.unchanged += 1
                continue
            if not self.auth.covers(current[existing.id]) or not current[existing.id] and not self.auth.is_admin:
                self.plan.problem(sheet, number, "手机号", MSG_NOT_COVERED)
                continue
            self.plan.people_changed.append((existing.id, changed, {k: before[k] for k in changed}))
            counts.changed += 1

    # --- 岗位 ---------------------------------------------------------------------------

    async def plan_posts(self) -> set[str]:
        sheet = sheets.POSTS
        counts = self.plan.counts[sheet.title]
        phones_with_posts: set[str] = set()
        parsed_rows = []
        for number, values in self.rows("posts"):
            self.tick()
            phone, name, role_word, code, kind, title, company, started, ended = values
            before = self.plan.problem_count
            if not phone:
                self.plan.problem(sheet, number, "手机号", MSG_REQUIRED)
                continue
            file_person = self.file_people.get(phone)
            db_person = self.people.get(phone)
            if file_person is None and db_person is None:
                self.plan.problem(sheet, number, "手机号", MSG_UNKNOWN_PERSON)
                continue
            phones_with_posts.add(phone)
            known_name = file_person[1]["name"] if file_person else db_person.name
            if name and name != known_name:
                self.plan.problem(sheet, number, "姓名", MSG_NAME_MISMATCH, name=known_name)
            role = sheets.ROLE_SYNONYMS.get(role_word)
            if not role_word:
                self.plan.problem(sheet, number, "角色", MSG_REQUIRED)
            elif role is None:
                self.plan.problem(sheet, number, "角色", MSG_BAD_ROLE, value=role_word)
            node = self.nodes.get(code) if code else None
            if not code:
                self.plan.problem(sheet, number, "网格编码", MSG_REQUIRED)
            elif node is None:
                if code not in self.bad_codes:
                    self.plan.problem(sheet, number, "网格编码", MSG_UNKNOWN_PARENT, code=code)
            elif role is not None and Level(node.level) not in sheets.ROLE_LEVELS[Role(role)]:
                self.plan.problem(sheet, number, "网格编码", MSG_ROLE_LEVEL, role=sheets.ROLE_WORDS[Role(role)],
                                  level=sheets.LEVEL_WORDS[Level(node.level)])
            kind = kind.upper() if kind else ""
            if role == Role.leader and kind not in ("A", "B"):
                self.plan.problem(sheet, number, "A/B岗", MSG_POST_KIND)
            elif role is not None and role != Role.leader and kind:
                self.plan.problem(sheet, number, "A/B岗", MSG_POST_KIND_NOT_HERE)
            if len(title) > 40:
                self.plan.problem(sheet, number, "职务", MSG_TOO_LONG_FIELD, max=40)
            if company and role is not None and role != Role.property:
                self.plan.problem(sheet, number, "物业公司", MSG_COMPANY_NOT_HERE)
            elif company and company not in self.companies:
                self.plan.problem(sheet, number, "物业公司", MSG_UNKNOWN_COMPANY, name=company)
            dates = {}
            for key, header, value in (("started_on", "开始日期", started), ("ended_on", "结束日期", ended)):
                parsed = _parse_date(value)
                if parsed == "bad":
                    self.plan.problem(sheet, number, header, MSG_BAD_DATE)
                    parsed = None
                elif parsed is not None and parsed > self.today:
                    self.plan.problem(sheet, number, header, MSG_FUTURE_DATE)
                dates[key] = parsed
            if dates["started_on"] and dates["ended_on"] and dates["ended_on"] < dates["started_on"]:
                self.plan.problem(sheet, number, "结束日期", MSG_END_BEFORE_START)
            if self.plan.problem_count == before:
                parsed_rows.append((number, {
                    "phone": phone, "role": role, "code": code, "node": node,
                    "post_kind": kind if role == Role.leader else None, "title": title, "company": company or None,
                    **dates,
                }))

        # The posts the file's people hold now and held before, and the A posts of its micro-grids.
        person_ids = {self.people[r["phone"]].id for _, r in parsed_rows if r["phone"] in self.people}
        posts = Post.__table__
        held = defaultdict(list)
        for r in await _chunked(self.db, lambda part: sa.select(posts).where(posts.c.person_id.in_(part)), person_ids):
            held[r.person_id].append(r)
        microgrid_ids = {r["node"].id for _, r in parsed_rows if r["node"].id and r["role"] == Role.leader}
        a_posts: dict[int, list] = defaultdict(list)
        for r in await _chunked(self.db, lambda part: sa.select(posts.c.id, posts.c.node_id, posts.c.person_id, Person.name)
                                .join(Person, Person.id == posts.c.person_id)
                                .where(posts.c.node_id.in_(part), posts.c.role == Role.leader, posts.c.post_kind == "A",
                                       posts.c.ended_on.is_(None)), microgrid_ids):
            a_posts[r.node_id].append(r)
        current_of = {pid: [(p.role, p.node_path) for p in rows if p.ended_on is None] for pid, rows in held.items()}
        first: dict[tuple, int] = {}
        ending: set[int] = set()
        new_a: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for number, r in parsed_rows:
            key = (r["phone"], r["role"], r["code"], r["post_kind"], r["ended_on"])
            if key in first:
                self.plan.problem(sheet, number, "手机号", MSG_DUPLICATE, key="岗位", first=first[key])
                continue
            first[key] = number
            node: NodeRef = r["node"]
            person = self.people.get(r["phone"])
            match_current = match_ended = None
            for p in held.get(person.id, []) if person else []:
                if p.role == r["role"] and p.node_id == node.id and (p.post_kind or None) == r["post_kind"]:
                    if p.ended_on is None:
                        match_current = p
                    elif p.ended_on == r["ended_on"]:
                        match_ended = p
            company_id = self._post_company(number, r)
            if company_id is False:
                continue
            # What would change, and whether this importer may do it.
            if r["ended_on"] is None:
                if match_current is not None:
                    after = {"title": r["title"], "company_id": company_id}
                    if r["started_on"] is not None:
                        after["started_on"] = r["started_on"]
                    changed = {k: v for k, v in after.items() if getattr(match_current, k) != v}
                    if not changed:
                        counts.unchanged += 1
                        continue
                    if not self._may_change_post(number, r, person, current_of):
                        continue
                    self.plan.posts_changed.append((match_current.id, changed, {k: getattr(match_current, k) for k in changed}))
                    counts.changed += 1
                    continue
                if node.retired or r["code"] in self.retiring_codes:
                    self.plan.problem(sheet, number, "网格编码", MSG_RETIRED_TARGET, code=r["code"])
                    continue
                if not self._may_change_post(number, r, person, current_of):
                    continue
                self._add_post(r, company_id)
                counts.added += 1
                if r["role"] == Role.leader and r["post_kind"] == "A":
                    new_a[r["code"]].append((number, r["phone"]))
                continue
            if match_current is not None:
                if not self._may_change_post(number, r, person, current_of):
                    continue
                self.plan.posts_ended.append((match_current.id, r["ended_on"]))
                ending.add(match_current.id)
                counts.retired += 1
            elif match_ended is not None:
                counts.unchanged += 1
            else:
                if not self._may_change_post(number, r, person, current_of):
                    continue
                self._add_post(r, company_id)  # history: a post held before
                counts.added += 1

        # One A post a micro-grid: the file may hand one over by ending the old post in the same file.
        for code, added in new_a.items():
            node = self.nodes[code]
            holders = [p.name for p in a_posts.get(node.id, []) if p.id not in ending] if node.id else []
            if not holders:
                holders = [self._name_of(added[0][1])]
                added = added[1:]  # the first new A post of the file is the micro-grid's one
            for number, _phone in added:
                self.plan.problem(sheet, number, "A/B岗", MSG_SECOND_A, code=code, name=holders[0])
        return phones_with_posts

    def _name_of(self, phone: str) -> str:
        if phone in self.file_people:
            return self.file_people[phone][1]["name"]
        return self.people[phone].name

    def _post_company(self, number: int, r: dict):
        if r["role"] != Role.property:
            return None
        if r["company"]:
            return self.companies[r["company"]][0]  # None for a company new in this file
        row = self.db_nodes.get(r["code"])
        file_row = self.file_nodes.get(r["code"])
        if file_row and file_row[1]["company"]:
            r["company"] = file_row[1]["company"]
            return self.companies[r["company"]][0]
        if row is not None and row.property_company_id:
            return row.property_company_id
        self.plan.problem(sheets.POSTS, number, "物业公司", MSG_COMPANY_NEEDED)
        return False

    def _may_change_post(self, number: int, r: dict, person, current_of: dict) -> bool:
        node: NodeRef = r["node"]
        path = node.path
        if path is None:
            parent = self.nodes.get(node.parent_code) if node.parent_code else None
            allowed = parent is None or parent.path is None or self.auth.may_appoint(r["role"], parent.path + "0" * SEGMENT)
        else:
            allowed = self.auth.may_appoint(r["role"], path)
        if not allowed:
            self.plan.problem(sheets.POSTS, number, "网格编码", MSG_OUTSIDE)
            return False
        if person is not None and not self.auth.covers(current_of.get(person.id, [])):
            self.plan.problem(sheets.POSTS, number, "手机号", MSG_NOT_COVERED)
            return False
        return True

    def _add_post(self, r: dict, company_id) -> None:
        self.plan.posts_new.append({
            "phone": r["phone"], "code": r["code"], "role": r["role"], "post_kind": r["post_kind"],
            "title": r["title"], "company_id": company_id, "company_name": r["company"],
            "started_on": r["started_on"], "ended_on": r["ended_on"],
        })

    # --- 住户 ---------------------------------------------------------------------------

    async def plan_households(self) -> set[int]:
        sheet = sheets.HOUSEHOLDS
        counts = self.plan.counts[sheet.title]
        rows = []
        first: dict[tuple[str, str], int] = {}
        for number, values in self.rows("households"):
            self.tick()
            code, address, head, phone, members_text, tags_text, notes, status_word = values
            before = self.plan.problem_count
            node = self.nodes.get(code) if code else None
            if not code:
                self.plan.problem(sheet, number, "微网格编码", MSG_REQUIRED)
            elif node is None:
                if code not in self.bad_codes:
                    self.plan.problem(sheet, number, "微网格编码", MSG_UNKNOWN_PARENT, code=code)
            elif node.level != Level.microgrid:
                self.plan.problem(sheet, number, "微网格编码", MSG_NOT_MICROGRID, code=code)
            if not address:
                self.plan.problem(sheet, number, "地址", MSG_REQUIRED)
            elif len(address) > 120:
                self.plan.problem(sheet, number, "地址", MSG_TOO_LONG_FIELD, max=120)
            if not head:
                self.plan.problem(sheet, number, "户主", MSG_REQUIRED)
            elif len(head) > 40:
                self.plan.problem(sheet, number, "户主", MSG_TOO_LONG_FIELD, max=40)
            if phone and not _valid_phone(phone):
                self.plan.problem(sheet, number, "电话", MSG_BAD_PHONE)
            members = 1
            if members_text:
                if re.fullmatch(r"\d{1,2}", members_text) and 1 <= int(members_text) <= 30:
                    members = int(members_text)
                else:
                    self.plan.problem(sheet, number, "人数", MSG_BAD_MEMBERS)
            tags: list[str] = []
            for word in (w for w in sheets.CARE_SEPARATORS.split(tags_text) if w):
                tag = sheets.CARE_SYNONYMS.get(word)
                if tag is None:
                    self.plan.problem(sheet, number, "关爱标签", MSG_BAD_CARE, value=word)
                elif tag not in tags:
                    tags.append(tag)
            status = sheets.HOUSEHOLD_STATUS_SYNONYMS.get(status_word) if status_word else HouseholdStatus.active.value
            if status is None:
                self.plan.problem(sheet, number, "状态", MSG_BAD_STATUS, value=status_word,
                                  allowed="、".join(sheets.HOUSEHOLD_STATUS_WORDS.values()))
            key = (code, address)
            if code and address and key in first:
                self.plan.problem(sheet, number, "地址", MSG_DUPLICATE, key="微网格编码＋地址", first=first[key])
                continue
            first[key] = number
            if self.plan.problem_count == before:
                rows.append((number, node, {
                    "address": address, "head_name": head, "phone": phone, "members": members,
                    "care_tags": tags, "notes": notes, "status": status,
                }))

        households = Household.__table__
        by_key: dict[tuple[int, str], list] = defaultdict(list)
        for r in await _chunked(self.db, lambda part: sa.select(
            households.c.id, households.c.microgrid_id, households.c.address, households.c.head_name,
            households.c.phone, households.c.members, households.c.care_tags, households.c.notes, households.c.status,
        ).where(households.c.microgrid_id.in_(part)), {node.id for _, node, _ in rows if node.id}):
            by_key[(r.microgrid_id, r.address)].append(r)
        leaving: set[int] = set()
        for number, node, row in rows:
            path = node.path
            in_scope = (self.auth.may_edit(path) if path is not None
                        else self.file_nodes.get(node.code, (0, {"ok": False}))[1]["ok"])
            existing = by_key.get((node.id, row["address"]), []) if node.id else []
            living = next((h for h in existing if h.status == HouseholdStatus.active), None)
            if row["status"] != HouseholdStatus.active:
                if living is None:
                    if any(h.status == row["status"] for h in existing):
                        counts.unchanged += 1
                        continue
                    self.plan.problem(sheet, number, "状态", MSG_NO_SUCH_HOUSEHOLD,
                                      status=sheets.HOUSEHOLD_STATUS_WORDS[HouseholdStatus(row["status"])])
                    continue
                if not in_scope:
                    self.plan.problem(sheet, number, "微网格编码", MSG_OUTSIDE)
                    continue
                self.plan.households_left.append((living.id, row["status"]))
                leaving.add(living.id)
                counts.retired += 1
                continue
            if node.retired or node.code in self.retiring_codes:
                self.plan.problem(sheet, number, "微网格编码", MSG_RETIRED_TARGET, code=node.code)
                continue
            values = {k: row[k] for k in ("head_name", "phone", "members", "care_tags", "notes")}
            if living is not None:
                before = {k: getattr(living, k) for k in values}
                changed = {k: v for k, v in values.items() if before[k] != v}
                if not changed:
                    if path is not None and not self.auth.sees_path(path):
                        self.plan.problem(sheet, number, "微网格编码", MSG_OUTSIDE)
                        continue
                    counts.unchanged += 1
                    continue
                if not in_scope:
                    self.plan.problem(sheet, number, "微网格编码", MSG_OUTSIDE)
                    continue
                self.plan.households_changed.append((living.id, changed, {k: before[k] for k in changed}))
                counts.changed += 1
                continue
            if not in_scope:
                self.plan.problem(sheet, number, "微网格编码", MSG_OUTSIDE)
                continue
            self.plan.households_new.append({"code": node.code, "address": row["address"], **values})
            counts.added += 1
        return leaving

    # --- retiring a node: nothing alive may stay under it ---------------------------------

    async def check_retirements(self, leaving: set[int]) -> None:
        if not self.plan.nodes_retired:
            return
        ended = {post_id for post_id, _ in self.plan.posts_ended}
        retiring_ids = {node_id for node_id, _ in self.plan.nodes_retired}
        moved_away = {node_id for node_id, _, _ in self.plan.nodes_moved}
        for node_id, code in self.plan.nodes_retired:
            number = self.file_nodes[code][0]
            low, high = subtree_bounds(self.db_nodes[code].path)
            busy = []
            households = (await self.db.execute(
                sa.select(Household.id).where(Household.grid_path >= low, Household.grid_path < high,
                                              Household.status == HouseholdStatus.active)
            )).scalars().all()
            if set(households) - leaving:
                busy.append("在住住户")
            posts = (await self.db.execute(
                sa.select(Post.id).where(Post.node_path >= low, Post.node_path < high, Post.ended_on.is_(None))
            )).scalars().all()
            if set(posts) - ended:
                busy.append("在岗人员")
            children = (await self.db.execute(
                sa.select(GridNode.id).where(GridNode.path > low, GridNode.path < high, GridNode.retired_at.is_(None))
            )).scalars().all()
            if set(children) - retiring_ids - moved_away:
                busy.append("在用的下级网格")
            if any(n["parent_code"] == code and not n["retired"] for n in self.plan.nodes_new):
                busy.append("在用的下级网格")
            if busy:
                self.plan.problem(sheets.GRID, number, "状态", MSG_RETIRE_BUSY, what="、".join(dict.fromkeys(busy)))


async def make_plan(db: AsyncSession, authority, parsed: ParsedFile, progress: Progress | None = None) -> Plan:
    """The dry run: what the file would add, change and retire, and every problem. Writes nothing."""
    planner = _Planner(db, authority, parsed, progress)
    await planner.load()
    planner.plan_companies()
    planner.plan_grid()
    planner.plan_people()
    phones = await planner.plan_posts()
    await planner.finish_people(phones)
    leaving = await planner.plan_households()
    await planner.check_retirements(leaving)
    planner.plan.problems.sort(key=lambda p: ([s.title for s in sheets.SHEETS].index(p.sheet)
                                              if p.sheet in sheets.SHEET_BY_TITLE else -1, p.row))
    if progress:
        progress(planner.plan.rows, planner.plan.rows)
    return planner.plan


# --- applying ---------------------------------------------------------------------------

async def _insert_returning(db: AsyncSession, table: sa.Table, rows: list[dict], key: str) -> dict[Any, int]:
    """Insert rows (many at once) and return {row[key]: new id}."""
    ids: dict[Any, int] = {}
    for start in range(0, len(rows), INSERT_CHUNK):
        part = rows[start:start + INSERT_CHUNK]
        result = await db.execute(
            sa.insert(table).returning(table.c.id, table.c[key], sort_by_parameter_order=True), part
        )
        ids.update({row[1]: row[0] for row in result})
    return ids


async def _update_by_id(db: AsyncSession, table: sa.Table, changes: list[tuple[int, dict, dict]]) -> None:
    """One executemany per set of changed columns."""
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for row_id, after, _before in changes:
        keys = tuple(sorted(after))
        groups[keys].append({"_id": row_id, **{f"v_{k}": after[k] for k in keys}})
    for keys, params in groups.items():
        statement = (sa.update(table).where(table.c.id == sa.bindparam("_id"))
                     .values({k: sa.bindparam(f"v_{k}") for k in keys}))
        await db.execute(statement, params)


def _audit_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


async def apply_plan(db: AsyncSession, authority, plan: Plan, *, filename: str, sha256: str, size: int,
                     job_id: Any = None, request=None, progress: Progress | None = None) -> dict[str, Any]:
    """Write the plan in the caller's transaction (the caller commits). Refuses a plan with problems."""
    if not plan.ok:
        raise ValueError("a plan with problems is never applied")
    now = utcnow()
    today = today_in_china()
    total = max(1, plan.changes)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(min(done, total), total)

    nodes, households, people, posts = (GridNode.__table__, Household.__table__, Person.__table__, Post.__table__)
    companies = PropertyCompany.__table__
    audit_rows: list[dict] = []

    def audit(object_type: str, object_id: Any, action: str, before: dict, after: dict) -> None:
        audit_rows.append({
            "at": now, "person_id": authority.person_id, "device_id": authority.device_id,
            "action": action, "object_type": object_type, "object_id": str(object_id), "ip": "",
            "detail": {"before": {k: _audit_value(v) for k, v in before.items()},
                       "after": {k: _audit_value(v) for k, v in after.items()}, "import": str(job_id or sha256[:12])},
        })

    # Companies.
    company_ids: dict[str, int] = {}
    if plan.companies_new:
        company_ids.update(await _insert_returning(db, companies, plan.companies_new, "name"))
        step(len(plan.companies_new))
    await _update_by_id(db, companies, plan.companies_changed)
    for cid, after, before in plan.companies_changed:
        audit("property_company", cid, "registers_edit", before, after)
    step(len(plan.companies_changed))

    async def company_id_of(name: str | None) -> int | None:
        if not name:
            return None
        if name not in company_ids:
            company_ids[name] = (await db.execute(sa.select(companies.c.id).where(companies.c.name == name))).scalar_one()
        return company_ids[name]

    # Nodes: new ones depth by depth (a path is made of ids), then changes, moves, retirements.
    codes: dict[str, tuple[int, str]] = {}

    async def node_of(code: str) -> tuple[int, str]:
        if code not in codes:
            row = (await db.execute(sa.select(nodes.c.id, nodes.c.path).where(nodes.c.code == code))).one()
            codes[code] = (row.id, row.path)
        return codes[code]

    async def prefetch(wanted: set[str]) -> None:
        wanted = [c for c in wanted if c not in codes]
        for start in range(0, len(wanted), CHUNK):
            for row in (await db.execute(sa.select(nodes.c.id, nodes.c.code, nodes.c.path)
                                         .where(nodes.c.code.in_(wanted[start:start + CHUNK])))).all():
                codes[row.code] = (row.id, row.path)

    by_depth: dict[int, list[dict]] = defaultdict(list)
    for n in plan.nodes_new:
        by_depth[n["depth"]].append(n)
    for depth in sorted(by_depth):
        batch = by_depth[depth]
        rows = []
        for n in batch:
            parent = await node_of(n["parent_code"]) if n["parent_code"] else None
            rows.append({
                "parent_id": parent[0] if parent else None, "level": n["level"], "kind": n["kind"], "code": n["code"],
                "name": n["name"], "path": "!" + n["code"], "depth": (len(parent[1]) // SEGMENT) if parent else 0,
                "sort_order": n["sort_order"], "property_company_id": await company_id_of(n["company_name"]),
                "retired_at": now if n["retired"] else None,
            })
            n["_parent_path"] = parent[1] if parent else ""
        ids = await _insert_returning(db, nodes, rows, "code")
        updates = []
        for n in batch:
            path = child_path(n["_parent_path"], ids[n["code"]])
            codes[n["code"]] = (ids[n["code"]], path)
            updates.append({"_id": ids[n["code"]], "_path": path})
        await db.execute(sa.update(nodes).where(nodes.c.id == sa.bindparam("_id")).values(path=sa.bindparam("_path")),
                         updates)
        step(len(batch))
    node_changes = []
    for node_id, after, before in plan.nodes_changed:
        after = dict(after)
        if "company_name" in after:
            after["property_company_id"] = await company_id_of(after.pop("company_name"))
        node_changes.append((node_id, after, before))
        audit("grid_node", node_id, "registers_edit", before, after)
    await _update_by_id(db, nodes, node_changes)
    step(len(node_changes))
    for node_id, code, parent_code in plan.nodes_moved:
        old_path = (await db.execute(sa.select(nodes.c.path).where(nodes.c.id == node_id))).scalar_one()
        parent_id, parent_path = await node_of(parent_code)
        # node_of may have cached a path that an earlier move changed: read it fresh.
        parent_path = (await db.execute(sa.select(nodes.c.path).where(nodes.c.id == parent_id))).scalar_one()
        new_path = child_path(parent_path, node_id)
        await db.execute(sa.update(nodes).where(nodes.c.id == node_id).values(parent_id=parent_id))
        await rewrite_subtree(db, old_path, new_path)
        audit("grid_node", node_id, "registers_move", {"path": old_path}, {"path": new_path, "parent": parent_code})
        codes.clear()
        step(1)
    if plan.nodes_retired:
        await db.execute(sa.update(nodes).where(nodes.c.id.in_([i for i, _ in plan.nodes_retired])).values(retired_at=now))
        for node_id, code in plan.nodes_retired:
            audit("grid_node", node_id, "registers_retire", {"retired_at": None}, {"retired_at": now})
        step(len(plan.nodes_retired))

    # People and their posts.
    person_ids: dict[str, int] = {}
    if plan.people_new:
        person_ids.update(await _insert_returning(
            db, people, [{**p, "active": True, "created_at": now} for p in plan.people_new], "phone"))
        step(len(plan.people_new))
    await _update_by_id(db, people, plan.people_changed)
    for pid, after, before in plan.people_changed:
        audit("person", pid, "registers_edit", before, after)
    step(len(plan.people_changed))
    if plan.posts_ended:
        await db.execute(sa.update(posts).where(posts.c.id == sa.bindparam("_id")).values(ended_on=sa.bindparam("_ended")),
                         [{"_id": i, "_ended": d} for i, d in plan.posts_ended])
        for post_id, ended in plan.posts_ended:
            post = await db.get(Post, post_id)
            await void_invites_for_post(db, post)
            audit("post", post_id, "registers_end_post", {"ended_on": None}, {"ended_on": ended})
        step(len(plan.posts_ended))
    await prefetch(set(p["code"] for p in plan.posts_new) | set(h["code"] for h in plan.households_new))
    missing_phones = {p["phone"] for p in plan.posts_new if p["phone"] not in person_ids}
    for phone_part in [list(missing_phones)[i:i + CHUNK] for i in range(0, len(missing_phones), CHUNK)]:
        person_ids.update({r.phone: r.id for r in (await db.execute(
            sa.select(people.c.id, people.c.phone).where(people.c.phone.in_(phone_part)))).all()})
    post_rows = []
    for p in plan.posts_new:
        node_id, node_path = await node_of(p["code"])
        post_rows.append({
            "person_id": person_ids[p["phone"]], "node_id": node_id, "node_path": node_path, "role": p["role"],
            "post_kind": p["post_kind"], "title": p["title"],
            "company_id": p["company_id"] if p["company_id"] is not None else await company_id_of(p["company_name"]),
            "started_on": p["started_on"], "ended_on": p["ended_on"],
        })
    for start in range(0, len(post_rows), INSERT_CHUNK):
        await db.execute(sa.insert(posts), post_rows[start:start + INSERT_CHUNK])
    step(len(post_rows))
    await _update_by_id(db, posts, plan.posts_changed)
    for post_id, after, before in plan.posts_changed:
        audit("post", post_id, "registers_edit", before, after)
    step(len(plan.posts_changed))

    # Households: who left, what changed, who is new.
    if plan.households_left:
        await db.execute(
            sa.update(households).where(households.c.id == sa.bindparam("_id"))
            .values(status=sa.bindparam("_status"), left_on=today),
            [{"_id": i, "_status": s} for i, s in plan.households_left])
        for hid, status in plan.households_left:
            audit("household", hid, "registers_household_left", {"status": "active"}, {"status": status})
        step(len(plan.households_left))
    await _update_by_id(db, households, plan.households_changed)
    for hid, after, before in plan.households_changed:
        audit("household", hid, "registers_edit", before, after)
    step(len(plan.households_changed))
    household_rows = []
    for h in plan.households_new:
        node_id, node_path = await node_of(h["code"])
        household_rows.append({
            "microgrid_id": node_id, "grid_path": node_path, "address": h["address"], "head_name": h["head_name"],
            "phone": h["phone"], "members": h["members"], "care_tags": h["care_tags"], "notes": h["notes"],
            "status": HouseholdStatus.active.value, "left_on": None,
        })
    for start in range(0, len(household_rows), INSERT_CHUNK):
        await db.execute(sa.insert(households), household_rows[start:start + INSERT_CHUNK])
        step(len(household_rows[start:start + INSERT_CHUNK]))

    from server.accounts.models import AuditEntry

    for start in range(0, len(audit_rows), INSERT_CHUNK):
        await db.execute(sa.insert(AuditEntry.__table__), audit_rows[start:start + INSERT_CHUNK])
    summary = {"counts": plan.counts_dict(), "rows": plan.rows}
    record(db, "registers_import", person_id=authority.person_id, device_id=authority.device_id,
           object_type="import_job", object_id=str(job_id or ""), request=request,
           filename=filename[:200], sha256=sha256, size=size, **summary)
    from server import cache

    cache.clear()  # tier tables and child counts are cached a minute
    return summary


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
