"""The outbox says what each record is and what went wrong (issue 13).

A server fault (500) is not worded as "no signal": the form, the outbox page and the worklist say
the server had a fault and the record is kept and uploaded again. A record that a sync on its own
(the one the service worker runs) sets aside is announced on the worklist with what to fix and a
link to correct it, not only by the badge. Outbox entries name the kind (走访), the household and
the time in the app's format (11-27 18:30).
"""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from e2e.conftest import PHONE, sign_in_by_cookie

SHOTS = Path("/work/wt/shots/elder")


def shot(page, name: str) -> None:
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), caret="initial")


def a_leader_and_two_households(server):
    """An A-post leader from the middle of the street (other journeys use its ends), two households."""
    rows = server.query(
        "SELECT post.person_id, grid_node.id FROM post JOIN grid_node ON grid_node.id = post.node_id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' AND post.ended_on IS NULL "
        "AND (SELECT count(*) FROM household WHERE household.microgrid_id = grid_node.id) >= 4 "
        "ORDER BY grid_node.path LIMIT 1 OFFSET 7")
    person_id, microgrid_id = rows[0]
    households = server.query("SELECT id, address, head_name FROM household WHERE microgrid_id = :m ORDER BY id LIMIT 2",
                              m=microgrid_id)
    return person_id, microgrid_id, households


def outbox(page) -> list[dict]:
    return page.evaluate("() => WeiwangOutbox.all()")


def until(page, expression: str, timeout: float = 20000) -> None:
    deadline = page.evaluate("() => Date.now()") + timeout
    while not page.evaluate(expression):
        assert page.evaluate("() => Date.now()") < deadline, expression
        page.wait_for_timeout(200)


def test_it_says_a_server_fault_and_announces_a_record_set_aside(live_server, browser):
    server = live_server
    person_id, microgrid_id, households = a_leader_and_two_households(server)
    (h1, address1, head1), _ = households
    visits_before = server.query("SELECT count(*) FROM visit WHERE household_id = :h", h=h1)[0][0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, person_id)
    page = context.new_page()

    # --- The server answers 500: the words say the server had a fault, the record is kept.
    context.route("**/api/sync", lambda route: route.fulfill(status=500, content_type="application/json",
                                                            body='{"status_code":500,"detail":"boom"}')
                  if route.request.method == "POST" else route.continue_())
    page.goto(server.base_url + f"/households/{h1}/visits/new")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.locator(".save-bar button[type=submit]").tap()
    # worklist.js drops "?saved=" from the address once it has shown the saved card (so a reload does
    # not show it again); the card itself is what says the visit was kept.
    expect(page).to_have_url(re.compile(r"/worklist(\?saved=\d+)?$"))
    expect(page.get_by_role("status").filter(has_text="走访已记录")).to_be_visible()
    bar = page.locator("#status-bar")
    expect(bar).to_contain_text("服务器出了故障")
    expect(bar).not_to_contain_text("连不上")
    banner = page.locator("[data-outbox-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("服务器出了故障：1 条记录存在手机上")
    # The worklist's own sync may be sending it again right now: wait until it rests.
    until(page, "() => WeiwangOutbox.all().then(rs => rs.length === 1 && rs[0].state === 'pending')")
    records = outbox(page)
    assert [(r["state"], r["last_error"], r["data"]["household_id"]) for r in records] == [("pending", "error", h1)]
    assert server.query("SELECT count(*) FROM visit WHERE household_id = :h", h=h1)[0][0] == visits_before

    page.goto(server.base_url + "/outbox")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.get_by_role("button", name="立即上传").tap()
    status = page.locator("[data-outbox-status]")
    expect(status).to_contain_text("服务器出了故障")
    expect(status).not_to_contain_text("连不上")
    item = page.locator("[data-outbox-list] li.outbox-item")
    expect(item).to_have_count(1)
    expect(item.locator("[data-outbox-kind=visit]")).to_have_text("走访")
    expect(item.locator(".list-title")).to_have_text(f"走访 {address1} · {head1}")
    assert re.fullmatch(r"\d{2}-\d{2} \d{2}:\d{2}", item.locator("[data-outbox-time]").text_content())
    expect(item.locator(".list-sub")).to_contain_text("服务器故障，稍后重新上传")
    shot(page, "after-outbox-server-fault")

    # --- Meanwhile the household moved out of her grid; a sync on its own (the service worker's
    # Background Sync runs this same function, with no form open) sets the record aside.
    # The move first, then the server answers again: the page's own timed sync may go at any moment.
    other = server.query("SELECT id, path FROM grid_node WHERE level = 'microgrid' AND id != :m ORDER BY path DESC LIMIT 1",
                         m=microgrid_id)[0]
    original = server.query("SELECT microgrid_id, grid_path FROM household WHERE id = :h", h=h1)[0]
    server.execute("UPDATE household SET microgrid_id = :m, grid_path = :p WHERE id = :h", m=other[0], p=other[1], h=h1)
    try:
        context.unroute("**/api/sync")
        # A sync still in flight holds the outbox's lock (ours would answer "busy"): wait it out.
        page.evaluate("() => navigator.locks.request('weiwang-outbox', () => true)")
        page.evaluate("() => WeiwangOutbox.sync()")
        until(page, "() => WeiwangOutbox.all().then(rs => rs.length === 1 && rs[0].state === 'rejected')")
        record_id = outbox(page)[0]["id"]

        # The leader opens the worklist later: the banner says which record, why, and where to fix it.
        page.goto(server.base_url + "/worklist")
        banner = page.locator("[data-outbox-banner]")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("有 1 条记录没能上传，需要您修改")
        entry = banner.locator(f"[data-banner-record='{record_id}']")
        expect(entry).to_contain_text(f"走访 · {address1} · {head1}")
        expect(entry).to_contain_text("这户不在您负责的网格内")
        expect(entry.get_by_role("link", name="去修改")).to_have_attribute(
            "href", f"/households/{h1}/visits/new?outbox={record_id}")
        expect(page.locator(".tabbar [data-outbox-badge]").first).to_have_text("1")
        shot(page, "after-worklist-set-aside")
        assert server.query("SELECT count(*) FROM visit WHERE household_id = :h", h=h1)[0][0] == visits_before
    finally:
        server.execute("UPDATE household SET microgrid_id = :m, grid_path = :p WHERE id = :h",
                       m=original[0], p=original[1], h=h1)

    # Put back: "立即上传" sends it, the banner goes.
    page.goto(server.base_url + "/outbox")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.get_by_role("button", name="立即上传").tap()
    until(page, "() => WeiwangOutbox.count().then(n => n === 0)")
    page.goto(server.base_url + "/worklist")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.wait_for_timeout(300)
    expect(page.locator("[data-outbox-banner]")).to_be_hidden()
    assert server.query("SELECT count(*) FROM visit WHERE household_id = :h", h=h1)[0][0] == visits_before + 1
    context.close()
