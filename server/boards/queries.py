"""What goes on the notice boards of a subtree, read in a handful of queries whatever its size."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Person, Post, PostKind, Role, current_post
from server.boards.models import BoardProfile
from server.grid.models import GridNode, Level, active_node
from server.party.models import ServiceStation
from server.sync.models import Photo
from server.tree import ancestor_paths, in_subtree

# Levels named in a board's "area" line, below the community (the community has its own line).
AREA_LEVELS = (Level.compound, Level.building, Level.unit)


@dataclass
class Board:
    code: str
    name: str
    kind: str | None
    leader: str
    phone: str  # the leader's own number if they agreed, else the station's
    phone_is_leader: bool
    photo: bytes | None
    backups: list[str] = field(default_factory=list)  # B posts
    area: str = ""
    community: str = ""
    station_address: str = ""


async def boards_under(db: AsyncSession, node: GridNode) -> list[Board]:
    """One board per micro-grid under `node` with a current A-post leader, in code order."""
    rows = (await db.execute(
        sa.select(GridNode, Person, BoardProfile)
        .join(Post, sa.and_(Post.node_id == GridNode.id, Post.role == Role.leader,
                            Post.post_kind == PostKind.primary, current_post()))
        .join(Person, Person.id == Post.person_id)
        .outerjoin(BoardProfile, BoardProfile.person_id == Person.id)
        .where(GridNode.level == Level.microgrid, active_node(), in_subtree(GridNode.path, node.path))
        .order_by(GridNode.code, Post.id)
    )).all()
    backups: dict[int, list[str]] = {}
    for node_id, name in (await db.execute(
            sa.select(Post.node_id, Person.name).join(Person, Person.id == Post.person_id)
            .where(Post.role == Role.leader, Post.post_kind == PostKind.backup, current_post(),
                   in_subtree(Post.node_path, node.path)).order_by(Post.id))).all():
        names = backups.setdefault(node_id, [])
        if name not in names:  # one person holding two B posts on a micro-grid is named once
            names.append(name)
    # The places above the micro-grids: the node's ancestors and everything in the subtree but the micro-grids.
    places = {n.path: n for n in (await db.execute(sa.select(GridNode).where(sa.or_(
        GridNode.path.in_(ancestor_paths(node.path)),
        sa.and_(in_subtree(GridNode.path, node.path), GridNode.level != Level.microgrid))))).scalars()}
    community_ids = [n.id for n in places.values() if n.level == Level.community]
    # The community's service station (server/party), kept on the party page: its address and phone.
    stations = {s.community_id: s for s in (await db.execute(
        sa.select(ServiceStation).where(ServiceStation.community_id.in_(community_ids)))).scalars()} if community_ids else {}
    photo_ids = [p.photo_id for _, _, p in rows if p is not None and p.photo_id is not None]
    photos = dict((await db.execute(sa.select(Photo.id, Photo.data).where(Photo.id.in_(photo_ids)))).all()) if photo_ids else {}

    boards: list[Board] = []
    seen: set[int] = set()
    for microgrid, person, profile in rows:
        if microgrid.id in seen:  # one A post a micro-grid; a stray second one prints once
            continue
        seen.add(microgrid.id)
        above = [places[p] for p in ancestor_paths(microgrid.path)[:-1] if p in places]
        community = next((n for n in above if n.level == Level.community), None)
        station = stations.get(community.id) if community else None
        show_own = bool(profile and profile.show_phone and person.phone)
        boards.append(Board(
            code=microgrid.code, name=microgrid.name, kind=microgrid.kind, leader=person.name,
            phone=person.phone if show_own else (station.phone if station else ""), phone_is_leader=show_own,
            photo=photos.get(profile.photo_id) if profile and profile.photo_id else None,
            backups=backups.get(microgrid.id, []),
            area=" ".join(n.name for n in above if n.level in AREA_LEVELS) or microgrid.name,
            community=community.name if community else "", station_address=" ".join(p for p in (station.name, station.address) if p) if station else "",
        ))
    return boards
