"""CSRF on every state change, public routes included (server/csrf.py).

Walks every registered POST/PUT/PATCH/DELETE route with the access matrix's own request
for a person who may use it: without a token, with a token of another session, and with a
foreign Origin, the answer is the CSRF 403; with a valid token and this site's Origin it
is what the access matrix says (never that 403).
"""
from __future__ import annotations

import pytest

from server.csrf import EXEMPT_PREFIXES
from tests.accounts.access_matrix import SIGNIN, all_entries
from tests.accounts.test_access_matrix import answer_of, env, registered_routes  # noqa: F401 (env: the fixture)
from tests.conftest import csrf_headers, sign_in

# Partner endpoints take a key and no cookie (server/csrf.py EXEMPT_PREFIXES; tests/open311 covers them).
CHANGES = [(m, p) for m, p in registered_routes() if m in {"POST", "PUT", "PATCH", "DELETE"}
           and not p.startswith(EXEMPT_PREFIXES)]
PREFERRED = ("admin", "community", "compound", "leader", "property", "visitor")


def refused_by_csrf(response) -> bool:
    if response.status_code != 403:
        return False
    if response.headers.get("content-type", "").startswith("application/json"):
        return "CSRF" in response.json().get("detail", "")
    return "刷新页面后重试" in response.text


def allowed_role(entry) -> str:
    return next(r for r in PREFERRED if entry.answers[r][0] not in (403, SIGNIN))


def test_it_sweeps_every_change():
    assert len(CHANGES) >= 25
    assert ("POST", "/r/{code:str}") in CHANGES and ("PUT", "/api/photos/{photo_id:uuid}") in CHANGES


@pytest.mark.parametrize("method,path", CHANGES, ids=[f"{m} {p}" for m, p in CHANGES])
async def test_it_refuses_a_change_without_a_valid_token_or_from_another_site(method, path, client, engine, env):
    entry = all_entries()[(method, path)]
    role = allowed_role(entry)
    person = env.person_of(role)

    async def attempt(headers: dict, *, foreign_session_token: bool = False):
        client.cookies.clear()
        if foreign_session_token:
            # A valid token, of someone else's session.
            await sign_in(client, engine, env.people.other_secretary)
            stolen = await csrf_headers(client)
            client.cookies.clear()
        if person is not None:
            await sign_in(client, engine, person)
        token = await csrf_headers(client)
        if foreign_session_token:
            client.cookies.delete("csrftoken")
            client.cookies.set("csrftoken", stolen["x-csrftoken"])
            token = stolen
        call = await entry.build(env, "inside", role)
        sent = {**call.headers, **(headers(token) if callable(headers) else headers)}
        if path.startswith("/api/"):
            sent.setdefault("accept", "application/json")
        return await client.request(method, call.url, data=call.data, json=call.json, headers=sent,
                                    follow_redirects=False)

    missing = await attempt({})
    assert refused_by_csrf(missing), (missing.status_code, missing.text[:200])
    forged = await attempt({"x-csrftoken": "0" * 96})
    assert refused_by_csrf(forged), forged.status_code
    if person is not None:
        other_session = await attempt(lambda token: token, foreign_session_token=True)
        assert refused_by_csrf(other_session), other_session.status_code
    foreign = await attempt(lambda token: {**token, "origin": "https://evil.example"})
    assert refused_by_csrf(foreign), foreign.status_code
    ours = await attempt(lambda token: {**token, "origin": "http://localhost:8000"})
    assert not refused_by_csrf(ours)
    assert answer_of(ours) == entry.answers[role][0], (role, ours.status_code, ours.text[:200])
