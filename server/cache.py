"""A small in-process cache for aggregate counts (dashboards, tier tables, child counts).

Counting 55,000 households on every street-page view costs more than the rest of the page;
figures a minute old are fine for a figures page. Each app process keeps its own copy.
Never cache anything scoped to a person or anything a form writes and then shows back.
(At city scale on PostgreSQL a summary table maintained on write replaces this.)
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
