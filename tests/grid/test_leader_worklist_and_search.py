"""A leader with a backup post (issue 13): the worklist in walking order, her own grid first, the B岗
grid under 代管; her search covers every grid she leads, her own first."""
import re

import sqlalchemy as sa

from server.accounts.models import Post
from server.grid.models import Household
from server.visits.queries import floor_of, natural_key


def test_it_orders_rooms_as_people_walk_them():
    addresses = ["1栋1单元1001室", "1栋1单元201室", "10栋1单元101室", "1栋1单元102室", "2栋1单元101室", "1栋1单元101室"]
    assert sorted(addresses, key=natural_key) == [
        "1栋1单元101室", "1栋1单元102室", "1栋1单元201室", "1栋1单元1001室", "2栋1单元101室", "10栋1单元101室"]
    assert floor_of("3栋2单元1203室") == ("3栋2单元", 12)
    assert floor_of("1组12号") == ("1组", None)


async def _backup_post(db, people):
    """The neighbour (A岗 in another compound) also keeps the leader's grid as B岗, a grid whose path sorts first."""
    post = Post(person_id=people.neighbour.id, node_id=people.microgrid.id, node_path=people.microgrid.path,
                role="leader", post_kind="B")
    db.add(post)
    await db.commit()
    return post


async def test_it_finds_her_own_household_first_when_the_backup_grid_sorts_first(signed_in_as, people, db):
    post = await _backup_post(db, people)
    try:
        own = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.neighbour_microgrid.id)
                                .order_by(Household.id))).scalars().first()
        client = await signed_in_as(people.neighbour)
        page = await client.get("/search", params={"q": own.head_name})
        assert page.status_code == 200
        assert f'href="/households/{own.id}"' in page.text
        # A surname found in both grids: hers are listed first, the B岗 ones after, under 代管（B岗）.
        def surnames(microgrid_id):
            return db.execute(sa.select(Household.id, Household.head_name).where(Household.microgrid_id == microgrid_id))
        own_rows = (await surnames(people.neighbour_microgrid.id)).all()
        backup_rows = (await surnames(people.microgrid.id)).all()
        surname = sorted({n[0] for _, n in own_rows} & {n[0] for _, n in backup_rows})[0]
        both = await client.get("/search", params={"q": surname})
        backup_heading = both.text.find("代管（B岗）")
        positions = {int(m.group(1)): m.start() for m in re.finditer(r'href="/households/(\d+)"', both.text)}
        own_found = [positions[i] for i, n in own_rows if i in positions]
        backup_found = [positions[i] for i, n in backup_rows if i in positions]
        assert own_found and backup_found and backup_heading > 0
        assert max(own_found) < backup_heading < min(backup_found)
        # Outside her grids: nothing.
        stranger = (await db.execute(sa.select(Household).where(
            Household.grid_path.like(people.other_community.path + "%")).limit(1))).scalars().first()
        assert f'href="/households/{stranger.id}"' not in (await client.get("/search", params={"q": stranger.head_name})).text
    finally:
        await db.delete(post)
        await db.commit()


async def test_it_lists_her_own_grid_first_in_walking_order_with_floors(signed_in_as, people, db):
    post = await _backup_post(db, people)
    try:
        client = await signed_in_as(people.neighbour)
        page = (await client.get("/worklist")).text
        own_at = page.find(people.neighbour_microgrid.name)
        backup_at = page.find("代管（B岗）")
        assert 0 < own_at < backup_at < page.find(people.microgrid.name, backup_at)
        own_rows = re.findall(r'data-household-id="(\d+)"', page[:backup_at])
        households = {h.id: h.address for h in (await db.execute(sa.select(Household).where(
            Household.microgrid_id == people.neighbour_microgrid.id))).scalars()}
        addresses = [households[int(i)] for i in own_rows]
        assert addresses and addresses == sorted(addresses, key=natural_key)
        assert re.search(r"data-floor-title>[^<]*· 1层<", page)
        assert "本月还有" in page and "未走访（共" in page
    finally:
        await db.delete(post)
        await db.commit()
