"""Reading the Party organisation and the stations, scoped like everything else."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, Role, current_post
from server.accounts.scope import Viewer
from server.grid.models import GridNode, Level
from server.party.models import BRANCH_OFFICES, COMMITTEE_OFFICES, BodyKind, Office, PartyBody, ServiceStation
from server.tree import COMMUNITY_LEN, subtree_bounds



async def community_for(db: AsyncSession, viewer: Viewer, code: str) -> GridNode:
    """The community if the person works in it (the whole of it, or a part of it); else 404."""
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None or node.level != Level.community:
        raise NotFoundException()
    if not viewer.sees_path(node.path) and not any(root.startswith(node.path) for root in viewer.grid_paths):
        raise NotFoundException()
    return node


async def communities_for(db: AsyncSession, viewer: Viewer) -> list[GridNode]:
    """Communities the person works in: under their posts, or the one above their part."""
    rows = await db.execute(sa.select(GridNode).where(GridNode.level == Level.community,
                                                      viewer.subtree_clause(GridNode.path)).order_by(GridNode.path))
    found = list(rows.scalars())
    if found:
        return found
    paths = {p[:COMMUNITY_LEN] for p in viewer.grid_paths if len(p) >= COMMUNITY_LEN}
    if not paths:
        return []
    return list((await db.execute(sa.select(GridNode).where(GridNode.path.in_(paths)).order_by(GridNode.path))).scalars())


async def station_of(db: AsyncSession, community: GridNode) -> ServiceStation | None:
    return (await db.execute(sa.select(ServiceStation).where(ServiceStation.community_id == community.id))).scalar_one_or_none()


@dataclass
class Holder:
    person_id: int
    name: str
    office: str
    post_id: int


@dataclass
class Branch:
    body: PartyBody
    compounds: list[GridNode]
    holders: list[Holder] = field(default_factory=list)


@dataclass
class Organisation:
    community: GridNode
    committee: PartyBody | None
    committee_holders: list[Holder]
    staff: list[Holder]  # every community post there, for naming a delegate
    branches: list[Branch]
    station: ServiceStation | None

    @property
    def secretary(self) -> Holder | None:
        return next((h for h in self.committee_holders if h.office == Office.party_secretary), None)

    @property
    def delegate(self) -> Holder | None:
        return next((h for h in self.committee_holders if h.office == Office.delegate), None)


async def organisation(db: AsyncSession, community: GridNode) -> Organisation:
    bodies = list((await db.execute(
        sa.select(PartyBody).where(PartyBody.community_path == community.path).order_by(PartyBody.id)
    )).scalars())
    committee = next((b for b in bodies if b.kind == BodyKind.committee), None)
    low, high = subtree_bounds(community.path)
    rows = (await db.execute(
        sa.select(Post.id, Post.person_id, Person.name, Post.office, Post.node_path, Post.role)
        .join(Person, Person.id == Post.person_id)
        .where(Post.node_path >= low, Post.node_path < high, current_post(),
               sa.or_(Post.office != "", sa.and_(Post.role == Role.community, Post.node_path == community.path)))
        .order_by(Post.id)
    )).all()
    staff = [Holder(pid, name, office, post_id) for post_id, pid, name, office, path, role in rows
             if role == Role.community and path == community.path]
    committee_holders = [h for h in staff if h.office in COMMITTEE_OFFICES]
    order = [Office.party_secretary, Office.delegate, Office.party_member]
    committee_holders.sort(key=lambda h: order.index(h.office))
    branch_bodies = [b for b in bodies if b.kind == BodyKind.branch]
    all_ids = [i for b in branch_bodies for i in b.compound_ids]
    nodes = {n.id: n for n in (await db.execute(sa.select(GridNode).where(GridNode.id.in_(all_ids)))).scalars()} if all_ids else {}
    branches = []
    for body in branch_bodies:
        branch = Branch(body, [nodes[i] for i in body.compound_ids if i in nodes])
        paths = {n.path for n in branch.compounds}
        seen: set[int] = set()
        for post_id, pid, name, office, path, role in rows:
            if office in BRANCH_OFFICES and path in paths and pid not in seen:
                seen.add(pid)
                branch.holders.append(Holder(pid, name, office, post_id))
        branch.holders.sort(key=lambda h: h.office != Office.branch_secretary)
        branches.append(branch)
    return Organisation(community, committee, committee_holders, staff, branches, await station_of(db, community))
