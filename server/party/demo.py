"""The demo street's Party organisation and service stations (issue 14).

Run right after the grid demo (server/grid/demo.py) in the same transaction, from the
rows it wrote, with no random numbers: the street's names and people stay exactly what
the seed makes them. In each community: the committee, whose secretary is the staff
post titled 社区党委书记 and whose first 社区工作人员 is a committee member; grid Party
branches (one per residential compound; a village's settlements make one 总支), the
first compound's grid worker the secretary and the others branch committee members;
and the leaders' service station.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.models import Post, Role, current_post
from server.clock import utcnow
from server.grid.models import CompoundKind, GridNode, Level
from server.party.models import BodyKind, Office, PartyBody, ServiceStation

ROADS = ["东街", "南街", "西街", "北街", "建设路", "富民路"]


async def load_party_demo(conn: AsyncConnection, community_ids: list[int] | None = None) -> dict[str, int]:
    nodes, posts = GridNode.__table__, Post.__table__
    query = sa.select(nodes.c.id, nodes.c.path, nodes.c.name).where(nodes.c.level == Level.community.value)
    if community_ids is not None:
        query = query.where(nodes.c.id.in_(community_ids))
    communities = (await conn.execute(query.order_by(nodes.c.path))).all()
    now = utcnow()
    bodies, stations = [], []
    for index, (community_id, path, name) in enumerate(communities):
        staff = (await conn.execute(
            sa.select(posts.c.id, posts.c.title).where(posts.c.node_path == path, posts.c.role == Role.community.value,
                                                       current_post(posts)).order_by(posts.c.id)
        )).all()
        secretary = next((p for p in staff if p.title == "社区党委书记"), None)
        member = next((p for p in staff if p.title != "社区党委书记"), None)
        if secretary is not None:
            await conn.execute(sa.update(posts).where(posts.c.id == secretary.id).values(office=Office.party_secretary.value))
        if member is not None:
            await conn.execute(sa.update(posts).where(posts.c.id == member.id).values(office=Office.party_member.value))
        bodies.append({"kind": BodyKind.committee.value, "name": f"{name}党委", "community_id": community_id,
                       "community_path": path, "compound_ids": [], "created_at": now})
        stations.append({"community_id": community_id, "community_path": path, "name": f"{name}微网格长服务站",
                         "address": f"{ROADS[index % len(ROADS)]}{10 + index * 7}号{name}党群服务中心一楼",
                         "phone": f"028-8822{index:04d}"})
        compounds = (await conn.execute(
            sa.select(nodes.c.id, nodes.c.path, nodes.c.name, nodes.c.kind)
            .where(nodes.c.parent_id == community_id, nodes.c.level == Level.compound.value).order_by(nodes.c.path)
        )).all()
        rural = [c for c in compounds if c.kind == CompoundKind.rural.value]
        residential = [c for c in compounds if c.kind != CompoundKind.rural.value]
        # A branch per residential compound; a village's settlements share one 总支, whose
        # secretary and committee members are the settlements' grid workers, each acting
        # for their own settlement (a secretary who answers for several holds a post on each).
        groups = [[c] for c in residential] + ([rural] if rural else [])
        for number, group in enumerate(groups, start=1):
            kind_name = "党总支" if group is rural and len(rural) > 1 else "党支部"
            bodies.append({"kind": BodyKind.branch.value, "name": f"{name}第{number}网格{kind_name}",
                           "community_id": community_id, "community_path": path,
                           "compound_ids": [c.id for c in group], "created_at": now})
            workers = [(await conn.execute(
                sa.select(posts.c.id, posts.c.person_id).where(posts.c.node_id == c.id, posts.c.role == Role.compound.value,
                                                               current_post(posts)).order_by(posts.c.id).limit(1)
            )).first() for c in group]
            if not workers or workers[0] is None:
                continue
            head = workers[0]
            await conn.execute(sa.update(posts).where(posts.c.id == head.id).values(office=Office.branch_secretary.value))
            for worker in workers[1:]:
                if worker is not None:
                    await conn.execute(sa.update(posts).where(posts.c.id == worker.id).values(office=Office.branch_member.value))
    if bodies:
        await conn.execute(PartyBody.__table__.insert(), bodies)
    if stations:
        await conn.execute(ServiceStation.__table__.insert(), stations)
    return {"party_bodies": len(bodies), "stations": len(stations)}
