"""Invite → enrol → sign in → only your own micro-grid → revoked → signed out.

Twice: with a passkey (Chromium's virtual authenticator over CDP) and with the device-key
fallback on a phone whose browser has no WebAuthn at all (window.PublicKeyCredential
deleted before any page script runs, like WeChat's in-app browser or a HarmonyOS one).
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import PHONE, find_person, screenshot, sign_in_by_cookie

PIN = "582914"
NO_WEBAUTHN = "delete window.PublicKeyCredential; try { delete navigator.credentials; } catch (e) {}"


def neighbouring_microgrids(server) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two residential micro-grids under the same parent, each with households: (code, name) each."""
    rows = server.query(
        "SELECT a.code, a.name, b.code, b.name FROM grid_node a JOIN grid_node b "
        "ON a.parent_id = b.parent_id AND a.path < b.path "
        "WHERE a.level = 'microgrid' AND b.level = 'microgrid' AND a.kind = 'residential' AND b.kind = 'residential' "
        "AND EXISTS (SELECT 1 FROM household h WHERE h.microgrid_id = b.id) ORDER BY a.path DESC LIMIT 1"
    )
    a_code, a_name, b_code, b_name = rows[0]
    return (a_code, a_name), (b_code, b_name)


def watch_csp(page, found: list[str]) -> None:
    page.on("console", lambda msg: found.append(f"{page.url}: {msg.text[:120]}") if "Content Security Policy" in msg.text else None)


def admin_invites(browser, server, name: str, code: str, shot: str | None = None):
    """The street administrator fills in the invitation form; returns (admin context, page, invite URL)."""
    context = browser.new_context(**PHONE)
    admin_id, *_ = find_person(server, "admin")
    sign_in_by_cookie(context, server, admin_id)
    page = context.new_page()
    page.goto(server.base_url + "/admin/people")
    form = page.locator("#invite-form")
    form.get_by_label("姓名").fill(name)
    form.get_by_label("手机号").fill("13912345678")
    form.get_by_text("微网格长", exact=True).click()
    form.get_by_label("网格编码").fill(code)
    # The micro-grid has its A-post leader already (a new one takes over by a handover): a B post.
    form.get_by_text("B岗（备岗）").click()
    form.get_by_role("button", name="生成邀请").click()
    url = page.locator("#invite-url").inner_text()
    expect(page.locator("img.qr")).to_be_visible()
    assert url.startswith(server.base_url + "/invite/")
    if shot:
        screenshot(page, shot)
    return context, page, url


def admin_revokes(admin_page, server, name: str) -> None:
    person_id = server.query("SELECT id FROM person WHERE name = :name", name=name)[0][0]
    admin_page.goto(f"{server.base_url}/admin/people/{person_id}")
    admin_page.locator("#devices").get_by_role("button", name="停用").first.click()
    expect(admin_page.locator("#devices")).to_contain_text("停用于")


def expect_signed_in(page) -> None:
    """Landed in the app (wherever `/` sends a leader today), not on an invite or sign-in page."""
    expect(page.locator("nav.tabbar")).to_be_visible()
    assert "/invite/" not in page.url and "/signin" not in page.url, page.url


def assert_only_own_microgrid(page, server, own: tuple[str, str], neighbour: tuple[str, str], shot: str) -> None:
    response = page.goto(f"{server.base_url}/grid/{own[0]}")
    assert response.status == 200
    expect(page.locator(".topbar-title")).to_have_text(own[1])
    expect(page.locator("#households .list-item").first).to_be_visible()
    response = page.goto(f"{server.base_url}/grid/{neighbour[0]}")
    assert response.status == 404
    expect(page.locator(".error-page")).to_contain_text("不存在")
    screenshot(page, shot)


def assert_stays_on_site_after_a_hostile_next(page, server) -> None:
    """A phishing link's ?next= never takes the phone off-site after sign-in: the server's safe_next,
    and the script's own check when an answer names a foreign place anyway (issue 12, item 9)."""
    import json

    for hostile in ("/%09/evil.example/x", "/%0A/evil.example/x", "/%5Cevil.example/x"):
        page.goto(server.base_url + "/me")
        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(re.compile(r"/signin\?ended=signed_out"))
        page.goto(f"{server.base_url}/signin?next={hostile}")
        page.get_by_role("button", name="用通行密钥登录").click()
        expect_signed_in(page)
        assert page.url.startswith(server.base_url + "/"), page.url

    def foreign_next(route):
        answer = route.fetch()
        route.fulfill(response=answer, body=json.dumps({**answer.json(), "next": "/\t/evil.example/x"}))

    page.route("**/api/signin", foreign_next)
    page.goto(server.base_url + "/me")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/signin\?ended=signed_out"))
    page.get_by_role("button", name="用通行密钥登录").click()
    expect_signed_in(page)
    assert page.url.startswith(server.base_url + "/"), page.url
    page.unroute("**/api/signin")


def test_it_enrols_a_passkey_signs_in_sees_only_its_grid_and_is_signed_out_when_revoked(browser, live_server):
    server = live_server
    own, neighbour = neighbouring_microgrids(server)
    violations: list[str] = []
    admin_context, admin_page, url = admin_invites(browser, server, "欧阳晓梅", own[0], shot="accounts-01-admin-invite-qr")
    watch_csp(admin_page, violations)


    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    watch_csp(page, violations)
    cdp = phone.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})

    page.goto(url)
    expect(page.locator("#enrol-passkey")).to_be_visible()
    expect(page.locator("#enrol-passkey")).to_contain_text("支持通行密钥")
    screenshot(page, "accounts-02-passkey-invite")
    page.get_by_role("button", name="在这部手机上创建通行密钥").click()
    expect_signed_in(page)
    assert server.query("SELECT kind FROM device JOIN person ON person.id = device.person_id WHERE person.name = '欧阳晓梅'") == [("passkey",)]

    # Sign out (nothing pending in the outbox, so no warning), then sign in with no user name.
    page.goto(server.base_url + "/me")
    expect(page.locator("#devices")).to_contain_text("本机")
    screenshot(page, "accounts-03-my-devices")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/signin\?ended=signed_out"))
    expect(page.locator("#signin-passkey")).to_be_visible()
    screenshot(page, "accounts-04-signin-passkey")
    page.get_by_role("button", name="用通行密钥登录").click()
    expect_signed_in(page)
    assert_stays_on_site_after_a_hostile_next(page, server)

    assert_only_own_microgrid(page, server, own, neighbour, "accounts-05-neighbour-404")

    admin_revokes(admin_page, server, "欧阳晓梅")
    page.goto(f"{server.base_url}/grid/{own[0]}")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    expect(page.locator("#signin-ended")).to_contain_text("已被停用")
    screenshot(page, "accounts-06-revoked")

    # The street administrator reads what happened, filtered to this leader.
    admin_page.goto(server.base_url + "/admin/audit")
    admin_page.locator("details.filters > summary").click()  # the filters fold away on a phone
    admin_page.get_by_label("人员（姓名或编号）").fill("欧阳晓梅")
    admin_page.locator("details.filters button[type=submit]").click()
    log = admin_page.locator("#audit")
    for action in ["设备登记", "登录", "退出登录", "登录状态失效"]:  # what 欧阳晓梅 did (the revoke was the admin's)
        expect(log).to_contain_text(action)
    screenshot(admin_page, "accounts-12-audit-log")
    assert not violations, violations
    phone.close()
    admin_context.close()


def test_it_enrols_a_device_key_with_a_pin_where_the_browser_has_no_webauthn(browser, live_server):
    server = live_server
    own, neighbour = neighbouring_microgrids(server)
    own, neighbour = neighbour, own  # the other one of the pair this time
    violations: list[str] = []
    admin_context, admin_page, url = admin_invites(browser, server, "王秀英", own[0])

    phone = browser.new_context(**{**PHONE, "user_agent": PHONE["user_agent"].replace("Pixel 7", "HUAWEI P40") + " MicroMessenger/8.0"})
    phone.add_init_script(NO_WEBAUTHN)
    page = phone.new_page()
    watch_csp(page, violations)

    page.goto(url)
    form = page.locator("#enrol-device")
    expect(form).to_be_visible()
    expect(page.locator("#enrol-passkey")).to_be_hidden()
    expect(form).to_contain_text("不支持通行密钥")
    expect(form).to_contain_text("6 位数字 PIN 码")
    expect(form.get_by_label("给这部手机起个名字")).to_have_value(re.compile("微信"))
    screenshot(page, "accounts-07-no-passkey-invite")

    # A mismatch is caught on the phone, with a plain message.
    form.get_by_label("设置 6 位数字 PIN 码").fill(PIN)
    form.get_by_label("再输入一次 PIN 码").fill("582915")
    form.get_by_role("button", name="用 PIN 码登记这部手机").click()
    expect(page.locator("#enrol-error")).to_have_text("两次输入的 PIN 码不一致。")
    screenshot(page, "accounts-08-pin-mismatch")
    form.get_by_label("再输入一次 PIN 码").fill(PIN)
    form.get_by_role("button", name="用 PIN 码登记这部手机").click()
    expect_signed_in(page)
    [(kind, pin_hash)] = server.query("SELECT kind, pin_hash FROM device JOIN person ON person.id = device.person_id WHERE person.name = '王秀英'")
    assert kind == "device_key" and PIN not in pin_hash
    # The key is in IndexedDB and cannot be read out of the browser.
    extractable = page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open("weiwang-keys");
        open.onsuccess = () => {
            const get = open.result.transaction("keys").objectStore("keys").getAll();
            get.onsuccess = () => resolve(get.result.map((k) => k.privateKey.extractable));
        };
    })""")
    assert extractable == [False]

    page.goto(server.base_url + "/me")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/signin"))
    pin_form = page.locator("#signin-device")
    expect(pin_form).to_be_visible()
    expect(page.locator("#signin-passkey")).to_be_hidden()
    pin_form.get_by_label("PIN 码（6 位数字）").fill("111333")
    pin_form.get_by_role("button", name="登录").click()
    expect(page.locator("#signin-error")).to_contain_text("PIN 码错误。再错 4 次")
    screenshot(page, "accounts-09-wrong-pin")
    pin_form.get_by_label("PIN 码（6 位数字）").fill(PIN)
    pin_form.get_by_role("button", name="登录").click()
    expect_signed_in(page)

    assert_only_own_microgrid(page, server, own, neighbour, "accounts-10-device-key-neighbour-404")

    admin_revokes(admin_page, server, "王秀英")
    page.goto(f"{server.base_url}/grid/{own[0]}")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    expect(page.locator("#signin-ended")).to_contain_text("已被停用")
    # The key is still in this browser, but the server no longer accepts it.
    pin_form.get_by_label("PIN 码（6 位数字）").fill(PIN)
    pin_form.get_by_role("button", name="登录").click()
    expect(page.locator("#signin-error")).to_contain_text("无法识别这部手机")  # one answer for any unknown or revoked key
    screenshot(page, "accounts-13-revoked-device-key")
    assert not violations, violations
    phone.close()
    admin_context.close()


def test_it_warns_before_signing_out_with_unsynced_records(browser, live_server):
    server = live_server
    phone = browser.new_context(**PHONE)
    leader_id, *_ = find_person(server, "leader", post_kind="A", kind="residential", offset=3)
    sign_in_by_cookie(phone, server, leader_id)
    page = phone.new_page()
    page.goto(server.base_url + "/me")
    # Two records waiting in the offline outbox (the offline work's IndexedDB "weiwang", store "outbox").
    page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open("weiwang");
        open.onupgradeneeded = () => {  // the same stores static/js/outbox-core.js makes
            open.result.createObjectStore("outbox", { keyPath: "id" });
            open.result.createObjectStore("photos", { keyPath: "id" }).createIndex("record_id", "record_id");
        };
        open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains("outbox")) { db.close(); resolve(false); return; }
            const tx = db.transaction("outbox", "readwrite");
            tx.objectStore("outbox").put({ id: "a", client_uuid: "a" });
            tx.objectStore("outbox").put({ id: "b", client_uuid: "b" });
            tx.oncomplete = () => { db.close(); resolve(true); };
        };
    })""")
    page.get_by_role("button", name="退出登录").click()
    warning = page.locator("#signout-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("还有 2 条记录没有上传")
    screenshot(page, "accounts-11-signout-warning")
    assert "/me" in page.url  # still signed in, nothing lost
    page.get_by_role("button", name="仍然退出").click()
    expect(page).to_have_url(re.compile(r"/signin\?ended=signed_out"))
    phone.close()


def test_it_tells_a_phone_with_neither_passkeys_nor_a_key_to_ask_for_an_invitation(browser, live_server):
    phone = browser.new_context(**PHONE)
    phone.add_init_script(NO_WEBAUTHN)
    page = phone.new_page()
    violations: list[str] = []
    watch_csp(page, violations)
    page.goto(live_server.base_url + "/grid/JY")
    expect(page).to_have_url(re.compile(r"/signin\?next=/grid/JY"))
    expect(page.locator("#signin-none")).to_contain_text("这部手机还没有登记")
    expect(page.locator("#signin-passkey")).to_be_hidden()
    expect(page.locator("#signin-device")).to_be_hidden()
    screenshot(page, "accounts-14-signin-no-passkey-no-key")
    assert not violations, violations
    phone.close()
