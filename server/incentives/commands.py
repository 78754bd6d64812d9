"""`weiwang scorecard` and `weiwang points recompute`: the command line's side of incentives.

The command line has no signed-in person: it reads the whole database (whoever runs it
holds the server), so the scope is everything under the node asked for.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Post, current_post
from server.grid.models import GridNode, Level
from server.incentives import ledger, scorecard
from server.incentives.rules import load_rule_book
from server.tree import in_subtree


class CommandProblem(Exception):
    pass


def everything(column) -> sa.ColumnElement[bool]:
    return sa.true()


async def _node(db: AsyncSession, code: str | None) -> GridNode:
    where = GridNode.code == code if code else GridNode.level == Level.street.value
    node = (await db.execute(sa.select(GridNode).where(where).order_by(GridNode.id).limit(1))).scalar_one_or_none()
    if node is None:
        raise CommandProblem(f"no grid node with code {code!r}" if code else "no street in the database")
    return node


async def scorecard_command(db: AsyncSession, code: str | None, month: str | None) -> list[dict[str, Any]]:
    node = await _node(db, code)
    book = await load_rule_book(db)
    cards = await scorecard.scorecards(db, node.path, everything, book.current.weights, month)
    return [card.as_json() for card in cards]


async def recompute_command(db: AsyncSession, code: str | None, batch: int = 200) -> dict[str, int]:
    """Fold every person with a post under the node (the nightly job): idempotent."""
    node = await _node(db, code)
    people = sorted(set((await db.execute(sa.select(Post.person_id).where(
        in_subtree(Post.node_path, node.path), current_post()))).scalars()))
    book = await load_rule_book(db)
    added = 0
    for i in range(0, len(people), batch):
        added += await ledger.refresh(db, people[i:i + batch], book)
        await db.commit()
    mended = await ledger.rebuild_balances(db)  # a balance off its sum is mended, and counted
    await db.commit()
    return {"people": len(people), "entries_added": added, "balances_mended": mended}
