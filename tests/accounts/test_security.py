"""Web security: headers on every answer, CSRF on every change, rate limits with a clear message."""
from server.web import CSP
from tests.accounts.conftest import post_json
from tests.conftest import csrf_headers


async def test_it_sends_the_strict_csp_and_friends_on_pages_errors_and_files(client, signed_in_as, people):
    for url in ["/signin", "/invite/not-a-token", "/static/js/accounts.js", "/no-such-page"]:
        response = await client.get(url)
        headers = response.headers
        assert headers["content-security-policy"] == CSP, url
        assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
        assert headers["referrer-policy"] == "same-origin"
        assert "permissions-policy" in headers and headers["x-content-type-options"] == "nosniff"


async def test_it_refuses_a_json_call_without_the_csrf_header(client):
    response = await client.post("/api/signin/options", json={"kind": "passkey"})
    assert response.status_code == 403
    assert (await post_json(client, "/api/signin/options", {"kind": "passkey"})).status_code == 200


async def test_it_refuses_a_form_post_with_a_forged_csrf_token(signed_in_as, people):
    client = await signed_in_as(people.admin)
    await csrf_headers(client)
    response = await client.post("/admin/invites", data={"name": "x", "role": "leader", "grid": "JY"},
                                 headers={"x-csrftoken": "forged"})
    assert response.status_code == 403


async def test_it_rate_limits_sign_in_attempts_with_a_clear_message(client):
    headers = {**(await csrf_headers(client)), "accept": "application/json"}
    statuses = []
    for _ in range(61):
        statuses.append((await client.post("/api/signin", json={}, headers=headers)).status_code)
    assert statuses[:60] == [401] * 60
    assert statuses[60] == 429
    page = await client.get("/invite/some-invitation-token")
    assert page.status_code == 429
    assert "尝试次数过多" in page.text
    # Looking at the sign-in page is not an attempt.
    assert (await client.get("/signin")).status_code == 200


async def test_it_does_not_rate_limit_ordinary_pages(signed_in_as, people):
    client = await signed_in_as(people.leader)
    for _ in range(70):
        assert (await client.get("/me")).status_code == 200


async def test_it_marks_the_session_cookie_secure_under_https(settings, fresh_leader, new_invite):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from server.app import create_app
    from tests.accounts.conftest import enrol_passkey
    from tests.accounts.softkeys import SoftAuthenticator

    https = replace(settings, base_url="https://weiwang.example.cn")
    async with AsyncTestClient(app=create_app(https), base_url="https://weiwang.example.cn") as client:
        authenticator = SoftAuthenticator(origin="https://weiwang.example.cn", rp_id="weiwang.example.cn")
        _, response = await enrol_passkey(client, await new_invite(fresh_leader), authenticator)
        assert response.status_code == 200, response.text
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("ww_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


async def test_it_explains_a_failed_csrf_check_in_chinese(signed_in_as, people):
    client = await signed_in_as(people.leader)
    response = await client.post("/signout", headers={"x-csrftoken": "forged"})
    assert response.status_code == 403
    assert "刷新页面后重试" in response.text
