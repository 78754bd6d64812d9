"""Reaching people at phone size (issue 11): a leader's notice board and its settings, community
staff's boards and service station, the administrator's outbox, a resident's opt-out page."""
from __future__ import annotations

from playwright.sync_api import expect

from e2e.conftest import find_person, screenshot, sign_in_by_cookie


def test_a_leader_sets_up_their_notice_board_and_staff_print_it(live_server, context, page, csp_violations):
    leader_id, name, code, _path = find_person(live_server, "leader", post_kind="A", kind="residential")
    sign_in_by_cookie(context, live_server, leader_id)
    page.goto(live_server.base_url + "/me/board/")
    expect(page.get_by_text("同意在公示牌上公示我的电话")).to_be_visible()
    screenshot(page, "reach-01-my-board-settings")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="保存").click()
    page.get_by_role("link", name="查看我的公示牌").first.click()
    board = page.locator(".notice-board")
    expect(board).to_contain_text(name)
    expect(board).to_contain_text("扫码向微网格长反映问题")
    screenshot(page, "reach-02-board-preview")

    context.clear_cookies()
    community_id, _n, community_code, _p = find_person(live_server, "community")
    sign_in_by_cookie(context, live_server, community_id)
    page.goto(live_server.base_url + f"/boards/{community_code}")
    expect(page.get_by_role("link", name="打印文件 A4")).to_be_visible()
    screenshot(page, "reach-03-community-boards")
    pdf = page.request.get(live_server.base_url + f"/boards/{community_code}.pdf?size=a5")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    assert csp_violations == []


def test_the_administrator_sees_the_outbox_and_a_resident_opts_out(live_server, context, page, csp_violations):
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)
    page.goto(live_server.base_url + "/admin/notifications/")
    expect(page.locator("#notify-counts")).to_be_visible()
    screenshot(page, "reach-04-admin-outbox")
    context.clear_cookies()
    page.goto(live_server.base_url + "/unsubscribe/")
    page.get_by_label("手机号").fill("12")
    page.get_by_role("button", name="退订").click()
    expect(page.get_by_label("手机号")).to_have_value("12")
    page.get_by_label("手机号").fill("13800138000")
    page.get_by_role("button", name="退订").click()
    expect(page.get_by_role("status")).to_contain_text("已退订")
    screenshot(page, "reach-05-unsubscribed")
    assert csp_violations == []


def test_a_push_reaches_the_service_worker_and_shows_the_problem(live_server, context, page, csp_violations):
    """The push service's delivery is played by CDP (ServiceWorker.deliverPushMessage): the worker shows
    the notification with the problem's page as its target."""
    leader_id, *_ = find_person(live_server, "leader", post_kind="A", kind="residential")
    issue_id = "7d4a2c1e-0000-4000-8000-000000000001"  # the page a tap opens; the push names it
    sign_in_by_cookie(context, live_server, leader_id)
    context.grant_permissions(["notifications"], origin=live_server.base_url)
    page.goto(live_server.base_url + "/me/notifications/")
    expect(page.get_by_role("button", name="在本机开启通知")).to_be_visible()
    screenshot(page, "reach-06-notification-settings")
    registration = page.evaluate("""() => navigator.serviceWorker.ready.then(r => r.scope)""")
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))  # before enable
    cdp.send("ServiceWorker.enable")
    registration_id = None
    for _ in range(75):  # the registrations arrive as events; up to 15 s on a loaded machine
        registration_id = next((r["registrationId"] for r in registrations if r["scopeURL"] == registration), None)
        if registration_id is not None:
            break
        page.wait_for_timeout(200)
    assert registration_id is not None, f"no service worker registration for {registration}"
    payload = '{"title": "新交办的问题", "body": "电梯异响", "url": "/issues/%s", "tag": "t1"}' % issue_id
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server.base_url, "registrationId": registration_id,
                                                  "data": payload})
    shown = None
    for _ in range(20):
        shown = page.evaluate("""() => navigator.serviceWorker.ready.then(r => r.getNotifications()).then(
            list => list.map(n => ({title: n.title, body: n.body, url: n.data && n.data.url})))""")
        if shown:
            break
        page.wait_for_timeout(250)
    assert shown == [{"title": "新交办的问题", "body": "电梯异响", "url": f"/issues/{issue_id}"}]
    assert csp_violations == []


def test_community_staff_write_a_publicity_message_and_the_secretary_approves_it(live_server, context, page, csp_violations):
    secretary_id, _n, community_code, community_path = find_person(live_server, "community")
    # A colleague in the same community writes it (nobody approves their own).
    writer_id = live_server.query(
        "SELECT post.person_id FROM post JOIN grid_node ON grid_node.id = post.node_id WHERE post.role = 'community' "
        "AND grid_node.path = :path AND post.person_id != :me ORDER BY post.person_id LIMIT 1",
        path=community_path, me=secretary_id)[0][0]
    sign_in_by_cookie(context, live_server, writer_id)
    page.goto(live_server.base_url + "/me")
    page.get_by_role("link", name="宣传短信").click()
    page.get_by_role("link", name="编写宣传短信").click()
    page.get_by_label("短信内容").fill("本周六上午在社区广场开展免费义诊，欢迎参加。")
    page.get_by_role("button", name="预览发送对象").click()
    expect(page.locator("#sms-preview")).to_have_text("【微网】本周六上午在社区广场开展免费义诊，欢迎参加。 回复TD退订")
    expect(page.locator("#broadcast-audience")).to_contain_text("个号码")
    screenshot(page, "reach-07-broadcast-preview")
    page.get_by_role("button", name="提交社区审核").click()
    expect(page.locator("#broadcast-status")).to_have_text("待审核")
    count = page.locator("#broadcast-count").inner_text()

    context.clear_cookies()
    sign_in_by_cookie(context, live_server, secretary_id)
    page.goto(live_server.base_url + "/broadcasts/")
    page.get_by_text("本周六上午在社区广场开展免费义诊").click()
    expect(page.get_by_role("button", name="批准并发送")).to_be_visible()
    screenshot(page, "reach-08-broadcast-approval")
    page.get_by_role("button", name="批准并发送").click()
    expect(page.locator("#broadcast-status")).to_have_text("已批准，发送中")
    expect(page.locator("#broadcast-delivery")).to_be_visible()
    queued = live_server.query("SELECT count(*) FROM notification WHERE kind = 'broadcast'")[0][0]
    assert queued == int(count) > 0
    screenshot(page, "reach-09-broadcast-sending")

    # The administrator's outbox shows it as one line while it sends, not a row a number. It sends
    # ten a second: with more than twenty left there is time to see the line before it is done.
    context.clear_cookies()
    admin_id, *_ = find_person(live_server, "admin")
    sign_in_by_cookie(context, live_server, admin_id)
    left = live_server.query("SELECT count(*) FROM notification WHERE kind = 'broadcast' AND status = 'pending'")[0][0]
    page.goto(live_server.base_url + "/admin/notifications/")
    expect(page.locator("#notify-counts")).to_be_visible()
    if left > 20:
        expect(page.locator("#notify-broadcasts")).to_contain_text("本周六上午在社区广场开展免费义诊")
        expect(page.locator("#notify-broadcasts")).to_contain_text("个号码待发送")
    assert page.locator("#notify-problems").get_by_text("免费义诊").count() == 0
    screenshot(page, "reach-12-admin-outbox-sending")
    assert csp_violations == []


def test_staff_arrange_a_compound_plan_by_tapping_and_print_it(live_server, context, page, csp_violations):
    staff_id, _n, compound_code, compound_path = find_person(live_server, "compound")
    buildings = live_server.query("SELECT id, name FROM grid_node WHERE parent_id = (SELECT id FROM grid_node WHERE code = :code) "
                                  "ORDER BY sort_order, code", code=compound_code)
    sign_in_by_cookie(context, live_server, staff_id)
    page.goto(live_server.base_url + f"/boards/{compound_code}")
    page.get_by_role("link", name="小区平面图").click()
    expect(page.locator("#plan-image")).to_be_visible()
    expect(page.locator(".plan-tile")).to_have_count(len(buildings))
    # Tap the first building, then the bottom-right cell: its fields follow.
    first_id, first_name = buildings[0]
    page.locator(".plan-tile", has_text=first_name).first.click()
    page.locator('.plan-cell[data-col="6"][data-row="8"]').click()
    expect(page.locator(f"#f-col-{first_id}")).to_have_value("6")
    expect(page.locator(f"#f-row-{first_id}")).to_have_value("8")
    screenshot(page, "reach-10-plan-arrange")
    page.get_by_role("button", name="保存位置").click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    saved = live_server.query("SELECT positions FROM plan_layout WHERE node_id = (SELECT id FROM grid_node WHERE code = :code)",
                              code=compound_code)[0][0]
    positions = saved if isinstance(saved, dict) else __import__("json").loads(saved)
    assert positions[str(first_id)] == [5, 7]
    expect(page.locator("#plan-image")).to_be_visible()
    page.wait_for_function("() => document.getElementById('plan-image').complete")
    screenshot(page, "reach-11-plan-saved")
    pdf = page.request.get(live_server.base_url + f"/boards/{compound_code}/plan.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    out = __import__("pathlib").Path(__file__).resolve().parents[1] / "test-output" / "plan.pdf"
    out.write_bytes(pdf.body())
    assert csp_violations == []
