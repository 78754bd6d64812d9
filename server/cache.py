"""A small in-process cache for aggregates that are costly to count: the scorecard dashboards
and the ledger's figures, a minute old at most. Each app process keeps its own copy.
Never cache anything scoped to a person or anything a form writes and then shows back.

The grid's counts (tier tables, a node's children) no longer come through here: grid_tally is
kept on write by the database (server/grid/tally.py), so every process reads the same figures
the moment a write commits.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Hashable

TTL_SECONDS = 60.0
MAX_ENTRIES = 2048

_entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()


async def cached(key: Hashable, compute: Callable[[], Awaitable[Any]], ttl: float = TTL_SECONDS) -> Any:
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        _entries.move_to_end(key)
        return hit[1]
    value = await compute()
    _entries[key] = (now + ttl, value)
    _entries.move_to_end(key)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget everything (tests, and after a bulk import)."""
    _entries.clear()
