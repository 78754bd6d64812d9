"""Every .xlsx export writes user text as text (server/spreadsheets.py): a resident's
`=cmd|' /C calc'!A0` is shown as typed, never run as a formula, in every export."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from server.accounts.models import Person, Post, Role
from server.db import make_sessionmaker
from server.issues import service
from server.issues.models import IssueCategory, Source
from server.spreadsheets import Book

HOSTILE = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://evil.example\",\"点我\")"]


def literal(value: str) -> str:
    """What an .xlsx can hold: XML turns a carriage return into a line feed (still text, still shown)."""
    return value.replace("\r", "\n")


def cells_of(body: bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def assert_written_as_text(body: bytes, values: list[str]) -> None:
    cells = cells_of(body)
    for value in values:
        found = [c for c in cells if isinstance(c.value, str) and literal(value) in c.value]
        assert found, f"{value!r} is not in the file"
        assert all(c.data_type == "s" for c in found), [(c.coordinate, c.value, c.data_type) for c in found]
    assert not [c for c in cells if c.data_type == "f"], "a formula was written"


@pytest.mark.parametrize("write_only", [False, True])
def test_it_writes_each_hostile_string_as_text(write_only):
    book = Book(write_only=write_only)
    book.sheet("测试").append([*HOSTILE, 42, 3.5])
    cells = cells_of(book.save())
    assert [(c.value, c.data_type) for c in cells] == [(literal(v), "s") for v in HOSTILE] + [(42, "n"), (3.5, "n")]


async def test_it_writes_a_residents_report_as_text_in_the_ledger_export(db, people, signed_in_as):
    category = (await db.execute(sa.select(IssueCategory).where(IssueCategory.code == "property"))).scalar_one()
    for value in HOSTILE:
        await service.report_issue(db, None, node=people.microgrid, category=category.id, description=f"{value}",
                                   source=Source.resident, reporter_name=value[:40])
    await db.commit()
    client = await signed_in_as(people.secretary)
    response = await client.get("/issues/export.xlsx")
    assert response.status_code == 200
    # Stored as typed, less surrounding whitespace (the ledger strips it): still "=...", still text.
    assert_written_as_text(response.content, [v.strip() for v in HOSTILE])


async def test_it_writes_names_as_text_in_the_people_export(engine, people, signed_in_as):
    async with make_sessionmaker(engine)() as db:
        for value in HOSTILE:
            person = Person(name=value[:40], phone="10000000000")
            db.add(person)
            await db.flush()
            db.add(Post(person_id=person.id, node_id=people.microgrid.id, node_path=people.microgrid.path,
                        role=Role.leader, post_kind="B", title=value[:40]))
        await db.commit()
    client = await signed_in_as(people.secretary)
    response = await client.get("/admin/people.xlsx")
    assert response.status_code == 200
    assert_written_as_text(response.content, [v[:40] for v in HOSTILE])


async def test_it_writes_notes_and_names_as_text_in_the_patrol_exports(db, people, signed_in_as):
    from tests.patrols.conftest import compound_of, patrol_record, post_sync

    compound = await compound_of(db, people.microgrid)
    from server.patrols import queries

    template = await queries.template_for(db, compound.path)
    items = await queries.version_items(db, template.current_version_id)
    client = await signed_in_as(people.leader)
    rec = patrol_record(compound, template.current_version_id, items, fail={0: "fixed"},
                        participants=[{"role": "owners_rep", "name": v[:40]} for v in HOSTILE], notes=HOSTILE[0])
    rec["data"]["answers"][0]["note"] = HOSTILE[3]
    rec["data"]["answers"][1]["note"] = HOSTILE[4]
    assert (await post_sync(client, [rec])).json()["results"][0]["status"] == "created"
    report = await client.get(f"/patrols/{rec['id']}/export.xlsx")
    assert report.status_code == 200
    assert_written_as_text(report.content, [HOSTILE[0], HOSTILE[3], HOSTILE[4].strip(), *[v[:40] for v in HOSTILE[:4]]])
    history = await client.get(f"/patrols/compounds/{compound.code}/export.xlsx")
    assert history.status_code == 200
    assert not [c for c in cells_of(history.content) if c.data_type == "f"]


def test_it_writes_checklist_titles_as_text_in_the_patrol_history():
    from types import SimpleNamespace

    from server.patrols import export

    patrol = SimpleNamespace(id="p1", month="2026-11", patrolled_at=datetime(2026, 11, 3, tzinfo=timezone.utc), pass_rate=0.5)
    compound = SimpleNamespace(name="=1+1")
    repeated = [SimpleNamespace(section="-2", title="@SUM(1)", failures=2, months=["2026-10", "2026-11"])]
    body = export.history_workbook(compound, "+1", [patrol], {"p1": {"k": "fail"}}, [("k", "=A1", "\t=1+1")], repeated)
    assert_written_as_text(body, ["=1+1", "+1", "=A1", "\t=1+1", "-2", "@SUM(1)"])


def test_it_makes_workbooks_in_one_place():
    """Only server/spreadsheets.py makes openpyxl workbooks and cells: a new export cannot write a
    cell another way (reading a workbook with load_workbook is free)."""
    server = Path(__file__).resolve().parents[1] / "server"
    writers = re.compile(r"^\s*(import openpyxl|from openpyxl(\.\w+)* import .*\b(Workbook|WriteOnlyCell|Cell)\b)", re.M)
    users = sorted(str(p.relative_to(server)) for p in server.rglob("*.py") if writers.search(p.read_text(encoding="utf-8")))
    assert users == ["spreadsheets.py"]


def test_it_sets_the_quote_prefix_on_risky_text():
    book = Book()
    book.sheet("测试").append(["=1+1", "plain"])
    cells = openpyxl.load_workbook(io.BytesIO(book.save())).active[1]
    assert [(c.value, c.data_type, bool(c.quotePrefix)) for c in cells] == [("=1+1", "s", True), ("plain", "s", False)]
