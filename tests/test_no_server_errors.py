"""No 500s from odd input: every registered route, with ids that cannot exist.

Walks `app.routes` like tests/accounts/test_access_matrix.py and fills every path
parameter with 0, -1, 2**64, "²" (a digit to str.isdigit(), not to int()) and an
over-long string, as a visitor and as signed-in staff, with every method the route
has (OPTIONS included). The answer may be anything a client can act on, never 5xx.
"""
from __future__ import annotations

import re

import pytest

from tests.accounts.test_access_matrix import SKIPPED_PATHS, registered_routes
from tests.conftest import csrf_headers, sign_in

ODD_IDS = ["0", "-1", str(2**64), "²", "9" * 3000]
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def routes_with_methods() -> list[tuple[str, str]]:
    found = {(method, path) for method, path in registered_routes()}
    # OPTIONS and HEAD on every path: Litestar answers them itself, guards or not.
    found |= {(extra, path) for _, path in found for extra in ("OPTIONS", "HEAD")}
    return sorted(found, key=lambda k: (k[1], k[0]))


ROUTES = [(m, p) for m, p in routes_with_methods() if not p.startswith(SKIPPED_PATHS)]


def fill(path: str, value: str) -> str:
    return PARAM.sub(value, path)


@pytest.mark.parametrize("who", ["visitor", "secretary", "admin"])
async def test_it_never_answers_5xx_for_odd_ids_in_paths(who, client, engine, people):
    if who != "visitor":
        await sign_in(client, engine, getattr(people, who))
    headers = await csrf_headers(client)
    failures = []
    requests = 0
    for method, path in ROUTES:
        values = ODD_IDS if PARAM.search(path) else [None]
        for value in values:
            url = path if value is None else fill(path, value)
            response = await client.request(method, url, headers=headers, follow_redirects=False)
            requests += 1
            if response.status_code >= 500:
                failures.append(f"{method} {url[:80]} -> {response.status_code}")
    assert requests > 100
    assert not failures, "\n".join(failures)
