"""A street administrator drills down from the street to a household, searches, switches language."""
import re

from playwright.sync_api import expect

from e2e.conftest import find_person, screenshot, sign_in_by_cookie


def test_it_drills_down_from_the_street_to_a_household(live_server, context, page, csp_violations):
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)

    # Home is the to-do page (issue 13); the street is one tap away under 我负责的网格.
    page.goto(live_server.base_url + "/")
    expect(page.locator("[data-todo]").first).to_be_visible()
    page.locator("main a[href='/grid/JY']").tap()
    expect(page).to_have_url(re.compile(r"/grid/JY$"))
    expect(page.locator(".topbar-title")).to_have_text("晋原街道")
    screenshot(page, "grid-01-street")

    levels = ["community", "compound", "building", "unit", "microgrid"]
    for index, level in enumerate(levels):
        first = page.locator("#children .list-item").first
        expect(first).to_be_visible()
        name = first.locator(".list-title").inner_text()
        first.tap()
        expect(page.locator(".topbar-title")).to_have_text(name)
        screenshot(page, f"grid-0{index + 2}-{level}")

    # The micro-grid page lists households with masked phones.
    household = page.locator("#households .list-item").first
    expect(household).to_contain_text(re.compile(r"100\*\*\*\*\d{4}"))
    title = household.locator(".list-title").inner_text()
    household.tap()
    expect(page.locator("#household h2")).to_have_text(title.split(" · ")[0])
    screenshot(page, "grid-07-household")

    # Back goes back one level, like a phone user expects.
    page.go_back()
    expect(page.locator("#households")).to_be_visible()
    assert not csp_violations, csp_violations


def test_it_searches_households_as_you_type(live_server, context, page):
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)
    name = live_server.query("SELECT head_name FROM household ORDER BY id LIMIT 1")[0][0]

    page.goto(live_server.base_url + "/search")
    page.get_by_role("searchbox").fill(name)
    results = page.locator("#results .list-item")
    expect(results.first).to_contain_text(name)
    expect(page).to_have_url(re.compile(r"q="))
    screenshot(page, "grid-08-search")

    page.get_by_role("searchbox").fill("不存在的名字")
    expect(page.locator("#results")).to_contain_text("没有找到")


def test_it_switches_the_language_and_stays_on_the_page(live_server, context, page):
    leader_id, _name, code, _path = find_person(live_server, "leader", post_kind="A", kind="residential")
    sign_in_by_cookie(context, live_server, leader_id)
    page.goto(f"{live_server.base_url}/grid/{code}")
    expect(page.locator(".summary")).to_contain_text("户")
    page.get_by_role("button", name="EN").tap()
    expect(page).to_have_url(f"{live_server.base_url}/grid/{code}")
    expect(page.locator(".summary")).to_contain_text("households")
    screenshot(page, "grid-09-english")
    page.get_by_role("button", name="中文").tap()
    expect(page.locator(".summary")).to_contain_text("户")


def test_it_shows_the_street_figures_beside_the_article(live_server, context, page):
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)
    page.goto(live_server.base_url + "/grid/JY/overview")
    table = page.locator("#tier-table")
    expect(table).to_contain_text("1606")
    expect(table).to_contain_text("54707")
    screenshot(page, "grid-10-overview")


def test_the_people_list_pages_through_the_whole_street(live_server, context, page, csp_violations):
    """The street's people come 50 a page with the count on top, not cut off at the first 50."""
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)
    total = live_server.query("SELECT count(DISTINCT person_id) FROM post WHERE ended_on IS NULL")[0][0]
    assert total > 50
    page.goto(live_server.base_url + "/admin/people")
    expect(page.locator("#people-count")).to_have_text(f"共 {total} 人")
    links = page.locator("#people a.list-item")
    first_page = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(first_page) == 50
    screenshot(page, "people-01-first-page")
    page.get_by_role("link", name="下一页").tap()
    expect(page).to_have_url(re.compile(r"after=\d+"))
    expect(links.first).not_to_have_attribute("href", first_page[0])
    second_page = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert second_page and not set(second_page) & set(first_page)
    expect(page.get_by_role("link", name="第一页")).to_be_visible()
    screenshot(page, "people-02-next-page")
    assert not csp_violations, csp_violations
