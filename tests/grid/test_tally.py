"""The grid's counts kept on write (grid_tally, issue 15): every way the grid and its households
change leaves the table equal to a count from scratch, and the pages read it the moment a write
commits (no minute-old copy)."""
import re
from datetime import datetime, timezone

import sqlalchemy as sa

from server.accounts.models import Post
from server.grid import tally
from server.grid.models import GridNode, GridTally, Household, Level, PropertyCompany
from server.grid.stats import tier_table
from server.registers.paths import rewrite_subtree
from server.tree import child_path, in_subtree


async def _kept(db) -> dict:
    rows = await db.execute(sa.select(GridTally.node_id, GridTally.metric, GridTally.n).where(GridTally.n != 0))
    return {(node_id, metric): n for node_id, metric, n in rows}


async def _from_scratch(db) -> dict:
    """The counts `rebuild` makes from the rows, read in a savepoint that is then undone."""
    savepoint = await db.begin_nested()
    await tally.rebuild(await db.connection())
    counted = await _kept(db)
    await savepoint.rollback()
    return counted


async def assert_tally_true(db) -> None:
    kept, counted = await _kept(db), await _from_scratch(db)
    assert kept == counted, {k: (kept.get(k), counted.get(k)) for k in set(kept) | set(counted) if kept.get(k) != counted.get(k)}


async def test_the_rebuild_counts_what_a_plain_count_finds(db, people):
    """The rebuild (and so the triggers it checks) against counts written out by hand."""
    community = people.community
    counted = await _from_scratch(db)
    households = (await db.execute(sa.select(sa.func.count()).select_from(Household).where(
        in_subtree(Household.grid_path, community.path), Household.status == "active"))).scalar_one()
    microgrids = (await db.execute(sa.select(sa.func.count()).select_from(GridNode).where(
        in_subtree(GridNode.path, community.path), GridNode.level == Level.microgrid,
        GridNode.retired_at.is_(None)))).scalar_one()
    companies = (await db.execute(sa.select(sa.func.count(sa.distinct(GridNode.property_company_id))).where(
        in_subtree(GridNode.path, community.path), GridNode.retired_at.is_(None)))).scalar_one()
    assert households > 0 and microgrids > 0
    care = (await db.execute(sa.select(sa.func.count()).select_from(Household).where(
        in_subtree(Household.grid_path, community.path), Household.status == "active",
        sa.cast(Household.care_tags, sa.String) != "[]"))).scalar_one()
    assert counted[(community.id, "households")] == households
    assert counted[(community.id, "care_households")] == care > 0
    assert sum(n for (node_id, metric), n in counted.items()
               if node_id == community.id and metric.startswith("node:microgrid:")) == microgrids
    assert sum(1 for (node_id, metric) in counted if node_id == community.id and metric.startswith("company:")) == companies
    posts = (await db.execute(sa.select(Post.role, sa.func.count()).where(
        in_subtree(Post.node_path, community.path), Post.ended_on.is_(None)).group_by(Post.role))).all()
    assert posts
    assert {role: n for role, n in posts} == {
        role: sum(n for (node_id, metric), n in counted.items()
                  if node_id == community.id and metric.startswith(f"post:{role}:")) for role, _ in posts}
    # A micro-grid counts itself, once.
    assert counted[(people.microgrid.id, f"node:microgrid:{people.microgrid.kind}")] == 1


async def test_every_kind_of_write_keeps_the_tally_true(db, people):
    """Adds, edits, moves, retirements and deletes, through the ORM and through Core statements,
    each checked against a count from scratch; all in one transaction, undone at the end."""
    await assert_tally_true(db)
    microgrid, community, other = people.microgrid, people.community, people.other_community
    before = await tally.of_nodes(db, [community.id, other.id, microgrid.id])

    # A household moves in (the ORM), another through a Core insert, one moves out.
    household = Household(microgrid_id=microgrid.id, grid_path=microgrid.path, address="测试路1号", head_name="王测试")
    db.add(household)
    await db.flush()
    await db.execute(sa.insert(Household).values(microgrid_id=microgrid.id, grid_path=microgrid.path,
                                                 address="测试路2号", head_name="李测试", care_tags=[]))
    after = await tally.of_nodes(db, [community.id, microgrid.id])
    assert after[community.id].households == before[community.id].households + 2
    assert after[microgrid.id].households == before[microgrid.id].households + 2
    household.care_tags = ["elderly_alone"]
    await db.flush()
    assert (await tally.of_nodes(db, [microgrid.id]))[microgrid.id].care_households == \
        before[microgrid.id].care_households + 1
    await assert_tally_true(db)
    household.status = "moved_out"
    await db.flush()
    await assert_tally_true(db)

    # A compound is added as the registers add one: a placeholder path first, then its own.
    company = PropertyCompany(name="测试物业有限公司")
    db.add(company)
    await db.flush()
    compound = GridNode(parent_id=community.id, level=Level.compound, kind="residential", code="TALLY-C1",
                        name="测试小区", path="!TALLY-C1", depth=community.depth + 1, property_company_id=company.id)
    db.add(compound)
    await db.flush()
    compound.path = child_path(community.path, compound.id)
    await db.flush()
    leaf = GridNode(parent_id=compound.id, level=Level.microgrid, kind="residential", code="TALLY-M1",
                    name="测试微网格", path="!TALLY-M1", depth=compound.depth + 1)
    db.add(leaf)
    await db.flush()
    leaf.path = child_path(compound.path, leaf.id)
    await db.flush()
    db.add_all([Household(microgrid_id=leaf.id, grid_path=leaf.path, address=f"测试苑{i}号", head_name="张测试")
                for i in range(3)])
    await db.flush()
    await assert_tally_true(db)
    counts = (await tally.of_nodes(db, [compound.id]))[compound.id]
    assert (counts.households, counts.level(Level.microgrid), counts.companies) == (3, 1, 1)

    # The compound and all under it move to the other community (the registers' own Core update).
    old_path = compound.path
    await rewrite_subtree(db, old_path, child_path(other.path, compound.id))
    await db.execute(sa.update(GridNode).where(GridNode.id == compound.id).values(parent_id=other.id))
    await assert_tally_true(db)
    moved = await tally.of_nodes(db, [community.id, other.id, compound.id])
    assert moved[other.id].households == before[other.id].households + 3
    assert moved[community.id].households == before[community.id].households + 1  # the Core household stayed
    assert moved[compound.id].households == 3  # under its own id, wherever it is

    # A leader is appointed to the micro-grid (A post), the old one's post ends.
    from datetime import date

    db.add(Post(person_id=people.neighbour.id, node_id=leaf.id, node_path=child_path(child_path(other.path, compound.id), leaf.id),
                role="leader", post_kind="A"))
    await db.flush()
    await db.execute(sa.update(Post).where(Post.person_id == people.leader.id, Post.node_id == microgrid.id,
                                           Post.ended_on.is_(None)).values(ended_on=date.today()))
    await assert_tally_true(db)
    counts = (await tally.of_nodes(db, [compound.id]))[compound.id]
    assert counts.posts == {("leader", "A"): 1}

    # Its company changes, the micro-grid retires, a household is deleted outright.
    await db.execute(sa.update(GridNode).where(GridNode.id == compound.id).values(property_company_id=None))
    await db.execute(sa.update(GridNode).where(GridNode.id == leaf.id).values(retired_at=datetime.now(timezone.utc)))
    await db.execute(sa.delete(Household).where(Household.grid_path == child_path(child_path(other.path, compound.id), leaf.id),
                                                Household.address == "测试苑0号"))
    await assert_tally_true(db)
    counts = (await tally.of_nodes(db, [compound.id]))[compound.id]
    assert (counts.households, counts.level(Level.microgrid), counts.companies) == (2, 0, 0)
    await db.execute(sa.delete(Post).where(Post.node_id == leaf.id))
    await assert_tally_true(db)
    await db.rollback()
    assert await tally.of_nodes(db, [community.id, other.id, microgrid.id]) == before


async def test_the_overview_shows_a_new_household_at_once(signed_in_as, people, db):
    """No minute-old copy: the count on the street overview moves with the commit, in every process."""
    client = await signed_in_as(people.admin)
    street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()

    async def shown() -> int:
        response = await client.get(f"/grid/{street.code}/overview")
        assert response.status_code == 200
        page = int(re.search(r'<tr class="tier"><th>户数?</th><td class="num"[^>]*>(\d+)</td>', response.text).group(1))
        assert page == (await tier_table(db, street.path))["households"]
        return page

    first = await shown()
    household = Household(microgrid_id=people.microgrid.id, grid_path=people.microgrid.path,
                          address="测试路9号", head_name="赵测试")
    db.add(household)
    await db.commit()
    try:
        assert await shown() == first + 1
    finally:
        await db.delete(household)
        await db.commit()
    assert await shown() == first
    page = await client.get(f"/grid/{street.code}")
    assert sum(int(n) for n in re.findall(r"(\d+) 户", page.text)) == first


async def test_the_tier_table_counts_people_once_however_many_posts_they_hold(db, people):
    """Leaders and staff are people, not posts: a leader with a second A post is still one leader,
    while the notice boards (one per A post) count two."""
    community = people.community
    before = await tier_table(db, community.path)
    second = (await db.execute(sa.select(GridNode).where(
        in_subtree(GridNode.path, community.path), GridNode.level == Level.microgrid,
        GridNode.id != people.microgrid.id).limit(1))).scalar_one()
    db.add(Post(person_id=people.leader.id, node_id=second.id, node_path=second.path, role="leader", post_kind="A"))
    db.add(Post(person_id=people.secretary.id, node_id=second.id, node_path=second.path, role="compound"))
    await db.flush()
    after = await tier_table(db, community.path)
    await db.rollback()
    assert after["leaders"] == before["leaders"]
    assert after["notice_boards"] == before["notice_boards"] + 1
    assert after["staff"] == before["staff"]
    assert after["staff_posts"]["compound"] == before["staff_posts"]["compound"] + 1
