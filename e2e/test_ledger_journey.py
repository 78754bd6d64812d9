"""The problem ledger end to end (issue 5), at phone size in Chromium.

1. A resident scans the notice board's QR code and reports a problem without an account;
   the leader sees it, assigns it to the property company with a deadline; property
   staff report it fixed with a photo; the leader verifies it and gives feedback; the
   resident's tracking page shows the feedback.
2. A leader records a problem offline; it syncs; the community's monthly joint handling
   meeting presses the company, the grid Party branch applies for joint disposal and the
   community Party committee records its solution plan (issue 14: a meeting no longer
   escalates), the joint disposal meeting declares it cannot be solved and
   publishes an announcement; feedback follows; the compound's announcement page shows
   it, and the agendas list the right problems at each step.
"""
from __future__ import annotations

import re
import time
from datetime import date, timedelta

from PIL import Image
from playwright.sync_api import expect

from e2e.conftest import screenshot, sign_in_by_cookie


def managed_leader(server, offset: int):
    """(leader id, micro-grid code, micro-grid path, company id, property staff id, secretary id, compound code)
    for an A-post leader whose compound has a property company."""
    rows = server.query(
        "SELECT person.id, mg.code, mg.path, c.property_company_id, c.code FROM post "
        "JOIN person ON person.id = post.person_id JOIN grid_node mg ON mg.id = post.node_id "
        "JOIN grid_node c ON c.path = substr(mg.path, 1, 24) "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' AND c.property_company_id IS NOT NULL "
        "ORDER BY mg.path DESC LIMIT 1 OFFSET :offset", offset=offset)
    leader_id, code, path, company_id, compound_code = rows[0]
    staff_id = server.query("SELECT person_id FROM post WHERE role = 'property' AND company_id = :c ORDER BY id LIMIT 1",
                            c=company_id)[0][0]
    secretary_id = server.query("SELECT person_id FROM post WHERE role = 'community' AND title = '社区党委书记' "
                                "AND node_path = :p", p=path[:16])[0][0]
    return leader_id, code, path, company_id, staff_id, secretary_id, compound_code


def until(page, check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(200)


def open_action(details) -> None:
    """Open a 下一步 section (the first one is open already, issue 13: its button in sight)."""
    if details.get_attribute("open") is None:
        details.locator("summary").tap()


def act(page, summary: str, fill: dict | None = None, submit: str | None = None) -> None:
    """Open an action on the issue page, fill it, send it, wait for the page to come back."""
    details = page.locator("details.action", has=page.locator("summary", has_text=summary)).first
    open_action(details)
    for selector, value in (fill or {}).items():
        details.locator(selector).fill(value)
    # The outbox opens the issue again itself once the server has the event (data-outbox-done):
    # wait for that new page (tap() does not, and the old page was network-idle already).
    with page.expect_navigation(timeout=30_000):
        details.locator("button[type=submit]").tap()
    page.wait_for_load_state("networkidle")


def test_it_closes_the_loop_from_a_resident_to_the_property_company_and_back(live_server, browser, tmp_path, csp_violations):
    server = live_server
    base = server.base_url
    leader_id, code, path, company_id, staff_id, _secretary, _compound = managed_leader(server, 0)

    # --- The resident: no account, the page behind the QR code.
    resident = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    rpage = resident.new_page()
    rpage.goto(f"{base}/r/{code}")
    expect(rpage.locator(".public-head")).to_contain_text("向微网格长反映问题")
    rpage.get_by_label("公共设施").check()
    rpage.get_by_label("问题描述（请写明具体位置）").fill("3栋2单元楼道灯坏了一周，晚上很黑")
    rpage.get_by_label("您的电话（选填，便于反馈）").fill("13812345678")
    screenshot(rpage, "ledger-01-resident-report")
    rpage.wait_for_timeout(3100)  # the form's minimum fill time (anti-spam, no JavaScript needed)
    rpage.get_by_role("button", name="提交给微网格长").tap()
    expect(rpage.locator(".tracking-code")).to_be_visible()
    tracking = rpage.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{8}", tracking)
    screenshot(rpage, "ledger-02-resident-tracking-code")
    issue_id = server.query("SELECT id FROM issue WHERE tracking_code = :t", t=tracking)[0][0]

    # --- The leader sees it on the ledger and assigns it to the property company.
    leader = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                 has_touch=True, locale="zh-CN")
    sign_in_by_cookie(leader, server, leader_id)
    page = leader.new_page()
    page.on("console", lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{base}/issues")
    # Filtering swaps the results in place (htmx) and keeps the filters in the address.
    page.locator("details.filters > summary").tap()
    page.locator("select[name=source]").select_option("resident")
    expect(page).to_have_url(re.compile(r"source=resident"))
    item = page.locator(f"#ledger-results a[href='/issues/{issue_id}']")
    expect(item).to_contain_text("楼道灯坏了")
    # The rates arrive in a request of their own when scrolled into view.
    expect(page.locator("details#ledger-rates")).to_contain_text("反馈率")
    screenshot(page, "ledger-03-ledger")
    item.tap()
    expect(page.locator(".issue-description")).to_contain_text("3栋2单元楼道灯坏了一周")
    expect(page.locator("#reporter-phone")).to_contain_text("138****5678")
    deadline = (date.today() + timedelta(days=7)).isoformat()
    details = page.locator("details.action-assign")
    open_action(details)
    details.locator("select[name=company_id]").select_option(str(company_id))
    details.locator("input[name=deadline]").fill(deadline)
    details.locator("button[type=submit]").tap()
    expect(page.locator(".issue-status")).to_contain_text("已交办")

    # --- Property staff: only their company's problems; report it fixed with a photo.
    staff = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="zh-CN")
    sign_in_by_cookie(staff, server, staff_id)
    spage = staff.new_page()
    spage.goto(f"{base}/issues")
    expect(spage.locator(f"a[href='/issues/{issue_id}']")).to_be_visible()
    spage.locator(f"a[href='/issues/{issue_id}']").tap()
    photo = tmp_path / "fixed.jpg"
    Image.effect_noise((3000, 2000), 40).convert("RGB").save(photo, "JPEG", quality=90)
    details = spage.locator("details.action-rectify")
    open_action(details)
    details.locator("textarea[name=note]").fill("已更换楼道灯，灯泡为声控LED")
    details.locator("input[data-outbox-photos]").set_input_files(str(photo))
    screenshot(spage, "ledger-04-property-rectify")
    details.locator("button[type=submit]").tap()
    expect(spage.locator(".issue-status")).to_contain_text("待核实")
    until(spage, lambda: server.query(
        "SELECT count(*) FROM photo JOIN issue_event ON replace(issue_event.id, '-', '') = photo.record_id "
        "WHERE issue_event.issue_id = :i", i=issue_id)[0][0] == 1)

    # --- The leader verifies, gives feedback, closes.
    page.reload()
    expect(page.locator(".photos img")).to_have_count(1)
    act(page, "核实通过")
    expect(page.locator(".issue-status")).to_contain_text("已解决，待反馈")
    act(page, "反馈居民", {"textarea[name=text]": "楼道灯已由物业更换，如仍有问题请再联系我"})
    act(page, "办结")
    expect(page.locator(".issue-status")).to_contain_text("已办结")
    screenshot(page, "ledger-05-issue-timeline")
    status, on_time, feedback = server.query("SELECT status, on_time, feedback_count FROM issue WHERE id = :i", i=issue_id)[0]
    assert (status, bool(on_time), feedback) == ("closed", True, 1)

    # --- The resident's tracking page shows the feedback, and offers "not solved" once.
    rpage.goto(f"{base}/track/{tracking}")
    expect(rpage.locator(".feedback-text")).to_contain_text("楼道灯已由物业更换")
    expect(rpage.get_by_role("button", name="问题未解决")).to_be_visible()
    screenshot(rpage, "ledger-06-resident-feedback")
    assert not csp_violations, csp_violations
    for context in (resident, leader, staff):
        context.close()


def test_it_escalates_an_offline_problem_to_disposal_and_an_announcement(live_server, browser):
    server = live_server
    base = server.base_url
    leader_id, code, path, company_id, _staff, secretary_id, compound_code = managed_leader(server, 3)
    month = date.today().strftime("%Y-%m")
    phone = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")

    # --- The leader, in a basement with no signal: the problem waits in the outbox.
    leader = browser.new_context(**phone)
    sign_in_by_cookie(leader, server, leader_id)
    page = leader.new_page()
    # As on a real phone, the app was opened online before the basement: the worker controls
    # the pages and holds the ledger page the form returns to.
    page.goto(f"{base}/issues")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{base}/issues")
    until(page, lambda: page.evaluate("() => caches.open('weiwang-pages').then(c => c.match('/issues')).then(Boolean)"))
    page.goto(f"{base}/issues/new?node={code}")
    expect(page.locator("form[data-outbox-type=issue]")).to_be_visible()
    leader.route("**/api/sync", lambda route: route.abort("internetdisconnected"))
    leader.set_offline(True)
    page.get_by_label("安全隐患").check()
    page.get_by_label("问题描述").fill("地下车库消防通道被私家车长期占用，物业劝离无效")
    page.get_by_role("button", name="登记入台账").tap()
    # What the leader sees: kept on the phone. (Not "the server has none": Chromium's
    # Background Sync can slip past set_offline — see BROWSER-TESTING.md — and the
    # truly-offline case is proven with a dead proxy in test_offline_day.py.)
    expect(page.locator("#status-bar")).to_contain_text("已存到手机")
    leader.set_offline(False)
    leader.unroute("**/api/sync")
    page.goto(f"{base}/outbox")
    page.locator("[data-outbox-sync]").tap()
    until(page, lambda: server.query("SELECT count(*) FROM issue WHERE description LIKE '地下车库消防通道%'")[0][0] == 1)
    issue_id, tracking = server.query("SELECT id, tracking_code FROM issue WHERE description LIKE '地下车库消防通道%'")[0]

    # Assigned to the property company: an ordinary problem on the joint handling list.
    page.goto(f"{base}/issues/{issue_id}")
    details = page.locator("details.action-assign")
    open_action(details)
    details.locator("select[name=company_id]").select_option(str(company_id))
    details.locator("input[name=deadline]").fill((date.today() + timedelta(days=5)).isoformat())
    details.locator("button[type=submit]").tap()
    expect(page.locator(".issue-status")).to_contain_text("已交办")

    # --- The community Party secretary: the month's agenda, a joint handling meeting.
    secretary = browser.new_context(**phone)
    sign_in_by_cookie(secretary, server, secretary_id)
    spage = secretary.new_page()
    community = path[:16]
    community_code = server.query("SELECT code FROM grid_node WHERE path = :p", p=community)[0][0]
    spage.goto(f"{base}/meetings?community={community_code}&month={month}")
    expect(spage.locator(f"#agenda-handling a[href='/issues/{issue_id}']")).to_be_visible()
    expect(spage.locator(f"#agenda-disposal a[href='/issues/{issue_id}']")).to_have_count(0)
    screenshot(spage, "ledger-07-agenda")

    def hold_meeting(kind_label: str) -> None:
        spage.goto(f"{base}/meetings?community={community_code}&month={month}")
        form = spage.locator("#record-meeting")
        form.locator("summary").tap()
        form.get_by_label(kind_label).check()
        names = form.locator("input[name=attendee_name]")
        names.nth(0).fill("王书记")
        names.nth(2).fill("张组长")
        names.nth(5).fill("物业李经理")
        form.get_by_role("button", name="保存会议记录").tap()
        # Wait for the redirect to the meeting itself to finish, or the next goto races it.
        expect(spage).to_have_url(re.compile(r"/meetings/[0-9a-f-]{36}$"))
        spage.wait_for_load_state("load")
        expect(spage.locator(".topbar-title")).to_contain_text(kind_label)

    hold_meeting("联动处理")
    article = spage.locator(f"#issue-{issue_id}")
    article.locator("details > summary").first.tap()
    article.locator("select[name=outcome]").select_option("press")
    article.locator("textarea[name=text]").fill("物业多次劝离无效，督促物业限期清理")
    article.get_by_role("button", name="记录决定").tap()
    # The decision goes through the outbox (an issue_event record) like every change.
    until(spage, lambda: server.query("SELECT supervise_count FROM issue WHERE id = :i", i=issue_id)[0][0] == 1)

    # --- Consultation cannot settle it: the compound's grid Party branch applies for joint disposal.
    branch_id = server.query("SELECT person_id FROM post WHERE node_path = :p AND office IN "
                             "('branch_secretary', 'branch_member') ORDER BY id LIMIT 1", p=path[:24])[0][0]
    branch = browser.new_context(**phone)
    sign_in_by_cookie(branch, server, branch_id)
    bpage = branch.new_page()
    bpage.goto(f"{base}/issues/{issue_id}")
    act(bpage, "申请联动处置", {"textarea[name=reason]": "涉及交警、消防，物业与业主协商不成"})
    until(bpage, lambda: server.query("SELECT disposal_status FROM issue WHERE id = :i", i=issue_id)[0][0] == "applied")
    branch.close()
    # --- The community Party committee accepts it with a solution plan.
    spage.goto(f"{base}/meetings?community={community_code}&month={month}")
    expect(spage.locator(f"#agenda-disposal article.application a[href='/issues/{issue_id}']")).to_be_visible()
    spage.goto(f"{base}/issues/{issue_id}")
    act(spage, "记录解决方案", {"input[name=owner]": "社区党委 王书记",
                              "textarea[name=steps]": "1. 函告县消防大队、交警中队\n2. 约谈开发商\n3. 张贴清理通告",
                              "input[name=deadline]": (date.today() + timedelta(days=20)).isoformat()})
    until(spage, lambda: server.query("SELECT escalated FROM issue WHERE id = :i", i=issue_id)[0][0])
    spage.goto(f"{base}/issues/{issue_id}#timeline")
    expect(spage.locator(".event-accept_disposal")).to_contain_text("约谈开发商")
    screenshot(spage, "station-disposal-plan")

    # The agenda moves it from joint handling to joint disposal.
    spage.goto(f"{base}/meetings?community={community_code}&month={month}")
    expect(spage.locator(f"#agenda-disposal a[href='/issues/{issue_id}']")).to_be_visible()
    expect(spage.locator(f"#agenda-handling a[href='/issues/{issue_id}']")).to_have_count(0)

    hold_meeting("联动处置")
    article = spage.locator(f"#issue-{issue_id}")
    article.locator("details > summary").first.tap()
    article.locator("select[name=outcome]").select_option("announce")
    article.locator("textarea[name=text]").fill("车库产权属开发商，现阶段无法强制清理")
    article.locator("details.more > summary").tap()
    article.locator("input[name=title]").fill("关于地下车库消防通道占用问题的说明")
    article.locator("textarea[name=body]").fill("该车库产权属开发商，社区已函告县消防大队，在产权问题解决前暂无法强制清理。")
    # The outbox moves to the meeting page itself once the decision is stored (the same address as
    # now): wait for that move, or our goto below races it.
    with spage.expect_navigation(url=re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=20_000):
        article.get_by_role("button", name="记录决定").tap()
    until(spage, lambda: server.query("SELECT status, announced FROM issue WHERE id = :i", i=issue_id)[0] == ("unsolvable", 1))
    meeting_id = server.query("SELECT meeting_id FROM issue_event WHERE issue_id = :i AND kind = 'decision' "
                              "ORDER BY at DESC LIMIT 1", i=issue_id)[0][0]
    spage.goto(f"{base}/meetings/{meeting_id}/minutes")
    expect(spage.locator(".minutes-table")).to_contain_text("关于地下车库消防通道占用问题的说明")
    screenshot(spage, "ledger-08-minutes")

    # --- Feedback still follows; the leader closes it.
    page.goto(f"{base}/issues/{issue_id}")
    act(page, "反馈居民", {"textarea[name=text]": "已在公示栏张贴公告，并上门向反映的住户说明"})
    act(page, "办结")
    expect(page.locator(".issue-status")).to_contain_text("已办结")
    screenshot(page, "ledger-09-escalated-timeline")

    # --- The compound's public announcement page, no account needed.
    public = browser.new_context(**phone)
    ppage = public.new_page()
    ppage.goto(f"{base}/announcements/{compound_code}")
    expect(ppage.locator(".announcement").first).to_contain_text("关于地下车库消防通道占用问题的说明")
    screenshot(ppage, "ledger-10-announcements")
    ppage.goto(f"{base}/track/{tracking}")
    expect(ppage.locator(".announcement-title")).to_contain_text("关于地下车库消防通道占用问题的说明")
    for context in (leader, secretary, public):
        context.close()
