"""Export → import into an empty database → the same stats and the same export; re-import changes nothing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts.models import AuditEntry, Person
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household
from server.grid.stats import tier_table
from server.registers import exporter, importer, reader
from server.registers.commands import export_command


async def _export(engine) -> bytes:
    async with make_sessionmaker(engine)() as db:
        content, _counts = await exporter.export_workbook(db, None, all_companies=True)
    return content


async def _import(engine, content: bytes, *, dry_run: bool = False) -> importer.Plan:
    async with make_sessionmaker(engine)() as db:
        plan = await importer.make_plan(db, importer.CommandLine(), reader.read_upload(content, "export.xlsx"))
        if not dry_run and plan.ok:
            await importer.apply_plan(db, importer.CommandLine(), plan, filename="export.xlsx",
                                      sha256=importer.sha256_of(content), size=len(content))
            await db.commit()
        else:
            await db.rollback()
    return plan


async def _stats(engine) -> dict:
    async with make_sessionmaker(engine)() as db:
        return await tier_table(db, None)


@pytest.fixture
async def demo_source(tmp_path):
    """A demo street of its own (the shared one is changed by other tests: people without a phone...)."""
    from server.grid.demo import load_demo
    from tests.registers.conftest import empty_database

    async with empty_database(tmp_path, "source") as engine:
        await load_demo(engine, seed=2, scale=0.1, progress=False)
        yield engine


async def test_it_round_trips_the_demo_street_into_an_empty_database(demo_source, empty_engine):
    engine = demo_source
    first = await _export(engine)
    plan = await _import(empty_engine, first)
    assert plan.ok, plan.problems[:5]
    assert plan.counts["住户"].added == (await _stats(engine))["households"]
    assert await _stats(empty_engine) == await _stats(engine)
    second = await _export(empty_engine)
    assert exporter.cells_of(second) == exporter.cells_of(first)

    again = await _import(empty_engine, second)
    assert again.ok and again.changes == 0
    assert again.counts["住户"].unchanged == plan.counts["住户"].added


async def test_a_dry_run_writes_nothing(demo_source, empty_engine):
    engine = demo_source
    content = await _export(engine)
    plan = await _import(empty_engine, content, dry_run=True)
    assert plan.ok and plan.changes > 0
    async with make_sessionmaker(empty_engine)() as db:
        for model in (GridNode, Household, Person, AuditEntry):
            assert (await db.execute(sa.select(sa.func.count()).select_from(model))).scalar_one() == 0


async def test_the_import_is_audited_with_the_files_sha256_and_counts(demo_source, empty_engine):
    engine = demo_source
    content = await _export(engine)
    await _import(empty_engine, content)
    async with make_sessionmaker(empty_engine)() as db:
        entry = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "registers_import"))).scalar_one()
    assert entry.detail["sha256"] == importer.sha256_of(content)
    assert entry.detail["counts"]["网格"]["added"] > 0 and entry.detail["rows"] > 0


async def test_export_writes_typed_text_as_text(empty_engine, tmp_path):
    """A name like =HYPERLINK(...) stays the characters typed: never a formula in the street's Excel."""
    from openpyxl import load_workbook

    from tests.registers.test_bad_files import import_bytes, street_rows
    from tests.registers.conftest import workbook

    rows = street_rows()
    rows["households"][0][2] = '=HYPERLINK("http://x","点我")'
    rows["households"][0][6] = "+cmd|' /C calc'!A0"
    rows["households"].append(["XB-01-001-01", "1栋102室", "@SUM(1)", "", 1, "", "-2+3", ""])
    summary = await import_bytes(empty_engine, workbook(**rows))
    assert summary["applied"], summary["problems"]
    out = tmp_path / "out.xlsx"
    async with make_sessionmaker(empty_engine)() as db:
        await export_command(db, out, None)
    ws = load_workbook(out)["住户"]
    cells = {c.value: c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    for typed in ('=HYPERLINK("http://x","点我")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"):
        assert cells[typed].data_type == "s", typed
        assert cells[typed].quotePrefix, typed
    async with make_sessionmaker(empty_engine)() as db:
        export = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "export"))).scalar_one()
    assert export.detail["rows"]["住户"] == 2
