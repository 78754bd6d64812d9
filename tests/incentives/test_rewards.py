"""Rewards: the street's catalogue, a leader asks, the community decides; points never below zero,
also when two requests race (the race runs on PostgreSQL with WEIWANG_TEST_BACKEND=postgresql)."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from server.accounts.models import AuditEntry
from server.db import make_sessionmaker
from server.incentives import ledger, redemptions
from server.incentives.models import PointsEntry, Redemption, RewardItem
from tests.conftest import csrf_headers


async def _item(engine, name="保温杯", points=6, stock=5) -> RewardItem:
    async with make_sessionmaker(engine)() as db:
        item = RewardItem(name=name, points=points, stock=stock)
        db.add(item)
        await db.commit()
        await db.refresh(item)
        return item


async def _award(engine, person, points: int, path: str) -> None:
    async with make_sessionmaker(engine)() as db:
        await ledger.add_manual(db, person_id=person.id, points=points, reason="测试", grid_path=path, by=person.id)
        await db.commit()


async def test_it_lets_the_street_keep_the_catalogue(db, people, signed_in_as):
    admin = await signed_in_as(people.admin)
    response = await admin.post("/rewards", data={"name": "社区超市购物卡", "description": "50元", "points": "80", "stock": "10"},
                                headers=await csrf_headers(admin), follow_redirects=False)
    assert response.status_code == 303
    item = (await db.execute(sa.select(RewardItem).where(RewardItem.name == "社区超市购物卡"))).scalar_one()
    assert (item.points, item.stock, item.active) == (80, 10, True)
    bad = await admin.post("/rewards", data={"name": "雨伞", "points": "-3", "stock": "x"}, headers=await csrf_headers(admin))
    assert bad.status_code == 422 and "雨伞" in bad.text and "1 到 100000" in bad.text
    await admin.post("/rewards", data={"item_id": str(item.id), "name": "社区超市购物卡", "points": "90", "stock": "9"},
                     headers=await csrf_headers(admin))
    await db.refresh(item)
    assert (item.points, item.stock, item.active) == (90, 9, False)  # the box was not ticked: no longer offered
    assert (await db.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "reward_item", AuditEntry.object_id == str(item.id)))).scalar_one() == 2
    leader = await signed_in_as(people.leader)
    assert "社区超市购物卡" not in (await leader.get("/rewards")).text
    assert (await leader.post("/rewards", data={"name": "x", "points": "1", "stock": "1"},
                              headers=await csrf_headers(leader))).status_code == 403


async def test_it_holds_the_points_then_the_community_approves_and_hands_over(db, engine, people, signed_in_as, new_leader):
    leader = await new_leader()
    await _award(engine, leader, 10, people.microgrid.path)
    item = await _item(engine)
    client = await signed_in_as(leader)
    page = (await client.get("/rewards")).text
    assert 'id="balance">10<' in page and "保温杯" in page
    response = await client.post(f"/rewards/{item.id}/request", headers=await csrf_headers(client), follow_redirects=False)
    assert response.status_code == 303
    page = (await client.get("/rewards?asked=1")).text
    assert 'id="balance">4<' in page and "待审核" in page
    again = await client.post(f"/rewards/{item.id}/request", headers=await csrf_headers(client))
    assert again.status_code == 409 and "积分不够兑换这个奖品" in again.text
    db.expire_all()
    assert (await db.get(RewardItem, item.id)).stock == 4

    redemption = (await db.execute(sa.select(Redemption).where(Redemption.person_id == leader.id))).scalar_one()
    other = await signed_in_as(people.other_secretary)
    assert (await other.post(f"/rewards/requests/{redemption.id}/approve", headers=await csrf_headers(other))).status_code == 404
    secretary = await signed_in_as(people.secretary)
    assert "保温杯" in (await secretary.get("/rewards/requests")).text
    for kind in ("approve", "hand_over"):
        response = await secretary.post(f"/rewards/requests/{redemption.id}/{kind}", headers=await csrf_headers(secretary),
                                        follow_redirects=False)
        assert response.status_code == 303
    await db.refresh(redemption)
    assert redemption.status == "handed_over"
    # Refusing after the hand-over is no longer possible.
    response = await secretary.post(f"/rewards/requests/{redemption.id}/refuse", headers=await csrf_headers(secretary),
                                    follow_redirects=False)
    assert response.headers["location"] == "/rewards/requests?problem=1"
    assert await ledger.balance(db, leader.id) == 4


async def test_it_gives_points_and_stock_back_when_refused(db, engine, people, signed_in_as, new_leader):
    leader = await new_leader()
    await _award(engine, leader, 6, people.microgrid.path)
    item = await _item(engine, stock=1)
    client = await signed_in_as(leader)
    await client.post(f"/rewards/{item.id}/request", headers=await csrf_headers(client))
    redemption = (await db.execute(sa.select(Redemption).where(Redemption.person_id == leader.id))).scalar_one()
    secretary = await signed_in_as(people.secretary)
    await secretary.post(f"/rewards/requests/{redemption.id}/refuse", data={"note": "库存核对有误"},
                         headers=await csrf_headers(secretary))
    db.expire_all()
    assert await ledger.balance(db, leader.id) == 6
    assert (await db.get(RewardItem, item.id)).stock == 1
    kinds = [(e.kind, e.points) for e in (await db.execute(sa.select(PointsEntry).where(
        PointsEntry.person_id == leader.id).order_by(PointsEntry.created_at, PointsEntry.points))).scalars()]
    assert sorted(kinds) == sorted([("manual", 6), ("redemption", -6), ("reversal", 6)])


async def test_two_requests_at_once_never_spend_the_same_points(engine, people, new_leader):
    """Balance 10, two requests for two different 6-point items at the same moment, from two connections
    (different items: the item's row lock does not serialise them, the leader's account lock must)."""
    leader = await new_leader()
    await _award(engine, leader, 10, people.microgrid.path)
    items = [await _item(engine, name="保温杯", stock=5), await _item(engine, name="雨伞", stock=5)]

    async def ask(item):
        async with make_sessionmaker(engine)() as db:
            try:
                await redemptions.request_reward(db, person_id=leader.id, item_id=item.id, grid_path=people.microgrid.path)
                await asyncio.sleep(0.05)  # hold the lock a moment: the other request must wait, not interleave
                await db.commit()
                return "ok"
            except redemptions.RewardProblem as problem:
                await db.rollback()
                return str(problem)

    results = await asyncio.gather(ask(items[0]), ask(items[1]))
    assert sorted(results) == ["Not enough points for this reward.", "ok"], results
    async with make_sessionmaker(engine)() as db:
        assert await ledger.balance(db, leader.id) == 4
        assert sorted([(await db.get(RewardItem, i.id)).stock for i in items]) == [4, 5]


async def test_it_shows_an_items_photo_shrunk_like_every_photo(db, people, signed_in_as):
    import io

    from PIL import Image

    from server.incentives.catalogue import item_photos
    from server.sync.models import Photo

    camera = io.BytesIO()
    Image.effect_noise((3000, 2000), 60).convert("RGB").save(camera, "JPEG", quality=95)  # a camera's file, ~2 MB
    admin = await signed_in_as(people.admin)
    response = await admin.post("/rewards", data={"name": "不锈钢保温杯", "points": "30", "stock": "12"},
                                files={"photo": ("cup.jpg", camera.getvalue(), "image/jpeg")},
                                headers=await csrf_headers(admin), follow_redirects=False)
    assert response.status_code == 303
    item = (await db.execute(sa.select(RewardItem).where(RewardItem.name == "不锈钢保温杯"))).scalar_one()
    item_id = item.id
    photo_id = (await item_photos(db, [item_id]))[item_id]
    stored = await db.get(Photo, photo_id)
    assert max(stored.width, stored.height) <= 1600 and stored.size <= 300 * 1024 and stored.content_type == "image/jpeg"
    # In the catalogue for a leader, and served to her.
    leader = await signed_in_as(people.leader)
    page = (await leader.get("/rewards")).text
    assert f'src="/rewards/{item.id}/photo?v={photo_id}"' in page
    served = await leader.get(f"/rewards/{item.id}/photo")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg" and served.content == stored.data
    # A file that is not a photo: refused beside the field, what was typed kept.
    admin = await signed_in_as(people.admin)
    bad = await admin.post("/rewards", data={"name": "照片测试伞", "points": "10", "stock": "3"},
                           files={"photo": ("x.jpg", b"not a photo", "image/jpeg")}, headers=await csrf_headers(admin))
    assert bad.status_code == 415 and "这不是照片" in bad.text and 'value="照片测试伞"' in bad.text
    assert (await db.execute(sa.select(sa.func.count()).select_from(RewardItem).where(RewardItem.name == "照片测试伞"))).scalar_one() == 0
    # A new photo replaces the shown one; an item no longer offered shows no photo to a leader.
    second = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 200)).save(second, "PNG")
    await admin.post("/rewards", data={"item_id": str(item_id), "name": "不锈钢保温杯", "points": "30", "stock": "12"},
                     files={"photo": ("cup2.png", second.getvalue(), "image/png")}, headers=await csrf_headers(admin))
    db.expire_all()
    assert (await item_photos(db, [item_id]))[item_id] != photo_id
    leader = await signed_in_as(people.leader)
    assert (await leader.get(f"/rewards/{item_id}/photo")).status_code == 404
