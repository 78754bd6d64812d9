"""The grid browser as the people of the access tests see it."""
import re

import sqlalchemy as sa

from server.accounts.models import Post
from server.grid.models import GridNode, Household, Level

HX = {"HX-Request": "true"}


async def test_it_sends_a_visitor_to_sign_in(client):
    response = await client.get("/grid/JY", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/grid/JY"


async def test_it_shows_the_street_with_its_communities_and_counts(signed_in_as, people, db):
    client = await signed_in_as(people.admin)
    response = await client.get("/grid/JY")
    assert response.status_code == 200
    communities = (await db.execute(sa.select(GridNode).where(GridNode.level == Level.community))).scalars().all()
    for community in communities:
        assert community.name in response.text
    total = (await db.execute(sa.select(sa.func.count()).select_from(Household))).scalar_one()
    counts = [int(n) for n in re.findall(r"(\d+) 户", response.text)]
    assert sum(counts) == total


async def test_a_node_with_many_children_lists_them_a_page_at_a_time(signed_in_as, people, db, monkeypatch):
    """A city's street holds 1,500 communities: the node page shows CHILDREN_PAGE of them, with the
    pager, and every child is on exactly one page (in the same order as one long list)."""
    from server.grid import queries

    community = people.community
    children = (await db.execute(sa.select(GridNode.name).where(GridNode.parent_id == community.id,
                                                                GridNode.retired_at.is_(None))
                                 .order_by(GridNode.sort_order, GridNode.code))).scalars().all()
    assert len(children) >= 3
    monkeypatch.setattr(queries, "CHILDREN_PAGE", 2)
    client = await signed_in_as(people.admin)
    seen, counted = [], 0
    pages = -(-len(children) // 2)
    for n in range(1, pages + 1):
        response = await client.get(f"/grid/{community.code}?page={n}")
        assert response.status_code == 200
        counted += sum(int(h) for h in re.findall(r"(\d+) 户", response.text))  # each page counts its own children
        listed = re.findall(r'<span class="list-title">([^<]+)</span>', response.text)
        assert len(listed) == (2 if n < pages else len(children) - 2 * (pages - 1))
        seen += listed
        assert f"第 {n} 页，共 {pages} 页（共 {len(children)} 条）" in response.text
        assert ('rel="next"' in response.text) == (n < pages)
        assert ('rel="prev"' in response.text) == (n > 1)
    assert seen == list(children)
    assert counted == (await db.execute(sa.select(sa.func.count()).select_from(Household).where(
        Household.grid_path.startswith(community.path), Household.status == "active"))).scalar_one() > 0
    # Past the end: the last page, not an empty list; a page number out of range: a clear 400.
    last = await client.get(f"/grid/{community.code}?page=9999")
    assert re.findall(r'<span class="list-title">([^<]+)</span>', last.text) == seen[2 * (pages - 1):]
    assert (await client.get(f"/grid/{community.code}?page=0")).status_code == 400


async def test_it_drills_down_to_a_household_with_the_phone_masked(signed_in_as, people, db):
    client = await signed_in_as(people.leader)
    response = await client.get(f"/grid/{people.microgrid.code}")
    assert response.status_code == 200
    households = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().all()
    assert households
    for household in households:
        assert household.head_name in response.text
        assert household.phone not in response.text
        assert household.phone[:3] + "****" + household.phone[-4:] in response.text
    page = await client.get(f"/households/{households[0].id}")
    assert page.status_code == 200
    assert households[0].address in page.text
    assert households[0].phone not in page.text


async def test_it_answers_404_for_a_micro_grid_outside_the_leaders_grid(signed_in_as, people, db):
    client = await signed_in_as(people.leader)
    assert (await client.get(f"/grid/{people.neighbour_microgrid.code}")).status_code == 404
    assert (await client.get(f"/grid/{people.community.code}")).status_code == 404
    theirs = (await db.execute(sa.select(Household.id).where(Household.microgrid_id == people.neighbour_microgrid.id))).scalars().first()
    assert (await client.get(f"/households/{theirs}")).status_code == 404
    assert (await client.get("/households/999999999")).status_code == 404


async def test_it_lets_the_community_secretary_see_the_whole_community_only(signed_in_as, people):
    client = await signed_in_as(people.secretary)
    assert (await client.get(f"/grid/{people.community.code}")).status_code == 200
    assert (await client.get(f"/grid/{people.microgrid.code}")).status_code == 200
    assert (await client.get(f"/grid/{people.other_community.code}")).status_code == 404


async def test_it_forbids_the_grid_to_property_staff(signed_in_as, people):
    client = await signed_in_as(people.property_staff)
    assert (await client.get(f"/grid/{people.microgrid.code}")).status_code == 403


async def test_it_gives_staff_a_to_do_home_with_their_grid_and_leaders_the_worklist(signed_in_as, people):
    # Staff: a to-do home (issue 13) that still leads to their part of the grid.
    client = await signed_in_as(people.admin)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 200
    assert 'data-todo="overdue"' in response.text and 'href="/grid/JY"' in response.text
    # A leader's day starts at the worklist (issue 4), which lists their micro-grids' households.
    client = await signed_in_as(people.leader)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/worklist"
    assert people.microgrid.name in (await client.get("/worklist")).text


async def test_it_searches_households_by_name_within_scope_with_and_without_htmx(signed_in_as, people, db):
    client = await signed_in_as(people.secretary)
    household = (await db.execute(sa.select(Household).where(Household.microgrid_id == people.microgrid.id))).scalars().first()
    outside = (await db.execute(
        sa.select(Household).where(~Household.grid_path.startswith(people.community.path))
    )).scalars().first()

    page = await client.get(f"/grid/{people.community.code}/search", params={"q": household.head_name})
    assert page.status_code == 200
    assert "<html" in page.text and household.address in page.text
    assert "hx-request" in page.headers.get("vary", "").lower()

    fragment = await client.get(f"/grid/{people.community.code}/search", params={"q": household.address}, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert household.head_name in fragment.text

    nothing = await client.get(f"/grid/{people.community.code}/search", params={"q": outside.head_name}, headers=HX)
    assert f"/households/{outside.id}" not in nothing.text

    # A search box full of LIKE wildcards finds nothing rather than everything.
    wild = await client.get(f"/grid/{people.community.code}/search", params={"q": "%%"}, headers=HX)
    assert "list-item" not in wild.text


async def test_it_shows_the_tier_table_beside_the_article_for_the_street(signed_in_as, people, db):
    client = await signed_in_as(people.admin)
    response = await client.get("/grid/JY/overview")
    assert response.status_code == 200
    # Each figure's cell names its column (data-label) so the table reads as cards on a phone.
    rows = re.findall(r'<tr class="(?:tier|sub)"><th>[^<]*</th><td class="num"[^>]*>(\d+)</td>(?:<td class="num"[^>]*>(\d+)\*?</td>)?',
                      response.text)
    here = [int(h) for h, _ in rows]
    article = [int(a) for _, a in rows]
    # The article's column is the article's, whatever the database holds.
    assert article == [1, 15, 116, 95, 34, 1606, 162, 30, 57, 5, 1186, 166, 54707, 1352]

    # The database column is counted from the rows themselves (demo at scale 0.1), here independently.
    async def count(stmt) -> int:
        return (await db.execute(stmt)).scalar_one()

    def nodes(level, kind=None):
        stmt = sa.select(sa.func.count()).select_from(GridNode).where(GridNode.level == level)
        return stmt.where(GridNode.kind == kind) if kind else stmt

    expected = [await count(nodes(level)) for level in ("street", "community", "compound")]
    expected += [await count(nodes("compound", kind)) for kind in ("residential", "rural")]
    expected += [await count(nodes("microgrid"))]
    expected += [await count(nodes("microgrid", kind))
                 for kind in ("business", "scenic", "institution", "enterprise", "residential", "rural")]
    expected += [await count(sa.select(sa.func.count()).select_from(Household))]
    expected += [await count(sa.select(sa.func.count(sa.distinct(Post.person_id)))
                             .where(Post.role == "leader", Post.post_kind == "A"))]
    assert here == expected
    assert min(here) > 0

    community = await client.get(f"/grid/{people.community.code}/overview")
    assert community.status_code == 200
    assert "54707" not in community.text


async def test_it_switches_language_and_returns_to_the_page(signed_in_as, people):
    from tests.conftest import csrf_headers

    client = await signed_in_as(people.leader)
    zh = await client.get(f"/grid/{people.microgrid.code}")
    assert "户" in zh.text
    headers = await csrf_headers(client)
    switched = await client.post("/lang", data={"lang": "en", "next": f"/grid/{people.microgrid.code}"},
                                 headers=headers, follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == f"/grid/{people.microgrid.code}"
    en = await client.get(f"/grid/{people.microgrid.code}")
    assert "households" in en.text
    # Not an open redirect.
    away = await client.post("/lang", data={"lang": "en", "next": "//evil.example"}, headers=headers, follow_redirects=False)
    assert away.headers["location"] == "/"


async def test_it_refuses_a_language_switch_without_the_csrf_token(signed_in_as, people):
    client = await signed_in_as(people.leader)
    response = await client.post("/lang", data={"lang": "en"}, follow_redirects=False)
    assert response.status_code == 403


async def test_it_renders_404_as_a_page_and_as_an_htmx_fragment(signed_in_as, people):
    client = await signed_in_as(people.admin)
    page = await client.get("/grid/NO-SUCH-CODE")
    assert page.status_code == 404
    assert "<html" in page.text and "页面不存在" in page.text
    fragment = await client.get("/grid/NO-SUCH-CODE", headers=HX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.text and "页面不存在" in fragment.text


async def test_it_sets_the_security_headers_on_pages_and_errors(signed_in_as, people):
    client = await signed_in_as(people.admin)
    for url in ("/grid/JY", "/grid/NO-SUCH-CODE", "/static/css/app.css"):
        response = await client.get(url)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
