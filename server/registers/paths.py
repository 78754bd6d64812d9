"""Moving a piece of the grid: a node's path, its subtree's, and every copy of them.

Scope checks and subtree counts are range queries on a path copied into many tables
(household.grid_path, post.node_path, issue.node_path, ...). Moving a node rewrites the
prefix in all of them with one UPDATE each, inside the caller's transaction, so a
household, a post or an open problem under the node keeps pointing at the right place.

`PATH_COPIES` must name every such column: tests/registers/test_moves.py fails on a path
column of the schema that is not listed here.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Post
from server.grid.models import GridNode, Household
from server.tree import SEGMENT, subtree_bounds
from server.incentives.models import (
    AllowanceBudget, AllowanceClaim, Commendation, IssueRating, PayoutBatch, PointsEntry, Redemption,
)
from server.issues.models import Issue, IssueMeeting
from server.notify.models import Broadcast
from server.open311.models import ApiKey
from server.party.models import DutySlot, PartyBody, ServiceStation
from server.training.models import TrainingMaterial
from server.patrols.models import Patrol, PatrolAnswer, PatrolTemplate
from server.registers.models import HouseholdChange
from server.sync.models import SyncReceipt
from server.visits.models import Visit, WorkLogEntry

MAX_DEPTH = 8  # path is String(64): eight segments of eight digits

PATH_COPIES: list[sa.Column] = [
    Household.__table__.c.grid_path,
    Post.__table__.c.node_path,
    Issue.__table__.c.node_path,
    IssueMeeting.__table__.c.community_path,
    Visit.__table__.c.grid_path,
    WorkLogEntry.__table__.c.grid_path,
    SyncReceipt.__table__.c.grid_path,
    Patrol.__table__.c.compound_path,
    PatrolAnswer.__table__.c.compound_path,
    PatrolTemplate.__table__.c.owner_path,
    HouseholdChange.__table__.c.grid_path,
    ApiKey.__table__.c.node_path,  # a partner's key stays on the subtree it was given for
    Broadcast.__table__.c.node_path,
    PartyBody.__table__.c.community_path,
    ServiceStation.__table__.c.community_path,
    DutySlot.__table__.c.community_path,
    # Points, ratings, rewards and commendations are ranked and scoped by where the work was.
    PointsEntry.__table__.c.grid_path,
    IssueRating.__table__.c.node_path,
    Redemption.__table__.c.grid_path,
    Commendation.__table__.c.grid_path,
    AllowanceClaim.__table__.c.grid_path,
    AllowanceBudget.__table__.c.node_path,
    PayoutBatch.__table__.c.node_path,
    TrainingMaterial.__table__.c.owner_path,
]


def _rewritten(column: sa.Column, old_prefix: str, new_prefix: str):
    return sa.literal(new_prefix, sa.String) + sa.func.substr(column, len(old_prefix) + 1, type_=sa.String)


async def rewrite_subtree(db: AsyncSession, old_prefix: str, new_prefix: str) -> None:
    """Give the node at `old_prefix` and everything under it the path `new_prefix...`.

    A new path never equals an existing one (it holds the moved node's own id under its new
    parent), so the unique index on grid_node.path holds row by row on SQLite and PostgreSQL.
    """
    low, high = subtree_bounds(old_prefix)
    delta = (len(new_prefix) - len(old_prefix)) // SEGMENT
    nodes = GridNode.__table__
    await db.execute(
        sa.update(nodes)
        .where(nodes.c.path >= low, nodes.c.path < high)
        .values(path=_rewritten(nodes.c.path, old_prefix, new_prefix), depth=nodes.c.depth + delta)
        .execution_options(synchronize_session=False)
    )
    for column in PATH_COPIES:
        await db.execute(
            sa.update(column.table)
            .where(column >= low, column < high)
            .values({column.name: _rewritten(column, old_prefix, new_prefix)})
            .execution_options(synchronize_session=False)
        )


async def subtree_depth(db: AsyncSession, path: str) -> int:
    """How many levels the subtree at `path` spans (1 for a leaf)."""
    low, high = subtree_bounds(path)
    deepest = (await db.execute(
        sa.select(sa.func.max(sa.func.length(GridNode.path))).where(GridNode.path >= low, GridNode.path < high)
    )).scalar()
    return ((deepest or len(path)) - len(path)) // SEGMENT + 1
