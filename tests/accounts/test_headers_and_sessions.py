"""Headers and sessions (issue 12, item 13): no-store for signed-in pages, HSTS and Secure
cookies under https, a CSRF token tied to the session with an Origin check, X-Forwarded-For
from configured proxies only, a rate limit on tracking codes, sign-in errors that tell
nothing about which keys exist."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from litestar.testing import AsyncTestClient

from server import csrf
from server.app import create_app
from server.accounts.sessions import end_session
from server.config import ConfigError, load_settings
from server.db import make_sessionmaker
from server.web import TrustedProxies
from tests.accounts.conftest import enrol_device_key, enrol_passkey, sign_in_device_key
from tests.accounts.softkeys import SoftDeviceKey
from tests.conftest import csrf_headers, sign_in

HTTPS = "https://weiwang.example.cn"


# ---------------------------------------------------------------- caching


async def test_it_sends_no_store_on_signed_in_pages_but_not_on_static_files(people, signed_in_as):
    client = await signed_in_as(people.leader)
    for url in ("/me", f"/grid/{people.microgrid.code}", "/issues", "/worklist", "/api/sync"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "no-store", url
    static = await client.get("/static/js/app.js")
    assert "no-store" not in static.headers["cache-control"] and "max-age=31536000" in static.headers["cache-control"]


# ---------------------------------------------------------------- https


@pytest.fixture
async def https_client(settings):
    async with AsyncTestClient(app=create_app(replace(settings, base_url=HTTPS)), base_url=HTTPS) as client:
        yield client


def set_cookies(response) -> dict[str, str]:
    return {v.split("=", 1)[0]: v for k, v in response.headers.multi_items() if k == "set-cookie"}


async def test_it_sends_hsts_under_https_only(client, https_client):
    assert (await https_client.get("/signin")).headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in (await client.get("/signin")).headers


async def test_it_marks_every_cookie_secure_under_https(https_client, fresh_leader, new_invite, engine):
    from tests.accounts.softkeys import SoftAuthenticator

    seen: dict[str, str] = {}
    seen.update(set_cookies(await https_client.get("/signin")))  # csrftoken
    headers = {"x-csrftoken": https_client.cookies["csrftoken"], "origin": HTTPS}
    switched = await https_client.post("/lang", data={"lang": "en", "next": "/"}, headers=headers, follow_redirects=False)
    assert switched.status_code == 303, switched.text[:300]
    seen.update(set_cookies(switched))  # lang
    authenticator = SoftAuthenticator(origin=HTTPS, rp_id="weiwang.example.cn")
    _, enrolled = await enrol_passkey(https_client, await new_invite(fresh_leader), authenticator)
    assert enrolled.status_code == 200, enrolled.text
    seen.update(set_cookies(enrolled))  # ww_session, a fresh csrftoken
    async with make_sessionmaker(engine)() as db:  # the session ends on the server
        await end_session(db, https_client.cookies["ww_session"])
        await db.commit()
    seen.update(set_cookies(await https_client.get("/me", follow_redirects=False)))  # ww_ended, cleared session
    assert {"csrftoken", "lang", "ww_session", "ww_ended"} <= set(seen)
    for name, header in seen.items():
        assert "; Secure" in header or header.endswith("Secure"), header


# ---------------------------------------------------------------- CSRF


async def test_it_refuses_a_token_made_for_another_session(client, engine, people):
    await sign_in(client, engine, people.leader)
    leaders = await csrf_headers(client)
    assert (await client.post("/signout", headers=leaders, follow_redirects=False)).status_code == 303
    await sign_in(client, engine, people.secretary)
    client.cookies.set("csrftoken", leaders["x-csrftoken"])  # a token that was valid, for another session
    refused = await client.post("/signout", headers=leaders, follow_redirects=False)
    assert refused.status_code == 403 and "刷新页面后重试" in refused.text


async def test_it_refuses_the_visitors_token_after_sign_in(client, engine, people):
    before = await csrf_headers(client)
    token = await sign_in(client, engine, people.leader)
    client.cookies.set("csrftoken", before["x-csrftoken"])
    assert (await client.post("/signout", headers=before, follow_redirects=False)).status_code == 403
    # A page of the new session hands out a token for it, which then works.
    client.cookies.delete("csrftoken")
    assert (await client.get("/me")).status_code == 200
    fresh = client.cookies["csrftoken"]
    assert fresh != before["x-csrftoken"] and csrf.is_valid(client.app.state.settings.secret_key, fresh, token)
    assert (await client.post("/signout", headers={"x-csrftoken": fresh}, follow_redirects=False)).status_code == 303


@pytest.mark.parametrize("headers,allowed", [
    ({"origin": "https://evil.example"}, False),
    ({"origin": "null"}, False),
    ({"referer": "https://evil.example/page"}, False),
    ({"origin": "http://testserver.local.evil.example"}, False),
    ({"origin": "http://localhost:8000"}, True),  # the configured base URL
    ({"origin": "http://testserver.local"}, True),  # the host the request was sent to
    ({"referer": "http://testserver.local/me"}, True),
    ({}, True),  # no browser page at all: the token decides
])
async def test_it_checks_where_a_change_comes_from(headers, allowed, client, engine, people):
    await sign_in(client, engine, people.leader)
    token = await csrf_headers(client)
    response = await client.post("/lang", data={"lang": "en", "next": "/me"}, headers={**token, **headers},
                                 follow_redirects=False)
    assert response.status_code == (303 if allowed else 403), response.text[:200]


async def test_it_keeps_a_non_ascii_token_a_403_not_a_500(client):
    await csrf_headers(client)
    response = await client.post("/lang", data={"lang": "en"}, headers={"x-csrftoken": ("é" * 96).encode("latin-1")})
    assert response.status_code == 403


# ---------------------------------------------------------------- X-Forwarded-For


async def _client_seen(settings, peer: str, forwarded: str | None) -> str:
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]

    scope = {"type": "http", "client": (peer, 5000), "headers": [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())],
             "litestar_app": SimpleNamespace(state=SimpleNamespace(settings=settings))}
    await TrustedProxies(app)(scope, None, None)
    return seen["client"]


async def test_it_ignores_x_forwarded_for_unless_the_proxy_is_trusted(settings):
    untrusted = replace(settings, trusted_proxies=())
    assert await _client_seen(untrusted, "203.0.113.9", "198.51.100.1") == "203.0.113.9"
    trusted = replace(settings, trusted_proxies=("10.0.0.0/8",))
    assert await _client_seen(trusted, "10.1.2.3", "198.51.100.1") == "198.51.100.1"
    # A client's own made-up entries sit left of what the proxy appended: the right-most untrusted one counts.
    assert await _client_seen(trusted, "10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9") == "198.51.100.1"
    assert await _client_seen(trusted, "203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_it_checks_the_trusted_proxies_setting_at_start(tmp_path):
    env = {"WEIWANG_VAR_DIR": str(tmp_path), "WEIWANG_SECRET_KEY": "k" * 40}
    assert load_settings({**env, "WEIWANG_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"}).trusted_proxies == (
        "127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert load_settings(env).trusted_proxies == ()
    with pytest.raises(ConfigError, match="WEIWANG_TRUSTED_PROXIES"):
        load_settings({**env, "WEIWANG_TRUSTED_PROXIES": "localhost"})


# ---------------------------------------------------------------- tracking codes


async def test_it_rate_limits_tracking_code_lookups(client):
    statuses = [(await client.get(f"/track/NOPE{i:04d}")).status_code for i in range(31)]
    assert statuses == [404] * 30 + [429]
    assert "尝试次数过多" in (await client.get("/track/NOPE9999")).text


# ---------------------------------------------------------------- sign-in answers


async def test_it_answers_an_unknown_key_and_a_bad_signature_alike(client, fresh_leader, new_invite):
    key, _ = await enrol_device_key(client, await new_invite(fresh_leader))
    client.cookies.clear()
    forged = await sign_in_device_key(client, SoftDeviceKey(), credential_id=key.credential_id)  # known key, bad signature
    client.cookies.clear()
    unknown = await sign_in_device_key(client, SoftDeviceKey())  # a key nobody enrolled
    assert (forged.status_code, forged.json()) == (unknown.status_code, unknown.json())
    assert forged.status_code == 401 and "无法识别这部手机" in forged.json()["message"]
