"""The grid's counts as kept on write (`grid_tally`, migration 0023): for any node, the living
households, nodes by level and kind, property companies and posts held at or under it, in one
indexed read.

Database triggers on household, grid_node and post keep the table true in the writer's own
transaction, whatever writes: a form, the importer's Core statements, a subtree's move,
another app process. A bulk load (the demo) sets the triggers aside and calls `rebuild`.
Each row's node is an ancestor id taken from the path, so nothing here walks the tree.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.grid.models import GridNode, GridTally, Level
from server.tree import SEGMENT

HOUSEHOLDS, CARE_HOUSEHOLDS = "households", "care_households"
NODE, COMPANY, POST = "node:", "company:", "post:"

# The same statements as migration 0023's REBUILD: every count from the rows themselves.
REBUILD = [
    "DELETE FROM grid_tally",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.grid_path, s.start, {SEGMENT}) AS INTEGER), m.metric, SUM(CASE WHEN m.metric = 'households' THEN g.n ELSE g.care END)
FROM (SELECT grid_path, COUNT(*) AS n, SUM(CASE WHEN CAST(care_tags AS VARCHAR(1000)) <> '[]' THEN 1 ELSE 0 END) AS care
      FROM household WHERE status = 'active' GROUP BY grid_path) g
JOIN grid_tally_segment s ON s.start < length(g.grid_path)
CROSS JOIN (SELECT 'households' AS metric UNION ALL SELECT 'care_households') m
WHERE substr(g.grid_path, 1, 1) BETWEEN '0' AND '9' AND (m.metric = 'households' OR g.care > 0)
GROUP BY CAST(substr(g.grid_path, s.start, {SEGMENT}) AS INTEGER), m.metric""",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.path, s.start, {SEGMENT}) AS INTEGER), g.metric, COUNT(*)
FROM (SELECT path, 'node:' || level || ':' || COALESCE(kind, '') AS metric FROM grid_node
      WHERE retired_at IS NULL
      UNION ALL
      SELECT path, 'company:' || CAST(property_company_id AS VARCHAR(12)) FROM grid_node
      WHERE retired_at IS NULL AND property_company_id IS NOT NULL) g
JOIN grid_tally_segment s ON s.start < length(g.path)
WHERE substr(g.path, 1, 1) BETWEEN '0' AND '9'
GROUP BY CAST(substr(g.path, s.start, {SEGMENT}) AS INTEGER), g.metric""",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.node_path, s.start, {SEGMENT}) AS INTEGER), g.metric, SUM(g.n)
FROM (SELECT node_path, 'post:' || role || ':' || COALESCE(post_kind, '') AS metric, COUNT(*) AS n FROM post
      WHERE ended_on IS NULL GROUP BY node_path, role, post_kind) g
JOIN grid_tally_segment s ON s.start < length(g.node_path)
WHERE substr(g.node_path, 1, 1) BETWEEN '0' AND '9'
GROUP BY CAST(substr(g.node_path, s.start, {SEGMENT}) AS INTEGER), g.metric""",
]


async def rebuild(conn: AsyncConnection) -> None:
    """Count everything again from the rows, in the caller's transaction (after a bulk load that set
    the triggers aside; a city: a few seconds)."""
    for statement in REBUILD:
        await conn.exec_driver_sql(statement)


@dataclass
class Tally:
    """A node's counts (or a set of roots' counts summed)."""

    households: int = 0
    care_households: int = 0  # of those, with a care tag (the scorecards' care coverage)
    nodes: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, kind or "") -> n
    companies: int = 0
    posts: dict[tuple[str, str], int] = field(default_factory=dict)  # (role, post kind or "") -> posts held now

    def level(self, level: Level) -> int:
        return sum(n for (lv, _kind), n in self.nodes.items() if lv == level.value)

    def kind(self, level: Level, kind: str) -> int:
        return self.nodes.get((level.value, kind), 0)


def _fold(rows) -> dict[int, Tally]:
    out: dict[int, Tally] = defaultdict(Tally)
    companies: dict[int, set[str]] = defaultdict(set)
    for node_id, metric, n in rows:
        tally = out[node_id]
        if metric == HOUSEHOLDS:
            tally.households += n
        elif metric == CARE_HOUSEHOLDS:
            tally.care_households += n
        elif metric.startswith(NODE):
            level, _, kind = metric[len(NODE):].partition(":")
            tally.nodes[(level, kind)] = tally.nodes.get((level, kind), 0) + n
        elif metric.startswith(POST):
            role, _, kind = metric[len(POST):].partition(":")
            tally.posts[(role, kind)] = tally.posts.get((role, kind), 0) + n
        elif metric.startswith(COMPANY) and n > 0:
            companies[node_id].add(metric)
    for node_id, names in companies.items():
        out[node_id].companies = len(names)
    return out


_OF_NODES = (sa.select(GridTally.node_id, GridTally.metric, GridTally.n)
             .where(GridTally.node_id.in_(sa.bindparam("ids", expanding=True)), GridTally.n != 0))


async def of_nodes(db: AsyncSession, node_ids: list[int]) -> dict[int, Tally]:
    """Each node's counts; a node with nothing under it gets an empty Tally."""
    if not node_ids:
        return {}
    found = _fold((await db.execute(_OF_NODES, {"ids": node_ids})).all())
    return {node_id: found.get(node_id, Tally()) for node_id in node_ids}


async def of_roots(db: AsyncSession) -> Tally:
    """The whole database: every top node's counts together (a company that runs grids in two
    streets counted once)."""
    rows = (await db.execute(
        sa.select(GridTally.metric, sa.func.sum(GridTally.n))
        .join(GridNode, GridNode.id == GridTally.node_id)
        .where(GridNode.parent_id.is_(None), GridTally.n != 0)
        .group_by(GridTally.metric)
    )).all()
    return _fold((0, metric, int(n)) for metric, n in rows).get(0, Tally())
