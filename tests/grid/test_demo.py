"""The demo street reproduces the article's figures, the same way every time."""
from __future__ import annotations

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.accounts.models import Post
from server.db import make_engine
from server.grid.demo import DemoAlreadyLoaded, build_street, load_demo_into
from server.grid.models import GridNode, Household, Level
from server.grid.stats import ARTICLE_FIGURES, tier_table
from tests.conftest import scratch_database


# Databases of the backend under test (SQLite, or a private database on PostgreSQL): the
# article's figures must come out of both. Plain sync fixtures: migrating runs asyncio.run.
@pytest.fixture(scope="module")
def full_url(tmp_path_factory) -> str:
    with scratch_database(tmp_path_factory, "demo_full") as url:
        yield url


@pytest.fixture(scope="module")
def small_url(tmp_path_factory) -> str:
    with scratch_database(tmp_path_factory, "demo_small") as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def full_engine(full_url):
    engine = make_engine(full_url)
    await load_demo_into(engine, seed=1, scale=1.0)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_engine(small_url):
    engine = make_engine(small_url)
    await load_demo_into(engine, seed=1, scale=0.1)
    yield engine
    await engine.dispose()


async def _table(engine, root_path=None) -> dict:
    async with AsyncSession(engine) as db:
        return await tier_table(db, root_path)


async def test_it_reproduces_every_article_figure(full_engine):
    table = await _table(full_engine)

    assert table["tiers"] == ARTICLE_FIGURES["tiers"]
    assert table["microgrid_types"] == ARTICLE_FIGURES["microgrid_types"]
    assert table["households"] == ARTICLE_FIGURES["households"] == 54707
    assert table["leaders"] == ARTICLE_FIGURES["leaders"] == 1352
    assert table["notice_boards"] == ARTICLE_FIGURES["notice_boards"] == 1352


async def test_it_keeps_the_total_of_116_compounds_rather_than_the_articles_sub_counts(full_engine):
    table = await _table(full_engine)

    assert table["compound_types"] == {"residential": 82, "rural": 34}
    assert ARTICLE_FIGURES["compound_types"] == {"residential": 95, "rural": 34}


async def test_it_gives_every_micro_grid_a_backup_and_the_staff_their_posts(full_engine):
    table = await _table(full_engine)

    assert table["backup_posts"] == 1606
    # 2 street admins, 15 × 3 community staff, 116 grid workers, 18 companies × 2.
    assert table["staff"] == 2 + 45 + 116 + 36
    assert table["staff_posts"] == {"admin": 2, "community": 45, "compound": 116, "property": 36}
    assert table["property_companies"] == 18


async def test_it_posts_one_a_and_one_b_leader_on_each_household_micro_grid(full_engine):
    async with AsyncSession(full_engine) as db:
        rows = (await db.execute(
            sa.select(GridNode.kind, Post.post_kind, sa.func.count(), sa.func.count(sa.distinct(Post.node_id)))
            .join(Post, Post.node_id == GridNode.id)
            .where(Post.role == "leader")
            .group_by(GridNode.kind, Post.post_kind)
        )).all()
        # A backup leader is always someone's primary leader, never a 1,353rd person.
        backups_without_a_post = (await db.execute(
            sa.select(sa.func.count(sa.distinct(Post.person_id)))
            .where(Post.post_kind == "B")
            .where(Post.person_id.not_in(sa.select(Post.person_id).where(Post.post_kind == "A")))
        )).scalar_one()
        primary = aliased(Post)
        a_leaders_backing_themselves = (await db.execute(
            sa.select(sa.func.count()).select_from(Post)
            .join(primary, sa.and_(primary.node_id == Post.node_id, primary.person_id == Post.person_id))
            .where(Post.post_kind == "B", primary.post_kind == "A")
        )).scalar_one()

    counts = {(kind, post_kind): (n, nodes) for kind, post_kind, n, nodes in rows}
    assert counts[("residential", "A")] == (1186, 1186)
    assert counts[("residential", "B")] == (1186, 1186)
    assert counts[("rural", "A")] == (166, 166)
    assert counts[("rural", "B")] == (166, 166)
    for kind in ("business", "scenic", "institution", "enterprise"):
        assert (kind, "A") not in counts
        assert counts[(kind, "B")][0] == ARTICLE_FIGURES["microgrid_types"][kind]
    assert backups_without_a_post == 0
    assert a_leaders_backing_themselves == 0


async def test_it_puts_households_only_in_residential_and_rural_micro_grids(full_engine):
    async with AsyncSession(full_engine) as db:
        kinds = dict((await db.execute(
            sa.select(GridNode.kind, sa.func.count()).join(Household, Household.microgrid_id == GridNode.id)
            .group_by(GridNode.kind)
        )).all())
        per_grid = (await db.execute(
            sa.select(sa.func.min(sa.literal_column("n")), sa.func.max(sa.literal_column("n"))).select_from(
                sa.select(sa.func.count().label("n")).select_from(Household).group_by(Household.microgrid_id).subquery()
            )
        )).one()
        paths_match = (await db.execute(
            sa.select(sa.func.count()).select_from(Household).join(GridNode, Household.microgrid_id == GridNode.id)
            .where(Household.grid_path != GridNode.path)
        )).scalar_one()
        phones = (await db.execute(sa.select(Household.phone).limit(2000))).scalars().all()

    assert set(kinds) == {"residential", "rural"}
    assert sum(kinds.values()) == 54707
    assert 20 <= per_grid[0] and per_grid[1] <= 60
    assert paths_match == 0
    assert all(len(p) == 11 and p.startswith("100") for p in phones)


async def test_it_is_deterministic_for_a_seed(full_engine):
    again = build_street(seed=1, scale=1.0)
    async with AsyncSession(full_engine) as db:
        nodes = (await db.execute(sa.select(GridNode.code, GridNode.name).order_by(GridNode.id).limit(300))).all()
        households = (await db.execute(
            sa.select(Household.head_name, Household.address, Household.phone).order_by(Household.id).limit(300)
        )).all()

    assert [tuple(r) for r in nodes] == [(n["code"], n["name"]) for n in again.nodes[:300]]
    assert [tuple(r) for r in households] == [
        (h["head_name"], h["address"], h["phone"]) for h in again.households[:300]
    ]


def test_it_makes_a_different_street_for_another_seed():
    one, two = build_street(seed=1, scale=0.1), build_street(seed=2, scale=0.1)

    assert [h["head_name"] for h in one.households[:100]] != [h["head_name"] for h in two.households[:100]]
    assert [n["name"] for n in one.nodes] != [n["name"] for n in two.nodes]


async def test_it_has_every_type_at_scale_one_tenth(small_engine):
    table = await _table(small_engine)

    assert table["tiers"]["street"] == 1
    assert table["tiers"]["community"] >= 2
    assert all(n >= 1 for n in table["compound_types"].values())
    assert all(n >= 1 for n in table["microgrid_types"].values())
    assert table["buildings"] >= 1 and table["units"] >= 1
    assert table["households"] == round(54707 * 0.1)
    assert table["leaders"] == table["microgrid_types"]["residential"] + table["microgrid_types"]["rural"]


async def test_it_refuses_to_load_the_street_twice(small_engine):
    with pytest.raises(DemoAlreadyLoaded):
        await load_demo_into(small_engine, seed=1, scale=0.1)


async def test_it_adds_up_the_communities_to_the_street(full_engine):
    async with AsyncSession(full_engine) as db:
        street = (await db.execute(sa.select(GridNode).where(GridNode.code == "JY"))).scalar_one()
        communities = (await db.execute(
            sa.select(GridNode).where(GridNode.level == Level.community).order_by(GridNode.code)
        )).scalars().all()
        whole = await tier_table(db, street.path)
        parts = [await tier_table(db, c.path) for c in communities]
        one = parts[2]

    assert one["tiers"]["street"] == 0 and one["tiers"]["community"] == 1
    assert 0 < one["households"] < whole["households"]
    assert sum(p["tiers"]["community"] for p in parts) == 15
    for key in ("compound", "microgrid"):
        assert sum(p["tiers"][key] for p in parts) == whole["tiers"][key]
    for kind, n in whole["microgrid_types"].items():
        assert sum(p["microgrid_types"][kind] for p in parts) == n
    for key in ("households", "leaders", "buildings", "units", "backup_posts"):
        assert sum(p[key] for p in parts) == whole[key]
    # The street's own posts (two administrators) belong to no community.
    assert sum(p["staff"] for p in parts) == whole["staff"] - 2


def test_it_keeps_codes_unique_and_short_at_ten_times_the_street():
    street = build_street(seed=1, scale=10)
    codes = [n["code"] for n in street.nodes]

    assert len(set(codes)) == len(codes)
    assert max(len(c) for c in codes) <= 40
    assert max(len(n["path"]) for n in street.nodes) <= 64
    assert len({c["name"] for c in street.companies}) == len(street.companies)


async def test_it_starts_ids_after_the_rows_already_there(small_engine):
    async with AsyncSession(small_engine) as db:
        max_node = (await db.execute(sa.select(sa.func.max(GridNode.id)))).scalar_one()
    street = build_street(seed=3, scale=0.1, first_ids={"grid_node": max_node + 1})

    assert street.nodes[0]["id"] == max_node + 1
    assert street.nodes[0]["path"] == f"{max_node + 1:08d}"
