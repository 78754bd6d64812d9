"""Every page a leader keeps for offline use opens offline with all its scripts and styles,
on a phone that never opened it online (issue 12, items 1-3).

A new leader is signed in on a fresh phone: only the worklist is opened online, the worker
precaches the shell and the person's pages. Offline, every kept page is checked (each asset
it names is in the worker's static cache) and walked (no asset request fails, the scripts
run); then a first-ever patrol, an errand started from a household and a problem reported
from the micro-grid page are saved offline, reach the outbox, and the server once online.
"""
from __future__ import annotations

import time
import uuid

from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, find_person, screenshot, session_cookie

# Every asset a kept page names, and whether the worker's static cache holds it.
UNCACHED_ASSETS = """async (urls) => {
  const names = await caches.keys();
  const staticName = names.find(n => n.startsWith('weiwang-static-'));
  const pages = await caches.open('weiwang-pages');
  const missing = [];
  let assets = 0;
  for (const url of urls) {
    const response = await pages.match(url);
    if (!response) { missing.push('page not kept: ' + url); continue; }
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    for (const el of doc.querySelectorAll('script[src], link[href], img[src]')) {
      const ref = el.getAttribute('src') || el.getAttribute('href');
      const asset = new URL(ref, location.origin);
      if (asset.origin !== location.origin || !asset.pathname.startsWith('/static/')) continue;
      assets += 1;
      if (!(await caches.match(asset.pathname + asset.search, {cacheName: staticName}))) missing.push(url + ' -> ' + ref);
    }
  }
  return {missing, assets};
}"""


def wait_for(page, script: str, arg=None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out: {script}"
        page.wait_for_timeout(200)


def test_every_kept_page_opens_offline_on_a_phone_that_never_opened_it(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    # The last residential compound of the street: the patrol journeys patrol the first ones.
    leader_id, _name, microgrid_code, path = server.query(
        "SELECT person.id, person.name, grid_node.code, grid_node.path FROM post JOIN person ON person.id = post.person_id "
        "JOIN grid_node ON grid_node.id = post.node_id WHERE post.role = 'leader' AND post.post_kind = 'A' "
        "AND grid_node.kind = 'residential' ORDER BY grid_node.path DESC, person.id LIMIT 1")[0]
    compound_code = server.query("SELECT code FROM grid_node WHERE path = :p", p=path[:24])[0][0]
    microgrid_id = server.query("SELECT id FROM grid_node WHERE code = :c", c=microgrid_code)[0][0]
    household_id = server.query("SELECT id FROM household WHERE microgrid_id = :m ORDER BY id LIMIT 1", m=microgrid_id)[0][0]

    context = browser_type.launch_persistent_context(
        str(tmp_path / "phone"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        service_workers="allow", **PHONE)
    context.add_cookies([{**session_cookie(server, leader_id), "expires": time.time() + 86400}])
    page = context.pages[0] if context.pages else context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(base + "/")  # the only page opened online, before the worker controls anything
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    wanted = page.evaluate("() => fetch('/api/offline-pages').then(r => r.json()).then(l => l.urls)")
    assert {"/issues/new", f"/issues/new?node={microgrid_code}", "/patrols", f"/patrols/compounds/{compound_code}/new",
            "/worklog/new/errand", f"/households/{household_id}"} <= set(wanted)
    wait_for(page, "(urls) => caches.open('weiwang-pages').then(c => Promise.all(urls.map(u => c.match(u)))).then(r => r.every(Boolean))",
             wanted)

    # --- No network. Every kept page names only assets the worker precached...
    context.set_offline(True)
    checked = page.evaluate(UNCACHED_ASSETS, wanted)
    assert checked["missing"] == [] and checked["assets"] >= 4 * len(wanted), checked

    # ...and opens: no asset request fails, the outbox script runs (the patrol script on patrol pages).
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url) if "/static/" in r.url else None)
    for url in wanted:
        response = page.goto(base + url)
        assert response is not None and response.status == 200, url
        page.wait_for_function("() => window.WeiwangOutbox && window.WeiwangOutboxPage")
        if url.startswith("/patrols/compounds/") and url.endswith("/new"):
            page.wait_for_function("() => window.WeiwangPatrol")
            assert page.locator("form[data-patrol-form].js").count() == 1
    assert failed == [], failed

    # --- A first-ever patrol, offline: 巡查 → the compound → 开始巡查, every item answered, saved.
    page.goto(base + "/patrols")
    page.locator(f'a[href="/patrols/compounds/{compound_code}"]').first.tap()
    page.get_by_role("link", name="开始巡查").tap()
    expect(page.locator("#patrol-form")).to_be_visible()
    # patrol.js is deferred: once it runs, the whole checklist is parsed and saving goes to the outbox.
    page.wait_for_function("() => window.WeiwangPatrol")
    cards = page.locator("[data-item]")
    for index in range(cards.count()):
        cards.nth(index).locator(".seg-pass").tap()
    page.get_by_role("button", name="保存巡查").tap()
    expect(page.locator("#patrol-status")).to_contain_text("已保存在手机上")
    assert page.evaluate("() => location.pathname") == f"/patrols/compounds/{compound_code}/new"

    # --- An errand started from the household's page keeps the household.
    page.goto(f"{base}/households/{household_id}")
    page.get_by_role("link", name="帮办代办").tap()
    expect(page).to_have_url(f"{base}/worklog/new/errand?household={household_id}")
    form = page.locator("form[data-outbox-type=errand]")
    form.locator('input[name="service"][value="elderly_subsidy"]').locator("xpath=..").tap()
    form.get_by_role("button", name="保存").tap()
    page.wait_for_url(base + "/worklog")

    # --- 报问题 from the micro-grid page (and the manifest's shortcut opens too).
    page.goto(f"{base}/grid/{microgrid_code}")
    page.get_by_role("link", name="上报问题").tap()
    form = page.locator("form[data-outbox-type=issue]")
    expect(form).to_be_visible()
    form.locator('input[name="category_id"]').first.locator("xpath=..").tap()
    form.locator('[name="description"]').fill("5栋门口路灯不亮（离线上报）")
    screenshot(page, "offline-shell-01-report-offline")
    form.get_by_role("button", name="登记入台账").tap()
    page.wait_for_url(base + "/issues")

    waiting = page.evaluate("() => WeiwangOutbox.all()")
    assert sorted(r["type"] for r in waiting) == ["errand", "issue", "patrol"]
    by_type = {r["type"]: r for r in waiting}
    assert by_type["errand"]["data"]["household_id"] == household_id
    assert by_type["issue"]["data"]["node_id"] == microgrid_id
    assert not violations, violations

    # --- Back online: all three reach the server, the errand with its household.
    context.set_offline(False)
    page.goto(base + "/outbox")
    page.get_by_role("button", name="立即上传").tap()
    wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")
    assert server.query("SELECT count(*) FROM patrol WHERE id = :i", i=by_type["patrol"]["id"])[0][0] == 1
    assert server.query("SELECT household_id FROM work_log_entry WHERE id = :i",
                        i=uuid.UUID(by_type["errand"]["id"]).hex)[0][0] == household_id
    assert server.query("SELECT node_id FROM issue WHERE id = :i", i=by_type["issue"]["id"])[0][0] == microgrid_id
    context.close()


def test_a_form_on_a_kept_page_posts_after_signing_in_again(live_server, browser_type, tmp_path):
    """A page the worker serves from its cache carries the CSRF token of the session it was kept
    under; after a new sign-in its forms (htmx and plain) take the cookie's current token."""
    server = live_server
    base = server.base_url
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=23)
    household_id = server.query(
        "SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
        "WHERE grid_node.code = :c AND household.phone != '' ORDER BY household.id LIMIT 1", c=microgrid_code)[0][0]
    context = browser_type.launch_persistent_context(
        str(tmp_path / "resign"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        service_workers="allow", **PHONE)
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(base + "/")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    wait_for(page, "(k) => caches.open('weiwang-pages').then(c => c.match(k)).then(Boolean)", f"/households/{household_id}")

    # Signed in again (a new session, so a new CSRF token in the cookie).
    context.clear_cookies()
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page.evaluate("() => fetch('/api/sync', {cache: 'no-store'}).then(r => r.status)")
    # The household page, as the phone kept it (a stairwell), then the signal is back.
    context.set_offline(True)
    page.goto(f"{base}/households/{household_id}")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    tokens = page.evaluate("() => ({page: document.querySelector('meta[name=csrf-token]').content,"
                           " cookie: document.cookie.match(/csrftoken=([^;]+)/)[1]})")
    assert tokens["page"] != tokens["cookie"]  # the kept page's token belongs to the old session
    context.set_offline(False)

    # htmx: reveal the household's phone (audited): accepted.
    page.locator("#phone button[type=submit]").tap()
    expect(page.locator("#phone .phone-revealed")).to_be_visible()
    # A plain form post (the language switch) from the same kept page: accepted too.
    page.get_by_role("button", name="EN").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert server.query("SELECT count(*) FROM audit_entry WHERE person_id = :p AND action = 'reveal_phone'",
                        p=person_id)[0][0] >= 1
    context.close()
