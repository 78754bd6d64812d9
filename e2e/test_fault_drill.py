"""The offline fault drill (issue 12): the faults an outside review drove the app through, each
asserting what the server stored (database counts) and what the phone still holds (outbox).

- a revoked phone: its kept pages with personal data leave the phone, its outbox stays;
- a refused photo: a photo quality alone cannot bring under 300 KB is scaled down further by the
  one shrink (outbox-core.js); a photo the server refuses stays on the phone with its reason,
  exported like a record, while the record and its good photo are stored;
- two tabs: a form's submit and another tab's sync race for one record: it is sent once;
- kill -9 of the server mid-sync: a 120-record batch is on its way when the server dies; the
  phone keeps every record, and once the server is back each is stored exactly once;
- first-time offline patrol: a checklist never opened online is filled and saved offline,
  reaches the outbox and, online, the server;
- lost answer then edit: the server stored a visit, its answer never came back, the leader
  corrects it: the server applies the amendment (no dead-end conflict); and an edit saved while
  another tab's sync of the record is in flight is sent after it, not dropped;
"""
from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, find_person, screenshot, session_cookie

DRILL: dict[str, dict] = {}  # the counts each fault ends with, printed for the note


def launch(browser_type, profile):
    return browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, service_workers="allow", **PHONE)


def wait_for(page, script: str, arg=None, seconds: float = 30) -> None:
    """Poll an async page function (wait_for_function takes a returned promise as truthy)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out: {script} ({arg})"
        page.wait_for_timeout(200)


def outbox(page) -> list[dict]:
    return page.evaluate("() => WeiwangOutbox.all()")


def kept_pages(page) -> int:
    return page.evaluate("() => caches.has('weiwang-pages').then(h => h ? caches.open('weiwang-pages')"
                         ".then(c => c.keys()).then(k => k.filter(r => !r.url.includes('/__')).length) : 0)")


def execute(server, statement: str, **params) -> None:
    server.execute(statement, **params)


def phone_of(server, browser_type, profile, person_id: int):
    """A phone signed in as the person, its worker in control and its pages kept."""
    context = launch(browser_type, profile)
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.base_url + "/")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    wanted = page.evaluate("() => fetch('/api/offline-pages').then(r => r.json()).then(l => l.urls)")
    wait_for(page, "(urls) => caches.open('weiwang-pages').then(c => Promise.all(urls.map(u => c.match(u)))).then(r => r.every(Boolean))",
             wanted)
    return context, page, wanted


def save_visit_offline(page, base: str, household_id: int, note: str) -> None:
    page.goto(f"{base}/households/{household_id}/visits/new")
    page.locator("label.choice", has_text="需求调查").tap()
    page.locator("#f-note").fill(note)
    page.get_by_role("button", name="保存走访").tap()
    page.wait_for_url(base + "/worklist")


def test_a_revoked_phone_forgets_the_kept_pages_but_not_the_outbox(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=13)
    households = [r[0] for r in server.query(
        "SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
        "WHERE grid_node.code = :c ORDER BY household.id LIMIT 2", c=microgrid_code)]
    visits_before = server.query("SELECT count(*) FROM visit WHERE person_id = :p", p=person_id)[0][0]
    context, page, wanted = phone_of(server, browser_type, tmp_path / "revoked", person_id)
    before = kept_pages(page)
    assert before >= len(wanted) >= 2 * len(households)

    # Offline, a visit waits on the phone; meanwhile the office revokes this phone's session.
    context.set_offline(True)
    save_visit_offline(page, base, households[0], "撤销前记下的")
    assert len(outbox(page)) == 1
    execute(server, "UPDATE web_session SET revoked_at = CURRENT_TIMESTAMP WHERE person_id = :p", p=person_id)

    # A moment of signal: the app is opened, the server says the session was revoked.
    context.set_offline(False)
    page.goto(base + "/worklist")
    # (&ended=revoked unless a background request of the page met the dead cookie first)
    expect(page).to_have_url(re.compile(r"/signin\?next=/worklist"))
    expect(page.locator("main .alert, main [role=alert]").first).to_contain_text("设备已被停用或登录已被结束")
    wait_for(page, "() => caches.open('weiwang-pages').then(c => c.keys()).then(k => k.length === 0)")

    # Offline again: no household page opens any more; the unsent visit is still on the phone.
    context.set_offline(True)
    page.goto(f"{base}/households/{households[1]}")
    expect(page.locator(".offline-page")).to_be_visible()
    screenshot(page, "fault-drill-01-revoked-phone-offline")
    page.goto(base + "/outbox")
    expect(page.locator("[data-outbox-list] li.outbox-item")).to_have_count(1)
    waiting = outbox(page)
    stored = server.query("SELECT count(*) FROM visit WHERE person_id = :p", p=person_id)[0][0] - visits_before
    DRILL["revoked phone"] = {"kept pages before": before, "kept pages after": kept_pages(page),
                              "outbox": len(waiting), "new visits on the server": stored}
    assert DRILL["revoked phone"] == {"kept pages before": before, "kept pages after": 0, "outbox": 1,
                                      "new visits on the server": 0}
    assert waiting[0]["data"]["note"] == "撤销前记下的"

    # Signed in again (a new session): the pages are kept again at once, not ten minutes later
    # (with nothing to send: a sync that sends refreshes them anyway).
    page.evaluate("(id) => WeiwangOutbox.remove(id)", waiting[0]["id"])
    context.set_offline(False)
    context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
    page.goto(base + "/worklist")
    wait_for(page, "(n) => caches.open('weiwang-pages').then(c => c.keys()).then(k => k.length > n)", len(wanted))
    context.close()


# A photo no JPEG quality brings under 300 KB at 1600 px (noise), then the outbox's one shrink.
SHRINK_NOISE = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 2400; canvas.height = 1800;
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(2400, 1800);
  for (let i = 0; i < data.data.length; i += 4) {
    data.data[i] = Math.random() * 256; data.data[i + 1] = Math.random() * 256; data.data[i + 2] = Math.random() * 256; data.data[i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  const original = await new Promise(r => canvas.toBlob(r, 'image/png'));
  const small = document.createElement('canvas');
  small.width = 1600; small.height = 1200;
  small.getContext('2d').drawImage(canvas, 0, 0, 1600, 1200);
  const lowest = await new Promise(r => small.toBlob(r, 'image/jpeg', 0.35));  // where patrol.js used to stop
  const shrunk = await WeiwangOutbox.shrinkPhoto(original);
  const bitmap = await createImageBitmap(shrunk);
  window.__shrunk = shrunk;
  return {lowest: lowest.size, size: shrunk.size, width: bitmap.width, height: bitmap.height, type: shrunk.type};
}"""


def test_a_refused_photo_is_kept_with_its_reason_and_a_detailed_one_is_shrunk_to_fit(live_server, browser_type, tmp_path):
    import json
    from pathlib import Path

    server = live_server
    base = server.base_url
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=15)
    household_id = server.query("SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
                                "WHERE grid_node.code = :c ORDER BY household.id LIMIT 1", c=microgrid_code)[0][0]
    context = launch(browser_type, tmp_path / "photos")
    context.add_cookies([session_cookie(server, person_id)])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(base + "/outbox")
    page.wait_for_function("() => window.WeiwangOutbox && window.WeiwangOutboxPage")

    shrunk = page.evaluate(SHRINK_NOISE)
    assert shrunk["lowest"] > 300 * 1024, shrunk  # quality alone is not enough for this photo
    assert shrunk["size"] <= 300 * 1024 and max(shrunk["width"], shrunk["height"]) <= 1600 and shrunk["type"] == "image/jpeg"

    # A visit with the shrunk photo and a "photo" the server will refuse (not an image: 415).
    record_id = page.evaluate("""(household) => {
        const id = WeiwangOutbox.uuid(), good = WeiwangOutbox.uuid(), bad = WeiwangOutbox.uuid();
        const junk = new Blob(['not a photo at all'], {type: 'image/jpeg'});
        return WeiwangOutbox.put({id, type: 'visit', created_at: WeiwangOutbox.nowWithOffset(), state: 'pending',
            title: '走访', form_url: '/households/' + household + '/visits/new', photos: [good, bad],
            saved_at: new Date().toISOString(), data: {household_id: household, kind: 'survey', photos: [good, bad]}},
          [{id: good, record_id: id, blob: window.__shrunk, type: 'image/jpeg'}, {id: bad, record_id: id, blob: junk, type: 'image/jpeg'}])
          .then(() => WeiwangOutboxPage.syncNow()).then(() => id);
    }""", household_id)
    entry = page.locator(f'[data-record-id="{record_id}"]')
    expect(entry).to_have_attribute("data-state", "refused")
    expect(entry).to_contain_text("这不是照片")
    screenshot(page, "fault-drill-02-refused-photo")
    kept = outbox(page)
    bad_id = kept[0]["photos"][1]
    assert list(kept[0]["photo_errors"]) == [bad_id]
    assert page.evaluate("(id) => WeiwangOutbox.getPhoto(id).then(p => p && p.blob.size)", bad_id) == len("not a photo at all")
    with page.expect_download() as download:
        page.get_by_role("button", name="备份到手机").tap()
    exported = json.loads(Path(download.value.path()).read_text())
    assert [len(r["photo_files"]) for r in exported["records"]] == [1]
    assert exported["records"][0]["photo_files"][0]["id"] == bad_id

    # Syncing again sends nothing twice and keeps the refused photo.
    page.get_by_role("button", name="立即上传").tap()
    page.wait_for_timeout(500)
    visits = server.query("SELECT count(*) FROM visit WHERE id = :i", i=uuid.UUID(record_id).hex)[0][0]
    photos = server.query("SELECT count(*), max(size) FROM photo WHERE person_id = :p", p=person_id)[0]
    DRILL["refused photo"] = {"visits on the server": visits, "photos on the server": photos[0],
                              "outbox": len(outbox(page)), "photos quarantined on the phone": len(outbox(page)[0]["photo_errors"])}
    assert DRILL["refused photo"] == {"visits on the server": 1, "photos on the server": 1, "outbox": 1,
                                      "photos quarantined on the phone": 1}
    assert photos[1] <= 300 * 1024
    context.close()


# Every POST /api/sync of the pages takes a second longer (a slow stairwell network), in-page.
SLOW_SYNC = """(() => { const f = window.fetch; window.fetch = (u, o) =>
  (String(u).includes('/api/sync') && o && o.method === 'POST') ? new Promise(r => setTimeout(r, 1000)).then(() => f(u, o)) : f(u, o); })()"""


def test_two_tabs_never_send_one_record_twice(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=17)
    household_id = server.query("SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
                                "WHERE grid_node.code = :c ORDER BY household.id LIMIT 1", c=microgrid_code)[0][0]
    context = launch(browser_type, tmp_path / "tabs")
    context.add_cookies([session_cookie(server, person_id)])
    context.add_init_script(SLOW_SYNC)
    sent: list[str] = []
    context.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/api/sync") and r.method == "POST" else None)
    form_tab = context.pages[0] if context.pages else context.new_page()
    other_tab = context.new_page()
    other_tab.goto(base + "/outbox")
    other_tab.wait_for_function("() => window.WeiwangOutboxPage")
    form_tab.goto(f"{base}/households/{household_id}/visits/new")
    form_tab.wait_for_function("() => window.WeiwangOutboxPage")
    form_tab.locator("label.choice", has_text="日常走访").tap()
    form_tab.locator("#f-note").fill("两个标签页")
    form_tab.get_by_role("button", name="保存走访").tap()
    # The moment the record is on the phone (its submit is sending it), the other tab syncs too.
    wait_for(other_tab, "() => WeiwangOutbox.count().then(n => n === 1)", seconds=10)
    record_id = outbox(other_tab)[0]["id"]
    other_tab.evaluate("() => WeiwangOutboxPage.syncNow()")
    form_tab.wait_for_url(base + "/worklist", timeout=15000)
    wait_for(other_tab, "() => WeiwangOutbox.count().then(n => n === 0)")
    sends = sum(1 for body in sent if record_id in body)
    receipts = server.query("SELECT count(*) FROM sync_receipt WHERE id = :i", i=uuid.UUID(record_id).hex)[0][0]
    DRILL["two tabs"] = {"requests carrying the record": sends, "visits on the server": server.query(
        "SELECT count(*) FROM visit WHERE id = :i", i=uuid.UUID(record_id).hex)[0][0], "receipts": receipts,
        "outbox (both tabs)": len(outbox(other_tab)) + len(outbox(form_tab))}
    assert DRILL["two tabs"] == {"requests carrying the record": 1, "visits on the server": 1, "receipts": 1,
                                 "outbox (both tabs)": 0}
    context.close()


def test_an_edit_after_a_lost_answer_or_during_a_sync_is_applied_not_lost(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=19)
    household_id = server.query("SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
                                "WHERE grid_node.code = :c ORDER BY household.id LIMIT 1", c=microgrid_code)[0][0]
    context, page, _ = phone_of(server, browser_type, tmp_path / "amend", person_id)

    # The server stores the visit, but its answer is lost on the way back.
    def answer_lost(route):
        if route.request.method != "POST":
            return route.continue_()
        try:
            route.fetch()  # the server receives and stores it...
            route.abort("connectionreset")  # ...the phone never hears back
        except Exception:  # noqa: BLE001 - the route was let go meanwhile (unroute): nothing to lose
            pass
    context.route("**/api/sync", answer_lost)
    page.goto(f"{base}/households/{household_id}/visits/new")
    page.wait_for_function("() => window.WeiwangOutboxPage")
    page.locator("label.choice", has_text="关爱走访").tap()
    page.locator("#f-note").fill("老人血压高")
    page.get_by_role("button", name="保存走访").tap()
    page.wait_for_url(base + "/worklist")
    # Then the signal goes (every answer until now was lost too): the record waits on the phone.
    context.set_offline(True)
    page.wait_for_timeout(300)
    context.unroute("**/api/sync")
    record_id = outbox(page)[0]["id"]
    hex_id = uuid.UUID(record_id).hex
    assert server.query("SELECT note FROM visit WHERE id = :i", i=hex_id) == [("老人血压高",)]

    # Offline, the leader corrects the note from the outbox; online, it goes as an amendment, applied.
    page.goto(base + "/outbox")
    page.locator(f'[data-record-id="{record_id}"]').get_by_role("link", name="修改").tap()
    expect(page.locator("#f-note")).to_have_value("老人血压高")
    page.locator("#f-note").fill("老人血压高，已联系家属")
    page.get_by_role("button", name="保存走访").tap()
    page.wait_for_url(base + "/worklist")
    assert [(r["id"], r["version"]) for r in outbox(page)] == [(record_id, 2)]
    context.set_offline(False)
    page.evaluate("() => WeiwangOutboxPage.syncNow()")
    wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")
    lost_answer = {"visits on the server": server.query("SELECT count(*) FROM visit WHERE id = :i", i=hex_id)[0][0],
                   "note on the server": server.query("SELECT note FROM visit WHERE id = :i", i=hex_id)[0][0],
                   "amendments": server.query("SELECT count(*) FROM sync_amendment WHERE record_id = :i", i=hex_id)[0][0],
                   "outbox": len(outbox(page))}
    DRILL["lost answer then edit"] = lost_answer
    assert lost_answer == {"visits on the server": 1, "note on the server": "老人血压高，已联系家属", "amendments": 1, "outbox": 0}

    # Another tab is sending a visit (a slow network) when the leader saves an edit of it.
    other = context.new_page()
    other.add_init_script(SLOW_SYNC)
    other.goto(base + "/outbox")
    other.wait_for_function("() => window.WeiwangOutboxPage")
    second = other.evaluate("""(household) => {
        const id = WeiwangOutbox.uuid();
        return WeiwangOutbox.put({id, type: 'visit', created_at: WeiwangOutbox.nowWithOffset(), state: 'pending', title: '走访',
            form_url: '/households/' + household + '/visits/new', photos: [], saved_at: new Date().toISOString(),
            data: {household_id: household, kind: 'routine', note: '第一版'}}).then(() => id);
    }""", household_id)
    other.evaluate("() => { window.__syncing = WeiwangOutboxPage.syncNow(); }")  # not awaited: it is in flight
    wait_for(page, "(id) => WeiwangOutbox.get(id).then(r => r && r.state === 'sending')", second, seconds=5)
    page.evaluate("(id) => WeiwangOutbox.get(id).then(r => WeiwangOutbox.put(Object.assign(r, {state: 'pending', data: Object.assign(r.data, {note: '第二版'})})))",
                  second)
    other.evaluate("() => window.__syncing.then(() => true)")  # the first version's answer ("created") arrives after the edit
    kept = page.evaluate("(id) => WeiwangOutbox.get(id)", second)
    assert kept is not None and kept["version"] == 2 and kept["state"] == "pending"
    page.evaluate("() => WeiwangOutboxPage.syncNow()")
    wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")
    hex_second = uuid.UUID(second).hex
    in_flight = {"note on the server": server.query("SELECT note FROM visit WHERE id = :i", i=hex_second)[0][0],
                 "amendments": server.query("SELECT count(*) FROM sync_amendment WHERE record_id = :i", i=hex_second)[0][0],
                 "outbox": len(outbox(page))}
    DRILL["edit during another tab's sync"] = in_flight
    assert in_flight == {"note on the server": "第二版", "amendments": 1, "outbox": 0}
    context.close()


def serve(server, port: int):
    """One more app process on the live server's database (its own port: it may be killed)."""
    import socket
    import subprocess
    import sys

    from e2e.conftest import ROOT

    env = {**server.env, "WEIWANG_BASE_URL": f"http://localhost:{port}"}
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "the app process did not start"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)


def test_kill_9_of_the_server_mid_sync_loses_nothing_and_stores_nothing_twice(live_server, browser_type, tmp_path):
    import signal
    import threading

    from e2e.conftest import free_port

    server = live_server
    port = free_port()
    base = f"http://localhost:{port}"
    person_id, _name, microgrid_code, _path = find_person(server, "leader", post_kind="A", offset=21)
    households = [r[0] for r in server.query(
        "SELECT household.id FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
        "WHERE grid_node.code = :c ORDER BY household.id", c=microgrid_code)]
    process = serve(server, port)
    try:
        context = launch(browser_type, tmp_path / "kill")
        context.add_cookies([{**session_cookie(server, person_id), "url": base}])
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base + "/outbox")
        page.wait_for_function("() => window.WeiwangOutboxPage")
        ids = page.evaluate("""(households) => Promise.all(Array.from({length: 120}, (_, i) => {
            const id = WeiwangOutbox.uuid();
            return WeiwangOutbox.put({id, type: 'visit', created_at: WeiwangOutbox.nowWithOffset(), state: 'pending',
              title: '走访', form_url: '/outbox', photos: [], saved_at: new Date().toISOString(),
              data: {household_id: households[i % households.length], kind: 'routine', note: '第' + i + '户'}}).then(() => id);
        }))""", households)
        hexes = [uuid.UUID(i).hex for i in ids]

        def stored() -> tuple[int, int]:
            import sqlalchemy as sa

            def count(table):
                return server.query(sa.text(f"SELECT count(*) FROM {table} WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)), ids=hexes)[0][0]
            return count("visit"), count("sync_receipt")

        # The batch reaches the server, which is killed (SIGKILL) while it stores it.
        killed = threading.Event()

        def kill_mid_request(route):
            if route.request.method == "POST" and not killed.is_set():
                killed.set()
                threading.Timer(0.03, lambda: process.send_signal(signal.SIGKILL)).start()
            route.continue_()
        context.route("**/api/sync", kill_mid_request)
        outcome = page.evaluate("() => WeiwangOutboxPage.syncNow()")
        process.wait(timeout=10)
        assert killed.is_set() and outcome["status"] in ("offline", "error"), outcome
        at_kill = stored()
        phone_at_kill = len(outbox(page))
        assert phone_at_kill == 120 and at_kill in ((0, 0), (120, 120)), (phone_at_kill, at_kill)

        # Back up (same address): the phone sends again; each record is stored once.
        process = serve(server, port)
        context.unroute("**/api/sync")
        page.get_by_role("button", name="立即上传").tap()
        wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")
        page.evaluate("() => WeiwangOutboxPage.syncNow()")  # and once more: nothing changes
        DRILL["kill -9 mid-sync"] = {"records": 120, "outbox at the kill": phone_at_kill,
                                     "visits/receipts stored before the kill": at_kill,
                                     "visits/receipts after the restart": stored(), "outbox after": len(outbox(page))}
        assert stored() == (120, 120) and len(outbox(page)) == 0
        context.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def test_a_first_time_patrol_saved_offline_reaches_the_server(live_server, browser_type, tmp_path):
    server = live_server
    base = server.base_url
    # A leader of the street's second-last residential compound (the patrol journeys use the first ones,
    # the offline-shell journey the last).
    compound = server.query(
        "SELECT DISTINCT substr(grid_node.path, 1, 24) AS c FROM grid_node WHERE grid_node.kind = 'residential' "
        "AND grid_node.level = 'microgrid' ORDER BY c DESC LIMIT 1 OFFSET 1")[0][0]
    person_id, code = server.query(
        "SELECT post.person_id, (SELECT code FROM grid_node WHERE path = :c) FROM post JOIN grid_node ON grid_node.id = post.node_id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' AND grid_node.path LIKE :p ORDER BY grid_node.path LIMIT 1",
        c=compound, p=compound + "%")[0]
    before = server.query("SELECT count(*) FROM patrol WHERE recorded_by = :p", p=person_id)[0][0]
    context, page, wanted = phone_of(server, browser_type, tmp_path / "patrol", person_id)
    assert f"/patrols/compounds/{code}/new" in wanted
    context.set_offline(True)
    page.goto(f"{base}/patrols/compounds/{code}")
    page.get_by_role("link", name="开始巡查").tap()
    expect(page.locator("#patrol-form")).to_be_visible()
    # patrol.js is deferred: once it runs, the whole checklist is parsed and saving goes to the outbox.
    page.wait_for_function("() => window.WeiwangPatrol")
    cards = page.locator("[data-item]")
    answers = cards.count()
    assert answers >= 10
    for index in range(answers):
        cards.nth(index).locator(".seg-pass").tap()
    page.get_by_role("button", name="保存巡查").tap()
    expect(page.locator("#patrol-status")).to_contain_text("已保存在手机上")
    waiting = outbox(page)
    offline = {"outbox": len(waiting), "patrols on the server": server.query(
        "SELECT count(*) FROM patrol WHERE recorded_by = :p", p=person_id)[0][0] - before}
    context.set_offline(False)
    page.goto(base + "/outbox")
    page.get_by_role("button", name="立即上传").tap()
    wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")
    patrol_id = waiting[0]["id"]
    DRILL["first-time offline patrol"] = {
        "offline": offline, "patrols on the server after": server.query(
            "SELECT count(*) FROM patrol WHERE recorded_by = :p", p=person_id)[0][0] - before,
        "answers": server.query("SELECT count(*) FROM patrol_answer WHERE patrol_id = :i", i=patrol_id)[0][0],
        "outbox after": len(outbox(page))}
    assert DRILL["first-time offline patrol"] == {"offline": {"outbox": 1, "patrols on the server": 0},
                                                  "patrols on the server after": 1, "answers": answers,
                                                  "outbox after": 0}
    context.close()


def test_zz_print_the_drill(capsys):
    with capsys.disabled():
        for fault, figures in DRILL.items():
            print(f"\nfault drill · {fault}: {figures}")
