"""The structure chart: the tier table's counts and every community of the street, as well-formed SVG."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import sqlalchemy as sa

from server.db import make_sessionmaker
from server.grid.models import GridNode, Level
from server.grid.stats import tier_table


async def test_the_street_chart_shows_the_tiers_and_each_community(client, engine, people, signed_in_as):
    async with make_sessionmaker(engine)() as db:
        street = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.street))).scalars().first()
        table = await tier_table(db, street.path)
        communities = list((await db.execute(sa.select(GridNode.name).where(
            GridNode.parent_id == street.id, GridNode.retired_at.is_(None)))).scalars())
    await signed_in_as(people.admin)
    response = await client.get(f"/boards/{street.code}/chart.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(response.text)
    texts = ["".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert any(street.name in t and "治理体系" in t for t in texts)
    for community in communities:
        assert community in texts
    assert str(table["tiers"]["microgrid"]) in texts and str(table["tiers"]["community"]) in texts
    await signed_in_as(people.leader)
    assert (await client.get(f"/boards/{street.code}/chart.svg")).status_code == 403
