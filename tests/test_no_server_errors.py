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
from tests.accounts.test_access_matrix import env  # noqa: F401 (the fixture)
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


# Odd values for every query parameter and form field the app reads: a digit that is not
# ASCII, ids past 64 bits, dates out of any calendar we keep, NUL, a direction override.
ODD_VALUES = ["²", "-1", str(2**64), "\x00", "\u202e", "9999-12-31", "0001-01-01", "2026-13", "x" * 3000]
QUERY_NAMES = ["page", "category", "month", "node", "status", "source", "overdue", "q", "who", "action", "from", "to",
               "before", "community", "household", "state", "code", "next", "ended", "kept", "saved", "flagged", "lang"]


@pytest.mark.parametrize("method,path", [r for r in registered_routes()], ids=[f"{m} {p}" for m, p in registered_routes()])
async def test_it_never_answers_5xx_for_odd_query_or_form_values(method, path, client, engine, env):
    from urllib.parse import urlencode

    from tests.accounts.access_matrix import all_entries

    entry = all_entries()[(method, path)]
    await sign_in(client, engine, env.people.admin)
    headers = await csrf_headers(client)
    # Changes go to the "outside" objects (another community, which the street administrator
    # also holds): odd names stored there do not disturb the leader's fixtures other tests read.
    call = await entry.build(env, "inside" if method == "GET" else "outside", "admin")
    failures = []
    for value in ODD_VALUES:
        separator = "&" if "?" in call.url else "?"
        url = call.url + separator + urlencode({name: value[:300] for name in QUERY_NAMES})
        data = {key: value for key in call.data} if isinstance(call.data, dict) else None
        body = {key: value for key in call.json} if isinstance(call.json, dict) else call.json
        response = await client.request(method, url, data=data, json=body, headers={**headers, **call.headers},
                                        follow_redirects=False)
        if response.status_code >= 500:
            failures.append(f"{method} {url[:100]!r} data={str(data)[:80]} -> {response.status_code}")
    assert not failures, "\n".join(failures)
