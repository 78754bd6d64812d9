"""The demo's year of history: the article's leader with her exact tally, points the fold agrees with."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from server.accounts.models import Person, Post
from server.db import make_engine, make_sessionmaker
from server.grid.models import GridNode
from server.incentives import ledger
from server.incentives.models import PointsEntry
from server.visits.models import Visit, WorkLogEntry
from tests.conftest import scratch_database


async def _load(url: str) -> dict:
    from server.grid.demo import load_demo
    from server.incentives.demo import load_incentives_demo
    from server.issues.demo import load_ledger_demo

    engine = make_engine(url)
    try:
        await load_demo(engine, seed=2, scale=0.05, progress=False)
        async with engine.begin() as conn:
            await load_ledger_demo(conn, issues=200, events=800, seed=2)
            counts = await load_incentives_demo(conn, seed=2)
        async with make_sessionmaker(engine)() as db:
            star = (await db.execute(sa.select(Person).where(Person.name == "李春秀"))).scalar_one()
            tally = dict((await db.execute(sa.select(WorkLogEntry.kind, sa.func.count()).where(
                WorkLogEntry.person_id == star.id).group_by(WorkLogEntry.kind))).all())
            post = (await db.execute(sa.select(Post).where(Post.person_id == star.id, Post.post_kind == "A"))).scalar_one()
            names = [n for (n,) in await db.execute(sa.select(GridNode.name).where(
                GridNode.path.in_([post.node_path[:16], post.node_path[:24]])).order_by(GridNode.path))]
            visits = (await db.execute(sa.select(sa.func.count()).select_from(Visit))).scalar_one()
            entries = (await db.execute(sa.select(sa.func.count()).select_from(PointsEntry))).scalar_one()
            people = sorted(set((await db.execute(sa.select(PointsEntry.person_id))).scalars()))
            added = await ledger.refresh(db, people)
            star_balance = await ledger.balance(db, star.id)
            drifted = await ledger.rebuild_balances(db)  # the demo's accounts hold the sums it wrote
            from server.incentives.holidays import state_of
            from server.incentives.models import HolidayCampaign, HolidayTarget, HolidayVisit

            campaigns = {}
            for c in (await db.execute(sa.select(HolidayCampaign).order_by(HolidayCampaign.id))).scalars():
                n = (await db.execute(sa.select(sa.func.count()).select_from(HolidayTarget).where(
                    HolidayTarget.campaign_id == c.id))).scalar_one()
                done = (await db.execute(sa.select(sa.func.count()).select_from(HolidayVisit).where(
                    HolidayVisit.campaign_id == c.id))).scalar_one()
                campaigns[c.name[-6:]] = (state_of(c), n, done)
            from server.incentives.catalogue import item_photos
            from server.incentives.models import RewardItem

            items = list((await db.execute(sa.select(RewardItem.id))).scalars())
            photos = len(await item_photos(db, items))
        return {"counts": counts, "tally": tally, "names": names, "visits": visits, "entries": entries, "added": added,
                "star_balance": star_balance, "drifted": drifted, "campaigns": campaigns, "photos": photos}
    finally:
        await engine.dispose()


def test_it_gives_the_street_a_year_of_history_and_li_chunxiu_her_tally(tmp_path_factory):
    with scratch_database(tmp_path_factory, "incentives_demo") as url:
        result = asyncio.run(_load(url))
    assert result["tally"] == {"errand": 38, "mediation": 86, "hazard_check": 33}
    assert result["names"] == ["斜江社区", "青禾名都小区"]
    assert result["visits"] == result["counts"]["visits"] > 1000
    assert result["entries"] == result["counts"]["points_entries"] > 0
    # The demo's points are what the fold gives: folding every record again adds nothing.
    assert result["added"] == 0
    assert result["star_balance"] > 38 * 3
    assert result["drifted"] == 0
    # Holiday visits: last 春节 finished with most of its list visited, a New Year campaign running.
    spring, new_year = result["campaigns"]["春节走访慰问"], result["campaigns"]["元旦走访慰问"]
    assert spring[0] == "finished" and spring[1] > 100 and 0.85 * spring[1] < spring[2] < spring[1]
    assert new_year[0] == "running" and 0.2 * new_year[1] < new_year[2] < 0.5 * new_year[1]
    assert result["counts"]["holiday_visits"] == spring[2] + new_year[2]
    # A catalogue, each item with its photo.
    assert result["counts"]["catalogue"] == result["photos"] == 6


async def _load_city(url: str, monkeypatch) -> dict:
    from server.grid.demo import load_demo
    from server.incentives import demo
    from server.incentives.models import HolidayCampaign

    engine = make_engine(url)
    try:
        await load_demo(engine, seed=3, scale=0.05, progress=False)
        async with engine.connect() as conn:
            per_community = dict((await conn.execute(sa.text(
                "SELECT substr(grid_node.path, 1, 16), count(*) FROM post JOIN grid_node ON grid_node.id = post.node_id "
                "WHERE post.role = 'leader' AND post.post_kind = 'A' AND post.ended_on IS NULL GROUP BY 1 ORDER BY 1"))).all())
        first = min(per_community)
        # Fewer history places than the street's leaders: a city, in miniature.
        monkeypatch.setattr(demo, "HISTORY_LEADERS", per_community[first])
        async with engine.begin() as conn:
            await demo.load_incentives_demo(conn, seed=3)
        async with make_sessionmaker(engine)() as db:
            visited = set((await db.execute(sa.select(sa.func.substr(Visit.grid_path, 1, 16)))).scalars())
            workers = (await db.execute(sa.select(sa.func.count(sa.distinct(Visit.person_id))))).scalar_one()
            campaigns = set((await db.execute(sa.select(HolidayCampaign.node_path))).scalars())
            star = (await db.execute(sa.select(Person).where(Person.name == "李春秀"))).scalar_one()
            tally = dict((await db.execute(sa.select(WorkLogEntry.kind, sa.func.count()).where(
                WorkLogEntry.person_id == star.id).group_by(WorkLogEntry.kind))).all())
        return {"communities": per_community, "first": first, "visited": visited, "workers": workers,
                "campaigns": campaigns, "tally": tally}
    finally:
        await engine.dispose()


def test_a_city_gets_history_for_one_street_worth_of_leaders(tmp_path_factory, monkeypatch):
    """`weiwang demo --scale 100`: the year of history goes to the first communities whose leaders fit
    in HISTORY_LEADERS (else the load takes hours); the others start with a clean record."""
    with scratch_database(tmp_path_factory, "incentives_city") as url:
        result = asyncio.run(_load_city(url, monkeypatch))
    assert len(result["communities"]) >= 2
    assert result["visited"] == {result["first"]}
    assert 0 < result["workers"] <= result["communities"][result["first"]]
    assert result["campaigns"] == {result["first"]}
    assert result["tally"] == {"errand": 38, "mediation": 86, "hazard_check": 33}
