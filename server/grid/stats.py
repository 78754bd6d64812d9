"""The article's grid table, counted from the database for any subtree.

Three reads whatever the size: the counts kept on write (server/grid/tally.py), and the distinct
leaders and staff, each a range of a partial index on post.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Post, PostKind, Role, current_post
from server.grid import tally
from server.grid.models import CompoundKind, GridNode, Level, MicrogridKind
from server.tree import SEGMENT, in_subtree

# Jinyuan Street as the article reports it, for the street overview to show beside
# the database's own counts.
ARTICLE_FIGURES: dict[str, Any] = {
    "tiers": {"street": 1, "community": 15, "compound": 116, "microgrid": 1606},
    "microgrid_types": {
        "residential": 1186, "rural": 166, "business": 162, "scenic": 30, "institution": 57, "enterprise": 5,
    },
    "compound_types": {"residential": 95, "rural": 34},
    "compound_types_note": (
        "The article's sub-counts (95 residential compounds + 34 rural settlements = 129) do not add "
        "up to its 116 third-tier grids; the demo keeps the total 116 and the 34 settlements, so 82 "
        "residential compounds."
    ),
    "households": 54707,
    "notice_boards": 1352,
    "leaders": 1352,
}

LABELS = {
    "street": "街道 street",
    "community": "社区/村 community",
    "compound": "小区/院落/林盘 compound",
    "microgrid": "微网格 micro-grid",
    "residential": "居民小区 residential",
    "rural": "散居林盘 rural",
    "business": "个体工商户 business",
    "scenic": "旅游景区 scenic",
    "institution": "驻区单位 institution",
    "enterprise": "经开区企业 enterprise",
    "buildings": "楼栋 buildings",
    "units": "单元 units",
    "households": "户 households",
    "leaders": "微网格长 leaders (A岗)",
    "notice_boards": "公示牌 notice boards",
    "backup_posts": "B岗 backup posts",
    "staff": "工作人员 staff",
    "property_companies": "物业公司 property companies",
}


# Literals, not parameters: a planner picks a partial index only when the query's own text implies
# the index's WHERE (a generic plan with role = $1 would scan the table).
_LEADER = sa.literal_column("'leader'")


async def _people(db: AsyncSession, root_path: str | None, *which) -> int:
    """How many people hold such a post now under root_path: each counted once, however many posts
    they hold (not additive up the tree, so counted here; a partial index on post serves each)."""
    held = sa.select(Post.person_id).where(sa.true() if root_path is None else in_subtree(Post.node_path, root_path), *which, current_post()).distinct()
    return (await db.execute(sa.select(sa.func.count()).select_from(held.subquery()))).scalar_one()


async def _one(db: AsyncSession, node_id: int) -> tally.Tally:
    return (await tally.of_nodes(db, [node_id]))[node_id]


async def tier_table(db: AsyncSession, root_path: str | None) -> dict[str, Any]:
    """Counts for the whole database (None) or the subtree rooted at root_path: the grid's from the
    tally kept on write (server/grid/tally.py, keyed by the node's id, the path's last segment),
    the people holding posts counted from an index."""
    counts = await (tally.of_roots(db) if root_path is None else _one(db, int(root_path[-SEGMENT:])))
    leaders = await _people(db, root_path, Post.role == _LEADER, Post.post_kind == sa.literal_column("'A'"))
    staff = await _people(db, root_path, Post.role != _LEADER)

    return {
        "tiers": {level.value: counts.level(level)
                  for level in (Level.street, Level.community, Level.compound, Level.microgrid)},
        "microgrid_types": {k.value: counts.kind(Level.microgrid, k.value) for k in MicrogridKind},
        "compound_types": {k.value: counts.kind(Level.compound, k.value) for k in CompoundKind},
        "buildings": counts.level(Level.building),
        "units": counts.level(Level.unit),
        "households": counts.households,
        # One A-post per micro-grid with households, and one notice board for each.
        "leaders": leaders,
        "notice_boards": counts.posts.get((Role.leader.value, PostKind.primary.value), 0),
        "backup_posts": counts.posts.get((Role.leader.value, PostKind.backup.value), 0),
        "staff": staff,
        "staff_posts": {role.value: sum(n for (r, _), n in counts.posts.items() if r == role.value)
                        for role in Role if role != Role.leader},
        "property_companies": counts.companies,
    }


async def stats_for(db: AsyncSession, code: str | None) -> dict[str, Any] | None:
    """`weiwang stats`: the table for the grid with this code, or for everything; None if no such code."""
    if code is None:
        return {"root": None, **await tier_table(db, None)}
    node = (await db.execute(sa.select(GridNode).where(GridNode.code == code))).scalar_one_or_none()
    if node is None:
        return None
    root = {"code": node.code, "name": node.name, "level": node.level}
    return {"root": root, **await tier_table(db, node.path)}


def format_table(table: dict[str, Any]) -> str:
    """A plain text table; beside a street, the article's figures for comparison."""
    compare = table["tiers"]["street"] == 1
    root = table.get("root")
    title = f"{root['name']} ({root['code']})" if root else "全部 all grids"
    lines = [title]

    def row(key: str, value: int, article: int | None = None, indent: str = "") -> None:
        label = indent + LABELS.get(key, key)
        # CJK characters take two columns in a terminal.
        width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in label)
        line = label + " " * max(1, 34 - width) + f"{value:>9,}"
        if compare and article is not None:
            mark = "" if article == value else "  ≠"
            line += f"   {article:>9,}{mark}"
        lines.append(line)

    if compare:
        lines.append(" " * 34 + f"{'database':>9}   {'article':>9}")
    for tier, n in table["tiers"].items():
        row(tier, n, ARTICLE_FIGURES["tiers"][tier])
        if tier == "compound":
            for kind, m in table["compound_types"].items():
                row(kind, m, ARTICLE_FIGURES["compound_types"][kind], "  ")
        if tier == "microgrid":
            for kind, m in table["microgrid_types"].items():
                row(kind, m, ARTICLE_FIGURES["microgrid_types"][kind], "  ")
    for key in ("buildings", "units", "households", "leaders", "notice_boards", "backup_posts", "staff",
                "property_companies"):
        row(key, table[key], ARTICLE_FIGURES.get(key))
    if compare:
        lines.append("note: " + ARTICLE_FIGURES["compound_types_note"])
    return "\n".join(lines)
