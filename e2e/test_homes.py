"""Homes per role at phone size (issue 13): the staff to-do home and the property company's 待我整改.

Each staff card opens its list, and the list holds as many items as the card says; the property
home shows only problems assigned to its company. Screenshots: home-staff, home-property.
"""
from __future__ import annotations

import re

from e2e.conftest import PHONE, find_person, screenshot, sign_in_by_cookie


def test_it_opens_each_to_do_card_onto_a_list_of_that_length(live_server, browser):
    server = live_server
    secretary_id = find_person(server, "community")[0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, secretary_id)
    page = context.new_page()
    page.goto(server.base_url + "/")
    screenshot(page, "home-staff")
    assert page.locator("[data-todo=low_coverage]").count() == 1
    cards = page.locator("[data-todo]").evaluate_all(
        "cards => cards.map(c => [c.getAttribute('href'), c.querySelector('[data-todo-count]').textContent])")
    assert len(cards) >= 4
    for href, count in cards:
        page.goto(server.base_url + href)
        if href.startswith("/issues"):
            shown = int(page.locator(".count-chip").first.locator("strong").text_content())
        elif href.startswith("/patrols"):
            shown = page.locator(".calendar-row").count()
        elif href.startswith("/scorecards"):
            shown = int(page.locator("[data-low-total]").get_attribute("data-low-total"))
            assert page.locator("#low-coverage [data-leader]").count() == min(shown, 50)
        else:
            shown = page.locator("li.change").count()
        assert shown == int(count), href
    context.close()


def test_it_shows_property_staff_their_problems_to_rectify(live_server, browser):
    server = live_server
    staff_id = find_person(server, "property")[0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, staff_id)
    page = context.new_page()
    page.goto(server.base_url + "/")
    screenshot(page, "home-property")
    text = page.locator("main").inner_text()
    assert "待我整改" in page.title() and "请尽快整改并回复" in text
    assert page.locator(".tabbar a[href='/search']").count() == 0
    company = server.query("SELECT company_id FROM post WHERE person_id = :p AND role = 'property'", p=staff_id)[0][0]
    expected = {r[0] for r in server.query(
        "SELECT id FROM issue WHERE assignee_company_id = :c AND status = 'assigned'", c=company)}
    shown = set(page.locator("[data-issue-id]").evaluate_all("rows => rows.map(r => r.getAttribute('data-issue-id'))"))
    assert shown == expected
    assert re.search(r"有 \d+ 件问题等您整改", text)
    context.close()


def test_it_tells_a_wechat_visitor_how_to_open_the_browser_but_not_a_resident(live_server, browser):
    server = live_server
    wechat = {**PHONE, "user_agent": PHONE["user_agent"] + " MicroMessenger/8.0.50.2701(0x28003253) WeChat/arm64"}
    context = browser.new_context(**wechat)
    page = context.new_page()
    page.goto(server.base_url + "/signin")
    hint = page.locator("#wechat-hint")
    assert hint.is_visible() and "右上角 ··· → 在浏览器打开" in hint.inner_text()
    screenshot(page, "wechat-signin-hint")
    page.goto(server.base_url + "/track")
    assert page.locator("#wechat-hint").count() == 0
    context.close()
    plain = browser.new_context(**PHONE).new_page()
    plain.goto(server.base_url + "/signin")
    assert not plain.locator("#wechat-hint").is_visible()
    plain.context.close()
