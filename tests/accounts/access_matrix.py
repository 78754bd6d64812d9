"""The access matrix: every registered route, every role, an object inside and one outside.

`tests/accounts/test_access_matrix.py` walks `app.routes` and fails for a route with no
entry here, so a new route cannot ship without someone deciding who may use it.

Other areas add their routes in `tests/<area>/access.py`: define `ACCESS` (a dict like
the one below, built with `entry(...)` and `expect(...)`); it is merged in automatically.

Roles: visitor (no session), leader (A post of `people.microgrid`), compound (staff of
that micro-grid's compound), community (`people.secretary`), admin (the street),
property (`people.property_staff`). "inside" objects sit in the leader's micro-grid (so
inside every grid role's scope); "outside" objects sit in `people.other_community`
(outside everyone's but the street administrator's).

Answers: an int status, 303 for a redirect elsewhere, or SIGNIN for "sent to sign in"
(a page's 303 to /signin?next=..., an /api/ call's 401).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

SIGNIN = "signin"
ROLES = ("visitor", "leader", "compound", "community", "admin", "property")
GRID_STAFF = ("leader", "compound", "community")


@dataclass
class Call:
    url: str
    data: dict | None = None  # form body
    json: Any = None  # JSON body
    headers: dict = field(default_factory=dict)


@dataclass
class Entry:
    # build(env, where, role) -> Call; `where` is "inside" or "outside"
    build: Callable[[Any, str, str], Awaitable[Call]]
    answers: dict[str, tuple[Any, Any]]  # role -> (inside, outside)
    why: str = ""


def expect(default=None, **per_role) -> dict[str, tuple[Any, Any]]:
    """expect((200, 404), admin=(200, 200), visitor=(SIGNIN, SIGNIN)); a bare value means both."""
    out = {}
    for role in ROLES:
        value = per_role.get(role, default)
        if value is None:
            raise ValueError(f"no answer for role {role}")
        out[role] = value if isinstance(value, tuple) else (value, value)
    return out


def entry(url: str | Callable, *, answers: dict, data: Callable | dict | None = None, json: Any = None,
          why: str = "") -> Entry:
    """`url` is a string (same object for inside and outside) or async (env, where, role) -> url."""

    async def build(env, where: str, role: str) -> Call:
        target = await url(env, where, role) if callable(url) else url
        body = await data(env, where, role) if callable(data) else data
        return Call(target, data=body, json=json)

    return Entry(build, answers, why)


# Standard shapes ------------------------------------------------------------------------
GRID_PAGE = expect((200, 404), visitor=SIGNIN, admin=200, property=403)
SIGNED_IN_PAGE = expect(200, visitor=SIGNIN)
PUBLIC = expect(200)


async def _grid_url(env, where, role, suffix=""):
    return f"/grid/{env.microgrid(where).code}{suffix}"


async def _invite_url(env, where, role, suffix=""):
    token = await env.invite_token() if where == "inside" else "no-such-invitation-token"
    return f"/invite/{token}" if not suffix else f"/api/invite/{token}{suffix}"


async def _new_invite_form(env, where, role):
    return {"name": f"新人{role}", "phone": "", "role": "leader", "grid": env.microgrid(where).code, "post_kind": "B"}


async def _my_device(env, where, role):
    # inside: a device of the person asking; outside: somebody else's.
    owner = env.person_of(role) if where == "inside" and env.person_of(role) else env.people.other_secretary
    return f"/me/devices/{await env.new_device(owner.id)}/revoke"


async def _person_device(env, where, role):
    person_id = await env.new_person_in(env.microgrid(where))
    return f"/admin/people/{person_id}/devices/{await env.new_device(person_id)}/revoke"


async def _person(env, where, role):
    return f"/admin/people/{env.people.leader.id if where == 'inside' else env.people.other_secretary.id}"


ACCESS: dict[tuple[str, str], Entry] = {
    # home and language (foundation)
    ("GET", "/"): entry("/", answers=expect(200, visitor=SIGNIN, leader=303),
                        why="a home for every role (issue 13); a leader: to the worklist"),
    ("GET", "/search"): entry("/search", answers=expect(303, visitor=SIGNIN, property=200, leader=200),
                              why="a leader searches all her micro-grids on the page itself (issue 13)"),
    ("POST", "/lang"): entry("/lang", data={"lang": "en", "next": "/"}, answers=expect(303)),
    # the grid (foundation)
    ("GET", "/grid/{code:str}"): entry(_grid_url, answers=GRID_PAGE),
    ("GET", "/grid/{code:str}/search"): entry(lambda e, w, r: _grid_url(e, w, r, "/search?q=a"), answers=GRID_PAGE),
    ("GET", "/grid/{code:str}/overview"): entry(lambda e, w, r: _grid_url(e, w, r, "/overview"), answers=GRID_PAGE),
    ("GET", "/households/{household_id:int}"): entry(
        lambda e, w, r: _household_url(e, w, r), answers=GRID_PAGE),
    ("POST", "/households/{household_id:int}/phone"): entry(
        lambda e, w, r: _household_url(e, w, r, "/phone"),
        answers=expect((200, 404), visitor=SIGNIN, admin=403, property=403),
        why="only the people who phone residents may see a whole number"),
    # sign-in flow: public
    ("GET", "/signin"): entry("/signin", answers=expect(303, visitor=200), why="signed in: on to ?next"),
    ("GET", "/invite/{token:str}"): entry(_invite_url, answers=expect((200, 404))),
    ("POST", "/api/invite/{token:str}/options"): entry(lambda e, w, r: _invite_url(e, w, r, "/options"),
                                                       json={"kind": "device_key"}, answers=expect((200, 404))),
    ("POST", "/api/invite/{token:str}/enrol"): entry(lambda e, w, r: _invite_url(e, w, r, "/enrol"), json={},
                                                     answers=expect((400, 404)), why="reaches the check, proves nothing"),
    ("POST", "/api/signin/options"): entry("/api/signin/options", json={"kind": "passkey"}, answers=PUBLIC),
    ("POST", "/api/signin"): entry("/api/signin", json={}, answers=expect(401), why="an empty answer proves nothing"),
    # signed in: me
    ("GET", "/me"): entry("/me", answers=SIGNED_IN_PAGE),
    ("POST", "/signout"): entry("/signout", answers=expect(303, visitor=SIGNIN)),
    ("POST", "/me/large-text"): entry("/me/large-text", data={"large_text": "on"}, answers=expect(303, visitor=SIGNIN),
                                      why="everyone's own 大字模式"),
    ("POST", "/me/devices/{device_id:int}/revoke"): entry(_my_device, answers=expect((303, 404), visitor=SIGNIN)),
    # administration
    ("GET", "/admin/people"): entry("/admin/people", answers=expect(403, visitor=SIGNIN, community=200, admin=200)),
    ("GET", "/admin/people/{person_id:int}"): entry(
        _person, answers=expect(403, visitor=SIGNIN, community=(200, 404), admin=200)),
    ("POST", "/admin/invites"): entry(
        "/admin/invites", data=_new_invite_form,
        answers=expect(403, visitor=SIGNIN, community=(200, 422), admin=200),
        why="a grid code outside the viewer's part reads as unknown (form error, no existence leak)"),
    ("POST", "/admin/people/{person_id:int}/devices/{device_id:int}/revoke"): entry(
        _person_device, answers=expect(403, visitor=SIGNIN, community=(303, 404), admin=303)),
    ("GET", "/admin/people.xlsx"): entry("/admin/people.xlsx", answers=expect(403, visitor=SIGNIN, community=200, admin=200),
                                          why="whole phone numbers: only the offices that keep the tables"),
    ("GET", "/admin/audit"): entry("/admin/audit", answers=expect(403, visitor=SIGNIN, admin=200)),
    # the API description: JSON only, signed in only (server/app.py)
    ("GET", "/schema/openapi.json"): entry("/schema/openapi.json", answers=SIGNED_IN_PAGE),
    ("GET", "/schema"): entry("/schema", answers=SIGNED_IN_PAGE),
    ("GET", "/schema/{path:str}"): entry("/schema/swagger", answers=expect(404, visitor=SIGNIN),
                                         why="no HTML viewers: they load scripts from CDNs"),
}


async def _household_url(env, where, role, suffix=""):
    return f"/households/{await env.household_id(where)}{suffix}"


def all_entries() -> dict[tuple[str, str], Entry]:
    """This table plus every `tests/<area>/access.py`."""
    merged = dict(ACCESS)
    tests_dir = Path(__file__).resolve().parent.parent
    for module in pkgutil.iter_modules([str(tests_dir)]):
        if module.ispkg and (tests_dir / module.name / "access.py").exists():
            area = importlib.import_module(f"tests.{module.name}.access")
            for key, value in getattr(area, "ACCESS", {}).items():
                assert key not in merged, f"{key} is in the access matrix twice"
                merged[key] = value
    return merged
