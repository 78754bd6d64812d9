"""The compound plan board (平面图展示牌): buildings placed by staff, drawn coloured by micro-grid with
unit and leader, printed A3; a rural settlement's plots the same; scoped and audited."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from server.accounts.models import AuditEntry, Person, Post, PostKind, Role, current_post
from server.boards import plan
from server.boards.models import PlanLayout
from server.db import make_sessionmaker
from server.grid.models import CompoundKind, GridNode, Level, active_node
from server.tree import in_subtree
from tests.boards.pdf import page_count, page_sizes
from tests.conftest import csrf_headers


@pytest.fixture
async def compound(engine, people):
    async with make_sessionmaker(engine)() as db:
        node = (await db.execute(sa.select(GridNode).where(GridNode.path == people.microgrid.path[:24]))).scalar_one()
        await db.execute(sa.delete(PlanLayout).where(PlanLayout.node_id == node.id))
        await db.commit()
    return node


async def _children(engine, node) -> list[GridNode]:
    async with make_sessionmaker(engine)() as db:
        return list((await db.execute(sa.select(GridNode).where(GridNode.parent_id == node.id, active_node())
                                      .order_by(GridNode.sort_order, GridNode.code))).scalars())


async def _leaders(engine, node) -> set[str]:
    async with make_sessionmaker(engine)() as db:
        return set((await db.execute(sa.select(Person.name).join(Post, Post.person_id == Person.id).where(
            Post.role == Role.leader, Post.post_kind == PostKind.primary, current_post(),
            in_subtree(Post.node_path, node.path)))).scalars())


async def test_it_draws_every_building_with_its_micro_grids_and_leaders(engine, people, client, signed_in_as, compound):
    buildings = await _children(engine, compound)
    assert buildings and {b.level for b in buildings} == {Level.building}
    await signed_in_as(people.secretary)
    page = await client.get(f"/boards/{compound.code}/plan")
    assert page.status_code == 200 and "各楼栋的位置" in page.text and "保存位置" in page.text
    svg = await client.get(f"/boards/{compound.code}/plan.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert f"{compound.name} 平面图" in svg.text
    assert re.findall(r'class="plan-item" data-id="(\d+)"', svg.text) == [str(b.id) for b in buildings]
    for name in {b.name for b in buildings} | await _leaders(engine, compound):
        assert f">{name}<" in svg.text, name
    async with make_sessionmaker(engine)() as db:
        microgrids = (await db.execute(sa.select(sa.func.count()).select_from(GridNode).where(
            GridNode.level == Level.microgrid, in_subtree(GridNode.path, compound.path), active_node()))).scalar_one()
    fills = re.findall(r'fill="(#[0-9a-f]{6})" stroke="#555"', svg.text)
    assert len(fills) == microgrids  # one band per micro-grid
    assert len(set(fills)) == min(microgrids, len(plan.PALETTE))  # each its own colour
    assert re.search(r">\d+单元(低区|高区)?<", svg.text)  # bands are labelled by unit


async def test_staff_place_the_buildings_and_the_plan_follows(engine, people, client, signed_in_as, compound):
    buildings = await _children(engine, compound)
    await signed_in_as(people.secretary)
    form = {}
    for index, building in enumerate(buildings):  # one column, top to bottom, in reverse
        form[f"col-{building.id}"] = "6"
        form[f"row-{building.id}"] = str(len(buildings) - index)
    saved = await client.post(f"/boards/{compound.code}/plan", data=form, headers=await csrf_headers(client),
                              follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/boards/{compound.code}/plan?saved=1"
    async with make_sessionmaker(engine)() as db:
        layout = await db.get(PlanLayout, compound.id)
        items = await plan.plan_items(db, compound)
        audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "plan_layout",
                                                                AuditEntry.object_id == compound.code)
                                  .order_by(AuditEntry.id.desc()))).scalars().first()
    assert layout.positions == {str(b.id): [5, len(buildings) - 1 - i] for i, b in enumerate(buildings)}
    assert all(item.placed and item.column == 5 for item in items)
    assert audit is not None and audit.person_id == people.secretary.id
    svg = (await client.get(f"/boards/{compound.code}/plan.svg")).text
    first_x = plan.PAD + 5 * plan.CELL_W + 10 + (plan.CELL_W - 20) / 2
    assert f'data-id="{buildings[0].id}"><text x="{first_x:.0f}"' in svg


async def test_bad_positions_are_answered_next_to_the_field_and_kept(engine, people, client, signed_in_as, compound):
    buildings = await _children(engine, compound)
    if len(buildings) < 2:
        pytest.skip("the compound has one building")  # the demo's first compound has several
    await signed_in_as(people.secretary)
    form = {}
    for i, b in enumerate(buildings):  # each its own cell
        form[f"col-{b.id}"], form[f"row-{b.id}"] = str(i % 6 + 1), str(i // 6 + 1)
    form[f"col-{buildings[0].id}"] = "9"
    refused = await client.post(f"/boards/{compound.code}/plan", data=form, headers=await csrf_headers(client),
                                follow_redirects=False)
    assert refused.status_code == 422
    assert re.search(rf'id="f-col-{buildings[0].id}"[^>]*value="9"', refused.text)
    assert f'id="e-col-{buildings[0].id}"' in refused.text and "请填1到6之间的整数" in refused.text
    # Two on one cell: the second named is told which one is there.
    form[f"col-{buildings[0].id}"], form[f"row-{buildings[0].id}"] = form[f"col-{buildings[1].id}"], form[f"row-{buildings[1].id}"]
    clash = await client.post(f"/boards/{compound.code}/plan", data=form, headers=await csrf_headers(client),
                              follow_redirects=False)
    assert clash.status_code == 422 and f"与{buildings[0].name}在同一格" in clash.text
    assert f'id="e-col-{buildings[1].id}"' in clash.text
    async with make_sessionmaker(engine)() as db:
        assert await db.get(PlanLayout, compound.id) is None  # nothing saved


async def test_a_rural_settlement_shows_its_plots(engine, people, client, signed_in_as):
    async with make_sessionmaker(engine)() as db:
        settlement = (await db.execute(sa.select(GridNode).where(
            GridNode.level == Level.compound, GridNode.kind == CompoundKind.rural, active_node()).order_by(GridNode.path))).scalars().first()
    plots = await _children(engine, settlement)
    assert plots and {p.level for p in plots} == {Level.microgrid}
    await signed_in_as(people.admin)
    svg = (await client.get(f"/boards/{settlement.code}/plan.svg")).text
    for name in {p.name for p in plots} | await _leaders(engine, settlement):
        assert f">{name}<" in svg, name
    page = await client.get(f"/boards/{settlement.code}/plan")
    assert page.status_code == 200 and all(f'name="col-{p.id}"' in page.text for p in plots)


async def test_the_print_file_is_one_a3_page_and_its_download_audited(engine, people, client, signed_in_as, compound):
    await signed_in_as(people.secretary)
    response = await client.get(f"/boards/{compound.code}/plan.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert page_count(response.content) == 1
    assert page_sizes(response.content) == {(1191, 842)}  # A3 landscape, in points
    async with make_sessionmaker(engine)() as db:
        audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.object_id == compound.code)
                                  .order_by(AuditEntry.id.desc()))).scalars().first()
    assert audit.person_id == people.secretary.id and audit.detail["what"] == "plan_board"


async def test_who_may_see_a_plan(engine, people, client, signed_in_as, compound):
    await signed_in_as(people.leader)
    assert (await client.get(f"/boards/{compound.code}/plan")).status_code == 403
    await signed_in_as(people.other_secretary)
    assert (await client.get(f"/boards/{compound.code}/plan.svg")).status_code == 404
    await signed_in_as(people.secretary)
    assert (await client.get(f"/boards/{people.microgrid.code}/plan")).status_code == 404  # not a compound
    community = await client.get(f"/boards/{people.community.code}")
    assert f'href="/boards/{compound.code}/plan"' in community.text
