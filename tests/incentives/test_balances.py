"""The balance kept on the account (ledger.credit) is the sum of the person's entries after every
kind of write that appends one, and the nightly recompute mends one that drifted."""
from __future__ import annotations

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.incentives import ledger, redemptions
from server.incentives.commands import recompute_command
from server.incentives.models import PointsAccount, PointsEntry, RewardItem
from tests.incentives.test_points import _elderly_household
from tests.sync.helpers import post_sync, visit


async def kept_and_summed(engine, person_id: int) -> tuple[int, int]:
    async with make_sessionmaker(engine)() as db:
        kept = (await db.execute(sa.select(PointsAccount.balance).where(PointsAccount.person_id == person_id))).scalar()
        summed = (await db.execute(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0))
                                   .where(PointsEntry.person_id == person_id))).scalar_one()
        return kept, summed


async def test_every_write_keeps_the_balance_the_sum_of_the_entries(db, engine, people, signed_in_as, new_leader):
    leader = await new_leader()
    client = await signed_in_as(leader)
    path = people.microgrid.path
    elderly = await _elderly_household(db, people.microgrid)
    first = visit(elderly.id, kind="care")
    await post_sync(client, [first])  # folded as it arrives
    assert await kept_and_summed(engine, leader.id) == (3, 3)
    await post_sync(client, [first, visit(elderly.id, kind="routine")])  # a replay; the month's cap
    assert await kept_and_summed(engine, leader.id) == (3, 3)
    await client.get("/points")  # the page's full fold adds nothing
    assert await kept_and_summed(engine, leader.id) == (3, 3)

    async with make_sessionmaker(engine)() as s:
        await ledger.add_manual(s, person_id=leader.id, points=10, reason="表彰", grid_path=path, by=people.admin.id)
        await s.commit()
    assert await kept_and_summed(engine, leader.id) == (13, 13)
    async with make_sessionmaker(engine)() as s:
        await ledger.add_manual(s, person_id=leader.id, points=-4, reason="扣分", grid_path=path, by=people.admin.id)
        await s.commit()
    assert await kept_and_summed(engine, leader.id) == (9, 9)

    async with make_sessionmaker(engine)() as s:
        item = RewardItem(name="雨伞", points=5, stock=2)
        s.add(item)
        await s.commit()
        asked = await redemptions.request_reward(s, person_id=leader.id, item_id=item.id, grid_path=path)
        await s.commit()
    assert await kept_and_summed(engine, leader.id) == (4, 4)
    async with make_sessionmaker(engine)() as s:
        asked = await s.merge(asked)
        await redemptions.step(s, asked, "refuse", actor_id=people.secretary.id, note="库存不足")
        await s.commit()
    assert await kept_and_summed(engine, leader.id) == (9, 9)
    async with make_sessionmaker(engine)() as s:  # a deduction past the balance: refused, nothing kept
        try:
            await ledger.add_manual(s, person_id=leader.id, points=-10, reason="x", grid_path=path, by=people.admin.id)
        except ledger.NotEnoughPoints:
            await s.rollback()
        else:
            raise AssertionError("a deduction past the balance was taken")
    assert await kept_and_summed(engine, leader.id) == (9, 9)


async def test_the_recompute_mends_a_balance_that_drifted(engine, people, new_leader):
    leader = await new_leader()
    async with make_sessionmaker(engine)() as s:
        await ledger.add_manual(s, person_id=leader.id, points=7, reason="表彰", grid_path=people.microgrid.path,
                                by=people.admin.id)
        await s.execute(sa.update(PointsAccount).where(PointsAccount.person_id == leader.id).values(balance=100))
        await s.commit()
    assert await kept_and_summed(engine, leader.id) == (100, 7)
    async with make_sessionmaker(engine)() as s:
        result = await recompute_command(s, people.microgrid.code)
    assert result["balances_mended"] == 1
    assert await kept_and_summed(engine, leader.id) == (7, 7)
    async with make_sessionmaker(engine)() as s:
        assert (await recompute_command(s, people.microgrid.code))["balances_mended"] == 0
