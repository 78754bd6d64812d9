"""After sign-in (and the language switch) the app goes back only to a path on this site.

One rule, server/web.py safe_next; static/js/accounts.js applies it again before it
navigates (the browser journey in e2e/test_enrolment.py checks that side).
"""
from __future__ import annotations

import html
import re

import pytest

from server.web import safe_next
from tests.accounts.conftest import enrol_passkey, sign_in_passkey
from tests.conftest import csrf_headers

HOSTILE = [
    "/\t/evil.example/x", "/\n/evil.example/x", "/\r/evil.example/x", "/\t\\evil.example", "//evil.example/x",
    "/\\evil.example/x", "\\\\evil.example", "/\\/evil.example", "/%09/evil.example/x", "/%0A/evil.example",
    "/%0D/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example", "/%252F/evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "https://evil.example/", "http:/evil.example", "///evil.example",
    " /grid", "/grid\x00", "evil.example", "", "/" + "a" * 2001, "/grid/\u202eelpmaxe.live",
]
LOCAL = ["/", "/grid/JY-01", "/issues?status=open&page=2", "/households/12#visits", "/issues/new?node=JY-01-03"]


@pytest.mark.parametrize("target", HOSTILE)
def test_it_turns_every_hostile_next_into_home(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", LOCAL)
def test_it_keeps_a_path_on_this_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", ["/%09/evil.example/x", "/%0A/evil.example", "%2F%2Fevil.example", "/%5Cevil"])
async def test_it_renders_home_as_next_on_the_signin_page(target, client):
    page = await client.get(f"/signin?next={target}")
    assert page.status_code == 200
    assert re.search(r'data-next="([^"]*)"', page.text).group(1) == "/"


async def test_it_answers_sign_in_with_a_local_next_only(client, fresh_leader, new_invite):
    authenticator, enrolled = await enrol_passkey(client, await new_invite(fresh_leader))
    assert enrolled.status_code == 200
    for target, expected in [("/%09/evil.example/x", "/"), ("/\t/evil.example/x", "/"), ("//evil.example", "/"),
                             ("/grid/JY", "/grid/JY")]:
        client.cookies.clear()
        answer = await sign_in_passkey(client, authenticator, next_path=target)
        assert answer.status_code == 200, answer.text
        assert answer.json()["next"] == expected, target


async def test_it_sends_a_language_switch_home_for_a_hostile_next(client):
    for target in ("/\t/evil.example/x", "/%5Cevil", "https://evil.example"):
        response = await client.post("/lang", data={"lang": "en", "next": target}, headers=await csrf_headers(client),
                                     follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/"), target


async def test_it_quotes_the_path_it_sends_a_visitor_back_to(client):
    response = await client.get("/grid/a%20b%3Fnext=x", follow_redirects=False)
    location = html.unescape(response.headers["location"])
    assert location == "/signin?next=/grid/a%20b%3Fnext%3Dx"
