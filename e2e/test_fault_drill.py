"""The offline fault drill (issue 12): the faults an outside review drove the app through, each
asserting what the server stored (database counts) and what the phone still holds (outbox).

- a revoked phone: its kept pages with personal data leave the phone, its outbox stays;
"""
from __future__ import annotations

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
    import sqlalchemy as sa

    engine = sa.create_engine(server.sync_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)
    engine.dispose()


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
    expect(page).to_have_url(f"{base}/signin?next=/worklist&ended=revoked")
    wait_for(page, "() => caches.open('weiwang-pages').then(c => c.keys()).then(k => k.length === 0)")

    # Offline again: no household page opens any more; the unsent visit is still on the phone.
    context.set_offline(True)
    page.goto(f"{base}/households/{households[1]}")
    expect(page.locator(".offline-page")).to_be_visible()
    screenshot(page, "fault-drill-01-revoked-phone-offline")
    page.goto(base + "/outbox")
    expect(page.locator("[data-outbox-list] li.outbox-item")).to_have_count(1)
    waiting = outbox(page)
    stored = server.query("SELECT count(*) FROM visit WHERE person_id = :p", p=person_id)[0][0]
    DRILL["revoked phone"] = {"kept pages before": before, "kept pages after": kept_pages(page),
                              "outbox": len(waiting), "visits on the server": stored}
    assert DRILL["revoked phone"] == {"kept pages before": before, "kept pages after": 0, "outbox": 1,
                                      "visits on the server": 0}
    assert waiting[0]["data"]["note"] == "撤销前记下的"
    context.close()


def test_zz_print_the_drill(capsys):
    with capsys.disabled():
        for fault, figures in DRILL.items():
            print(f"\nfault drill · {fault}: {figures}")
