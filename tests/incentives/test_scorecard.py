"""The scorecard of a fixed fixture equals a hand computation; the CLI prints it; scope holds."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.accounts.models import Person, Post, Role
from server.clock import CHINA
from server.db import make_sessionmaker
from server.grid.models import GridNode, Household, Level
from server.incentives import ledger
from server.incentives.models import IssueRating
from server.incentives.rules import DEFAULT
from server.incentives.scorecard import scorecards
from server.issues.models import Issue, IssueCategory
from server.patrols.models import Patrol, PatrolTemplateVersion
from server.tree import child_path
from server.visits.models import Visit, WorkLogEntry

MONTH = "2025-06"


def cst(day: int, hour: int = 10, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=CHINA)


@pytest.fixture
async def fixture_grid(engine, people):
    """A new micro-grid with four households (two with care tags), its A leader 张小满, a month of work."""
    async with make_sessionmaker(engine)() as db:
        unit = await db.get(GridNode, people.microgrid.parent_id)
        tag = uuid.uuid4().hex[:6]
        mg = GridNode(parent_id=unit.id, level=Level.microgrid, kind="residential", code=f"T-{tag}", name="测试微网格",
                      path="x", depth=unit.depth + 1, sort_order=99)
        db.add(mg)
        await db.flush()
        mg.path = child_path(unit.path, mg.id)
        leader = Person(name=f"张小满{tag}")
        db.add(leader)
        await db.flush()
        db.add(Post(person_id=leader.id, node_id=mg.id, node_path=mg.path, role=Role.leader, post_kind="A"))
        hh = [Household(microgrid_id=mg.id, grid_path=mg.path, address=f"{i}号", head_name="户主", care_tags=tags)
              for i, tags in enumerate([[], ["elderly_alone"], [], ["disabled"]], start=1)]
        db.add_all(hh)
        await db.flush()
        h1, h2, h3, h4 = hh

        def visit(h, at):
            db.add(Visit(id=uuid.uuid4(), household_id=h.id, grid_path=mg.path, person_id=leader.id, kind="routine", visited_at=at))

        visit(h1, cst(3)); visit(h1, cst(20)); visit(h2, cst(5))  # June: 3 visits, 2 households (one care)
        visit(h3, cst(28, month=5))  # May
        for kind, day in (("errand", 4), ("errand", 6), ("mediation", 7), ("hazard_check", 8)):
            db.add(WorkLogEntry(id=uuid.uuid4(), kind=kind, person_id=leader.id, microgrid_id=mg.id, grid_path=mg.path,
                                done_at=cst(day)))
        category = (await db.execute(sa.select(IssueCategory.id).limit(1))).scalar_one()
        closed_id, open_id = str(uuid.uuid4()), str(uuid.uuid4())
        db.add(Issue(id=closed_id, node_id=mg.id, node_path=mg.path, category_id=category, description="楼道灯坏",
                     source="leader", tracking_code=f"C{tag}", reported_by=leader.id, reported_at=cst(2), month=MONTH,
                     status="closed", feedback_count=1, on_time=True, resolved_at=cst(9), closed_at=cst(10)))
        db.add(Issue(id=open_id, node_id=mg.id, node_path=mg.path, category_id=category, description="垃圾堆放",
                     source="leader", tracking_code=f"O{tag}", reported_by=leader.id, reported_at=cst(12), month=MONTH,
                     status="assigned", deadline=date(2025, 6, 20)))
        await db.flush()
        db.add(IssueRating(issue_id=closed_id, rating="satisfied", node_path=mg.path, month=MONTH, rated_at=cst(11)))
        version = (await db.execute(sa.select(PatrolTemplateVersion.id).limit(1))).scalar()
        if version is not None:
            db.add(Patrol(id=str(uuid.uuid4()), compound_id=unit.id, compound_path=mg.path[:24], month=MONTH,
                          version_id=version, recorded_by=people.secretary.id, patrolled_at=cst(15),
                          participants=[{"role": "leader", "name": leader.name, "person_id": leader.id}]))
        await db.commit()
        await ledger.refresh(db, [leader.id])
        await db.commit()
        return mg, leader, version is not None


async def test_it_scores_a_month_as_computed_by_hand(db, fixture_grid):
    mg, leader, has_patrol = fixture_grid
    [card] = await scorecards(db, mg.path, lambda c: sa.true(), DEFAULT.weights, MONTH, today=date(2025, 6, 30))
    assert (card.name, card.grid, card.households, card.households_visited, card.visits) == (leader.name, mg.code, 4, 2, 3)
    assert (card.care_households, card.care_visited) == (2, 1)
    assert (card.errands, card.mediations, card.hazard_checks) == (2, 1, 1)
    assert (card.problems, card.settled, card.fed_back, card.judged, card.on_time, card.overdue) == (2, 1, 1, 1, 1, 1)
    assert (card.ratings, card.satisfied) == (1, 1)
    # Points in June: visits 1 (h1) + 3 (h2, living alone) + errands 2×3 + mediation 3 + hazard 2
    # + closed with feedback 3 + on time 2 + satisfied 2 (+ patrol 2); May's visit to h3 is 1 more in the balance.
    june = 1 + 3 + 6 + 3 + 2 + 3 + 2 + 2 + (2 if has_patrol else 0)
    assert (card.points, card.points_balance) == (june, june + 1)
    # 30×½ coverage + 20×½ care + 15×1 on time + 10×1 feedback + 15×1 satisfaction + 10×patrol, out of 100.
    assert has_patrol and card.patrols == 1
    assert card.score == 75.0
    assert card.components["coverage"] == 0.5

    [all_time] = await scorecards(db, mg.path, lambda c: sa.true(), DEFAULT.weights, None)
    assert (all_time.visits, all_time.households_visited) == (4, 3)


async def test_it_prints_the_scorecards_as_json(settings, fixture_grid, monkeypatch):
    from server import cli

    mg, leader, _ = fixture_grid
    monkeypatch.setenv("WEIWANG_DATABASE_URL", settings.database_url)
    monkeypatch.setattr(cli, "_settings", lambda: settings)
    def run(*args):  # the command runs its own event loop: off this test's loop
        return asyncio.to_thread(CliRunner().invoke, cli.main, list(args))

    result = await run("scorecard", "--grid", mg.code, "--month", MONTH, "--json")
    assert result.exit_code == 0, result.output
    [card] = json.loads(result.output)
    assert {k: card[k] for k in ("name", "grid", "visits", "errands", "mediations", "hazard_checks", "households",
                                 "households_visited")} == {
        "name": leader.name, "grid": mg.code, "visits": 3, "errands": 2, "mediations": 1, "hazard_checks": 1,
        "households": 4, "households_visited": 2}
    assert card["points_balance"] > 0 and card["score"] is not None
    all_time = json.loads((await run("scorecard", "--grid", mg.code, "--all-time", "--json")).output)
    assert all_time[0]["visits"] == 4
    assert (await run("scorecard", "--month", "2025-13")).exit_code == 2


async def test_it_shows_a_community_only_its_leaders(db, people, signed_in_as, fixture_grid):
    mg, leader, _ = fixture_grid
    secretary = await signed_in_as(people.secretary)
    page = await secretary.get(f"/scorecards?month={MONTH}")
    assert page.status_code == 200 and leader.name in page.text and 'id="chart-coverage"' in page.text
    # The formula in words a secretary reads (覆盖率 ×30), never the code names.
    formula = page.text[page.text.index('id="formula"'):]
    assert "得分怎么算" in formula and "100 × (覆盖率 ×30 + 关爱户走访 ×20 + 按期率 ×15" in formula
    assert "coverage" not in formula and "care_coverage" not in formula and "<code>" not in formula
    other = await signed_in_as(people.other_secretary)
    page = await other.get(f"/scorecards?month={MONTH}")
    assert page.status_code == 200 and leader.name not in page.text
    assert (await other.get(f"/scorecards?grid={mg.code}")).status_code == 404
    street = await signed_in_as(people.admin)
    page = (await street.get(f"/scorecards?month={MONTH}")).text
    assert 'id="community-cards"' in page and people.community.name in page
    # On a phone each community is a card: every figure carries its label (no sideways scroll).
    community_table = page[page.index('id="community-cards"'):page.index("</table>", page.index('id="community-cards"'))]
    assert 'class="table table-cards score-table"' in page and "table-scroll" not in page
    assert community_table.count('data-label="覆盖率"') == community_table.count("<tr>") - 1 >= 1
    leader_client = await signed_in_as(leader)
    assert (await leader_client.get("/scorecards")).status_code == 403


async def test_it_exports_scorecards_and_the_points_ledger_audited(db, people, signed_in_as, fixture_grid):
    from io import BytesIO

    from openpyxl import load_workbook

    from server.accounts.models import AuditEntry

    mg, leader, _ = fixture_grid
    secretary = await signed_in_as(people.secretary)
    response = await secretary.get(f"/scorecards/export.xlsx?grid={mg.code}&month={MONTH}")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("微网格长", "微网格", "户数") and rows[1][0] == leader.name and rows[1][2] == 4
    response = await secretary.get(f"/scorecards/points.xlsx?grid={mg.code}&month={MONTH}")
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert {r[3] for r in rows[1:]} >= {"入户走访", "走访独居老人户", "帮办代办"}
    audits = (await db.execute(sa.select(AuditEntry.object_type).where(
        AuditEntry.person_id == people.secretary.id, AuditEntry.object_id == mg.code))).scalars().all()
    assert sorted(audits) == ["points_ledger", "scorecards"]
