"""A visit with 下一户 through five households (issue 13), timed.

From the worklist: 走访 on the first household not visited, 保存走访, the result card names the
household and offers 下一户 (the next one in walking order not yet visited); four times more. Two
taps per visit. The server holds the five visits, for the five households in walking order.
"""
from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from e2e.conftest import PHONE, ROOT, screenshot, sign_in_by_cookie


def leader_with_unvisited(server):
    """An A-post leader (from the end of the street: the other journeys use its start) with a
    micro-grid of at least 8 households."""
    rows = server.query(
        "SELECT post.person_id, post.node_id FROM post JOIN grid_node ON grid_node.id = post.node_id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' AND post.ended_on IS NULL "
        "AND (SELECT count(*) FROM household WHERE household.microgrid_id = grid_node.id) >= 8 "
        "ORDER BY grid_node.path DESC LIMIT 1")
    assert rows, "no leader with an unvisited micro-grid"
    return rows[0]


def test_it_walks_five_households_with_next_household(live_server, browser):
    server = live_server
    leader_id, microgrid_id = leader_with_unvisited(server)
    before = {r[0] for r in server.query("SELECT id FROM visit WHERE person_id = :p", p=leader_id)}
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, leader_id)
    page = context.new_page()
    page.goto(server.base_url + "/worklist")
    order = page.locator("[data-worklist] [data-household-id][data-visited='0']").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-household-id'))")
    assert len(order) >= 6
    screenshot(page, "next-household-worklist")

    first = page.locator(f"[data-household-id='{order[0]}'] .row-action")
    timings = []
    started = time.monotonic()
    first.tap()
    for i in range(5):
        expect(page.locator("form[data-outbox-type=visit]")).to_be_visible()
        assert page.url.endswith(f"/households/{order[i]}/visits/new")
        if i == 0:
            screenshot(page, "next-household-visit-form")
        page.wait_for_function("() => window.WeiwangOutboxPage")  # outbox.js's submit handler is on
        page.locator(".save-bar button[type=submit]").tap()
        card = page.locator("[data-saved-card]")
        expect(card).to_be_visible()
        timings.append(round(time.monotonic() - started, 2))
        name = page.locator(f"[data-household-id='{order[i]}']").get_attribute("data-name")
        expect(card.locator("[data-saved-name]")).to_have_text(name)
        next_name = page.locator(f"[data-household-id='{order[i + 1]}']").get_attribute("data-name")
        expect(card.locator("[data-next-name]")).to_have_text(next_name)
        if i == 0:
            screenshot(page, "next-household-result-card")
        started = time.monotonic()
        if i < 4:
            card.locator("[data-next-link]").tap()
    # The card also shows when a send timed out and the visit waits on the phone: let it go first.
    for _ in range(100):
        if page.evaluate("() => WeiwangOutbox.count()") == 0:
            break
        page.wait_for_timeout(200)
    context.close()

    stored = server.query("SELECT id, household_id FROM visit WHERE person_id = :p ORDER BY visited_at", p=leader_id)
    assert [str(h) for i, h in stored if i not in before] == order[:5]
    figures = {"taps_per_visit": 2, "seconds_per_visit": timings, "mean_seconds": round(sum(timings) / len(timings), 2)}
    out = ROOT / "test-output" / "next-household.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures))
    print(figures)
