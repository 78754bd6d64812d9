"""A leader's day door to door with no signal (issue 4), as one scenario.

Sign in; the worklist becomes available offline; go offline; record 30 visits and 6
work-log entries, 2 with photos; close the browser; reopen it still offline: the app
opens from cache and the outbox still holds 36; go online: a server error on the first
attempt leaves everything queued, an expired session pauses the outbox until the leader
signs in again, a record made invalid server-side stays in the outbox with its reason
while the rest sync; once it is fixed, the server holds exactly 36 new records and 2
photos, none twice; replaying the same batch changes nothing.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS, screenshot, session_cookie

# A dead proxy for every request, loopback included: truly offline from launch on
# (context.set_offline alone leaks requests from a worker started at launch).
OFFLINE_ARGS = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
FIGURES: dict[str, float] = {}
WORK = [("errand", {"service": "elderly_subsidy"}), ("errand", {"service": "disability_card"}),
        ("mediation", {"parties": "3单元201与301", "outcome": "settled"}),
        ("mediation", {"parties": "1栋楼上楼下", "outcome": "partly"}),
        ("hazard_check", {"hazard": "电动车楼道充电", "place": "2栋1单元", "fixed": "true"}),
        ("hazard_check", {"hazard": "消防通道堵塞", "place": "5栋后门", "fixed": "false"})]


def launch(browser_type, profile, *, offline: bool):
    return browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True,
        args=CHROMIUM_ARGS + (OFFLINE_ARGS if offline else []), service_workers="allow", **PHONE,
    )


def viewport_shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def big_photo(tmp_path, name: str, colour: str) -> str:
    """A camera-sized photo (4000 x 3000, noisy): the phone must shrink it to 1600 px / 300 KB."""
    path = tmp_path / f"{name}.jpg"
    noise = Image.effect_noise((4000, 3000), 60).convert("RGB")
    Image.blend(noise, Image.new("RGB", (4000, 3000), colour), 0.6).save(path, "JPEG", quality=92)
    return str(path)


def busiest_leader(server):
    """The A-post leader with the most households (30 visits need 30 doors)."""
    rows = server.query(
        "SELECT person.id, grid_node.id, grid_node.path, count(household.id) AS n FROM post "
        "JOIN person ON person.id = post.person_id JOIN grid_node ON grid_node.id = post.node_id "
        "JOIN household ON household.microgrid_id = grid_node.id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' GROUP BY person.id, grid_node.id, grid_node.path "
        "ORDER BY n DESC, person.id LIMIT 1")
    person_id, microgrid_id, path, n = rows[0]
    assert n >= 30, f"the busiest leader has only {n} households"
    households = [r[0] for r in server.query(
        "SELECT id FROM household WHERE microgrid_id = :m ORDER BY id LIMIT 30", m=microgrid_id)]
    code = server.query("SELECT code FROM grid_node WHERE id = :m", m=microgrid_id)[0][0]
    return person_id, microgrid_id, code, households


AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                 "isUserVerified": True, "automaticPresenceSimulation": True}


def virtual_authenticator(context, page, credentials=()):
    """Chromium's virtual authenticator, holding `credentials` (it lives as long as the CDP session)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]
    for credential in credentials:
        cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})
    return cdp, authenticator


def enrol_with_passkey(server, context, page, microgrid_code: str) -> tuple[int, list[dict]]:
    """A new B-post leader of the micro-grid is invited and enrols a passkey on this phone."""
    url = server.cli("invite", "--name", "门到门测试", "--role", "leader", "--grid", microgrid_code, "--post", "B").strip()
    cdp, authenticator = virtual_authenticator(context, page)
    page.goto(url.splitlines()[0])
    page.get_by_role("button", name="在这部手机上创建通行密钥").click()
    expect(page.locator("nav.tabbar")).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    cdp.detach()  # an attached CDP session breaks offline emulation (BROWSER-TESTING.md)
    person_id = server.query("SELECT id FROM person WHERE name = '门到门测试'")[0][0]
    return person_id, credentials


def counts(server, person_id: int) -> dict[str, int]:
    return {
        "visits": server.query("SELECT count(*) FROM visit WHERE person_id = :p", p=person_id)[0][0],
        "work": server.query("SELECT count(*) FROM work_log_entry WHERE person_id = :p", p=person_id)[0][0],
        "receipts": server.query("SELECT count(*) FROM sync_receipt WHERE person_id = :p", p=person_id)[0][0],
        "photos": server.query("SELECT count(*) FROM photo WHERE person_id = :p", p=person_id)[0][0],
    }


def outbox(page) -> list[dict]:
    return page.evaluate("() => WeiwangOutbox.all()")


def until(page, expression: str, arg=None, timeout: float = 30.0) -> None:
    """Poll an async page expression until it is truthy (wait_for_function does not await promises)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {expression} ({arg})"
        page.wait_for_timeout(200)


def wait_outbox(page, n: int, timeout: float = 30.0) -> None:
    until(page, "(n) => WeiwangOutbox.count().then(c => c === n)", n, timeout)


def execute(server, statement: str, **params) -> None:
    server.execute(statement, **params)


@pytest.fixture(params=["sqlite", "postgresql"])
def day_server(request):
    """The day's journey on both backends (the other journeys stay on SQLite: CI time)."""
    return request.getfixturevalue("live_server" if request.param == "sqlite" else "pg_live_server")


def test_it_keeps_a_day_of_offline_work_and_syncs_it_exactly_once(day_server, browser_type, tmp_path):
    server = day_server
    base = server.base_url
    _, microgrid_id, microgrid_code, households = busiest_leader(server)
    profile = tmp_path / "phone"

    # --- Invited, the leader enrols a passkey and is signed in; the worklist, every household
    # and the forms go onto the phone.
    context = launch(browser_type, profile, offline=False)
    page = context.pages[0] if context.pages else context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    person_id, credentials = enrol_with_passkey(server, context, page, microgrid_code)
    before = counts(server, person_id)
    assert before == {"visits": 0, "work": 0, "receipts": 0, "photos": 0}
    page.goto(base + "/")
    expect(page).to_have_url(base + "/worklist")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    wanted = page.evaluate("() => fetch('/api/offline-pages').then(r => r.json()).then(l => l.urls)")
    assert {"/worklist", "/worklog/new/errand", f"/households/{households[-1]}/visits/new"} <= set(wanted)
    until(page, "(urls) => caches.open('weiwang-pages').then(c => Promise.all(urls.map(u => c.match(u)))).then(r => r.every(Boolean))",
          wanted)
    page.reload()
    expect(page.locator("[data-offline-count]")).to_be_visible()
    offline_pages = int(page.locator("[data-offline-count-n]").inner_text())
    assert offline_pages >= 2 * 30 + 5
    viewport_shot(page, "visits-01-worklist")

    # --- In the stairwell: no signal. Thirty visits, three taps each.
    context.set_offline(True)
    photo_visit = big_photo(tmp_path, "door", "#b7312c")
    for i, household_id in enumerate(households):
        if i == 0:
            page.goto(f"{base}/households/{household_id}")  # from the household page, as a leader would
            page.get_by_role("link", name="记走访").tap()
        else:
            page.goto(f"{base}/households/{household_id}/visits/new")
        expect(page.locator("form[data-outbox-type=visit]")).to_be_visible()
        page.locator("label.choice", has_text=["日常走访", "关爱走访", "政策宣传", "需求调查"][i % 4]).tap()
        if i == 1:
            page.locator("label.choice", has_text="看病就医").tap()
            page.locator("label.choice", has_text="反诈骗").tap()
            page.locator("#f-note").fill("老人腿脚不便，需要帮办高龄补贴")
            page.locator("input[data-outbox-photos]").set_input_files(photo_visit)
            viewport_shot(page, "visits-02-visit-form")
            screenshot(page, "visits-02-visit-form-full")
        page.get_by_role("button", name="保存走访").tap()
        page.wait_for_url(base + "/worklist")
        expect(page.locator("#status-bar")).to_contain_text("已存到手机，联网后自动上传")
    expect(page.locator("[data-outbox-badge]").first).to_have_text("30")
    expect(page.locator(f'[data-household-id="{households[0]}"] [data-pending-label]')).to_be_visible()

    # Six work-log entries, one hazard check with a photo.
    photo_hazard = big_photo(tmp_path, "hazard", "#333333")
    for kind, fields in WORK:
        page.goto(f"{base}/worklog/new/{kind}")
        form = page.locator(f"form[data-outbox-type={kind}]")
        for name, value in fields.items():
            target = form.locator(f'input[name="{name}"][value="{value}"]')
            if target.count():
                target.locator("xpath=..").tap()
            else:
                form.locator(f'[name="{name}"]').fill(value)
        if kind == "hazard_check" and fields["fixed"] == "false":
            form.locator("input[data-outbox-photos]").set_input_files(photo_hazard)
        form.get_by_role("button", name="保存").tap()
        page.wait_for_url(base + "/worklog")
    waiting = outbox(page)
    assert not violations, violations
    assert len(waiting) == 36 and sum(len(r["photos"]) for r in waiting) == 2
    assert len({r["id"] for r in waiting}) == 36
    assert counts(server, person_id) == before
    context.close()

    # --- The browser is closed and opened again, still without signal: the app opens from the phone.
    context = launch(browser_type, profile, offline=True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(base + "/worklist")
    expect(page.locator("[data-filter-list]").first).to_be_visible()
    page.wait_for_function("() => window.WeiwangOutbox")
    assert [r["id"] for r in outbox(page)] == [r["id"] for r in waiting]
    expect(page.locator("[data-outbox-badge]").first).to_have_text("36")
    timings = []
    for _ in range(5):
        page.reload()
        expect(page.locator("[data-filter-list]").first).to_be_visible()
        timings.append(page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }"))
    FIGURES["offline_reload_ms"] = sorted(timings)[len(timings) // 2]
    print(f"\noffline reload of the worklist: median {FIGURES['offline_reload_ms']:.0f} ms of {timings}")
    page.goto(base + "/grid/" + "no-such-page-on-the-phone")
    expect(page.locator(".offline-page")).to_be_visible()
    viewport_shot(page, "visits-03-offline-page")
    page.goto(base + "/outbox")
    expect(page.locator("[data-outbox-list] li")).to_have_count(36)
    assert counts(server, person_id) == before
    context.close()

    # Meanwhile on the server: one household moved to another micro-grid, out of this leader's reach.
    moved = households[5]
    other = server.query("SELECT id, path FROM grid_node WHERE level = 'microgrid' AND id != :m ORDER BY path DESC LIMIT 1",
                         m=microgrid_id)[0]
    original = server.query("SELECT microgrid_id, grid_path FROM household WHERE id = :h", h=moved)[0]
    execute(server, "UPDATE household SET microgrid_id = :m, grid_path = :p WHERE id = :h", m=other[0], p=other[1], h=moved)
    # ...and the session expired while the phone was away.
    execute(server, "UPDATE web_session SET expires_at = '2000-01-01 00:00:00.000000' WHERE person_id = :p", p=person_id)

    # --- Back in signal. The server answers 500 to the first sync: nothing leaves the phone.
    context = launch(browser_type, profile, offline=False)
    attempts = {"n": 0}

    def first_fails(route):
        attempts["n"] += 1
        if attempts["n"] == 1:
            route.fulfill(status=500, content_type="application/json", body='{"status_code":500,"detail":"boom"}')
        else:
            route.continue_()

    context.route("**/api/sync", lambda route: first_fails(route) if route.request.method == "POST" else route.continue_())
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(base + "/outbox")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    # The outcome of the first sync, not its start ("正在上传…" shows while it runs).
    expect(page.locator("[data-outbox-status]")).to_contain_text("服务器出了故障", timeout=15000)
    assert attempts["n"] >= 1
    assert len(outbox(page)) == 36 and counts(server, person_id) == before

    # The next attempt finds the session expired: the outbox pauses and asks to sign in again.
    page.locator("[data-outbox-sync]").tap()
    expect(page.locator("#status-bar")).to_contain_text("登录已过期")
    page.wait_for_timeout(300)
    assert len(outbox(page)) == 36 and counts(server, person_id) == before
    viewport_shot(page, "visits-04-signin-needed")

    # Signing in again (the passkey is still on the phone) resumes: 35 stored, the moved
    # household's visit set aside with its reason.
    page.locator("#status-bar a").tap()
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Foutbox|/signin\?next=/outbox"))
    cdp, _ = virtual_authenticator(context, page, credentials)
    page.get_by_role("button", name="用通行密钥登录").click()
    expect(page).to_have_url(base + "/outbox")
    cdp.detach()
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.locator("[data-outbox-sync]").tap()
    wait_outbox(page, 1)
    rejected = outbox(page)
    assert len(rejected) == 1 and rejected[0]["state"] == "rejected" and rejected[0]["data"]["household_id"] == moved
    assert "household_id" in rejected[0]["errors"]
    expect(page.locator("[data-outbox-list] li.outbox-rejected")).to_contain_text("这户不在您负责的网格内")
    expect(page.locator("#status-bar")).to_be_hidden()
    viewport_shot(page, "visits-05-outbox-rejected")
    after = counts(server, person_id)
    assert (after["visits"] - before["visits"], after["work"] - before["work"]) == (29, 6)
    assert after["photos"] - before["photos"] == 2

    # Fixed server-side, "sync now" sends it too: exactly 36 new records and 2 photos, none twice.
    execute(server, "UPDATE household SET microgrid_id = :m, grid_path = :p WHERE id = :h", m=original[0], p=original[1], h=moved)
    page.locator("[data-outbox-sync]").tap()
    wait_outbox(page, 0)
    after = counts(server, person_id)
    assert {k: after[k] - before[k] for k in after} == {"visits": 30, "work": 6, "receipts": 36, "photos": 2}
    ids = [uuid.UUID(r["id"]) for r in waiting]
    stored = server.query(sa.text("SELECT count(*) FROM sync_receipt WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True, type_=sa.Uuid)), ids=ids)[0][0]
    assert stored == 36
    sizes = server.query("SELECT width, height, size FROM photo WHERE person_id = :p", p=person_id)
    assert all(max(w, h) <= 1600 and size <= 300 * 1024 for w, h, size in sizes[-2:]), sizes

    # Replaying the same batch (a lost answer, another tab) changes nothing.
    replay = page.evaluate("(records) => WeiwangOutbox.send(records)", waiting)
    assert [r["status"] for r in replay["results"]] == ["duplicate"] * 36
    assert counts(server, person_id) == after

    # The leader's tally counts the day.
    page.goto(base + "/worklog")
    expect(page.locator(".tally")).to_be_visible()
    tally = page.locator(".tally tbody tr").first.locator("td").all_inner_texts()
    assert [int(x) for x in tally] == [2, 2, 2, 30]  # errands, mediations, hazard checks, visits this month
    screenshot(page, "visits-06-tally")
    context.close()


def test_it_is_installable(live_server, browser_type, tmp_path):
    person_id = busiest_leader(live_server)[0]
    context = launch(browser_type, tmp_path / "install", offline=False)
    context.add_cookies([session_cookie(live_server, person_id)])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(live_server.base_url + "/worklist")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    manifest = cdp.send("Page.getAppManifest")
    cdp.detach()
    assert errors == [], errors
    assert not manifest.get("errors"), manifest.get("errors")
    context.close()


def test_it_lets_the_leader_edit_delete_and_export_waiting_records(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    person_id, _, _, households = busiest_leader(server)
    context = launch(browser_type, tmp_path / "edit", offline=False)
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{base}/households/{households[-1]}/visits/new")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    until(page, "(keys) => caches.open('weiwang-pages').then(c => Promise.all(keys.map(k => c.match(k)))).then(r => r.every(Boolean))",
          ["/worklist", f"/households/{households[-1]}/visits/new"])
    context.set_offline(True)
    for note in ("第一次", "要删掉的"):
        page.goto(f"{base}/households/{households[-1]}/visits/new")
        page.locator("label.choice", has_text="需求调查").tap()
        page.locator("#f-note").fill(note)
        page.get_by_role("button", name="保存走访").tap()
        page.wait_for_url(base + "/worklist")
    page.goto(base + "/outbox")
    items = page.locator("[data-outbox-list] li.outbox-item")
    expect(items).to_have_count(2)
    first_id = outbox(page)[0]["id"]

    # Edit: the form opens with what was typed, and saving keeps the same record (same id).
    items.first.get_by_role("link", name="修改").tap()
    expect(page.locator("#f-note")).to_have_value("第一次")
    expect(page.locator('input[name="kind"][value="survey"]')).to_be_checked()
    page.locator("#f-note").fill("改过的备注")
    page.get_by_role("button", name="保存走访").tap()
    page.wait_for_url(base + "/worklist")
    records = outbox(page)
    assert len(records) == 2 and records[0]["id"] == first_id and records[0]["data"]["note"] == "改过的备注"

    # Delete asks first; export saves everything waiting as JSON.
    page.goto(base + "/outbox")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-outbox-list] li.outbox-item").nth(1).get_by_role("button", name="删除").tap()
    expect(page.locator("[data-outbox-list] li.outbox-item")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="备份到手机").tap()
    exported = json.loads(Path(download.value.path()).read_text())
    assert [r["id"] for r in exported["records"]] == [first_id] and exported["format"] == 1

    # Online again: the edited record is what the server stores.
    context.set_offline(False)
    page.get_by_role("button", name="立即上传").tap()
    wait_outbox(page, 0)
    assert server.query("SELECT note FROM visit WHERE id = :i", i=uuid.UUID(first_id).hex)[0][0] == "改过的备注"
    context.close()


def test_it_records_a_visit_without_javascript(live_server, browser_type, tmp_path):
    """The same form, posted by the browser itself: stored through the same service as the API."""
    server = live_server
    person_id, _, _, households = busiest_leader(server)
    before = counts(server, person_id)["visits"]
    context = browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS).new_context(
        java_script_enabled=False, **PHONE)
    context.add_cookies([session_cookie(server, person_id)])
    page = context.new_page()
    page.goto(f"{server.base_url}/households/{households[3]}/visits/new")
    page.locator("label.choice", has_text="政策宣传").tap()
    page.locator("label.choice", has_text="垃圾分类").tap()
    page.get_by_role("button", name="保存走访").tap()
    expect(page).to_have_url(f"{server.base_url}/households/{households[3]}")
    assert counts(server, person_id)["visits"] == before + 1
    assert server.query("SELECT kind, policies FROM visit WHERE person_id = :p ORDER BY received_at DESC LIMIT 1",
                        p=person_id)[0] == ("policy", '["waste_sorting"]')
    context.browser.close()


def test_it_keeps_waiting_records_through_a_new_app_version(live_server, browser_type, tmp_path):
    """A new worker (new VERSION, new static cache) takes over while records wait: none is lost or broken."""
    server = live_server
    base = server.base_url
    person_id, _, _, households = busiest_leader(server)
    context = launch(browser_type, tmp_path / "upgrade", offline=False)
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(base + "/worklist")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    until(page, "(keys) => caches.open('weiwang-pages').then(c => Promise.all(keys.map(k => c.match(k)))).then(r => r.every(Boolean))",
          ["/worklist", f"/households/{households[7]}/visits/new"])
    old_version = page.evaluate("() => fetch('/sw.js').then(r => r.text()).then(t => t.match(/var VERSION = \"([^\"]+)\"/)[1])")
    context.set_offline(True)
    page.goto(f"{base}/households/{households[7]}/visits/new")
    page.get_by_role("button", name="保存走访").tap()
    page.wait_for_url(base + "/worklist")
    waiting = outbox(page)
    assert len(waiting) == 1

    # Back online, but the server keeps failing the sync (records stay) while a new version ships.
    # The failing route goes in first: going online makes the page sync at once.
    context.route("**/api/sync", lambda route: route.fulfill(status=503, body="") if route.request.method == "POST" else route.continue_())
    context.set_offline(False)

    def new_version(route):
        body = route.fetch().text().replace(old_version, "next-version")
        route.fulfill(status=200, body=body, headers={"content-type": "text/javascript", "cache-control": "no-cache"})

    # The browser's own update check bypasses routing; a registration under a new URL goes through it.
    context.route("**/sw.js?*", new_version)
    page.evaluate("() => navigator.serviceWorker.register('/sw.js?build=next', {scope: '/'})")
    until(page, "() => caches.keys().then(k => k.includes('weiwang-static-next-version') && !k.some(n => n.startsWith('weiwang-static-') && n !== 'weiwang-static-next-version'))")
    keep = ("id", "type", "created_at", "data", "format", "state", "form_url")
    assert [{k: r[k] for k in keep} for r in outbox(page)] == [{k: r[k] for k in keep} for r in waiting]

    # Offline on the new version: the pages still open, the record is still there; online, it syncs once.
    context.set_offline(True)
    page.goto(base + "/worklist")
    expect(page.locator("[data-filter-list]").first).to_be_visible()
    assert [r["id"] for r in outbox(page)] == [waiting[0]["id"]]
    context.set_offline(False)
    context.unroute("**/api/sync")
    page.goto(base + "/outbox")
    page.get_by_role("button", name="立即上传").tap()
    wait_outbox(page, 0)
    assert server.query("SELECT count(*) FROM visit WHERE id = :i", i=uuid.UUID(waiting[0]["id"]).hex)[0][0] == 1
    context.close()
