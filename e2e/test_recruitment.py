"""Recruitment and training end to end (issue 14), at phone size.

A resident scans a notice board's QR code in WeChat's browser, goes on to the community's
page and puts herself forward as a micro-grid leader; the community's staff interview her
and approve her as the micro-grid's B post, which gives the one-time invitation; she
enrols her phone with a passkey from it and lands in the app as a leader. Then the
community runs a training session: the trainer's screen shows the check-in code and its
QR code, and a leader checks in with the code, once.
"""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import expect

from e2e.conftest import PHONE, SCREENSHOTS, screenshot, sign_in_by_cookie

SHOTS = Path("/work/wt/shots/recruit")
WECHAT = {**PHONE, "user_agent": PHONE["user_agent"] + " MicroMessenger/8.0.47"}


def shot(page, name: str, *, full_page: bool = True) -> None:
    if full_page:
        path = screenshot(page, name)
    else:  # a long page: what the phone's screen shows where it is scrolled to
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), caret="initial")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def _community(server):
    """A community in the middle of the street (other journeys work in the first and last ones),
    its staff member, and one of its residential micro-grids with an A-post leader."""
    count = server.query("SELECT count(*) FROM grid_node WHERE level = 'community'")[0][0]
    community_id, code, path, name = server.query(
        "SELECT id, code, path, name FROM grid_node WHERE level = 'community' ORDER BY path LIMIT 1 OFFSET :n",
        n=count // 2)[0]
    staff_id = server.query(
        "SELECT person_id FROM post WHERE role = 'community' AND node_path = :p AND ended_on IS NULL "
        "ORDER BY id LIMIT 1", p=path)[0][0]
    mg_id, mg_code, mg_name, leader_id = server.query(
        "SELECT g.id, g.code, g.name, post.person_id FROM grid_node g JOIN post ON post.node_id = g.id "
        "WHERE g.level = 'microgrid' AND g.kind = 'residential' AND g.path >= :low AND g.path < :high "
        "AND post.role = 'leader' AND post.post_kind = 'A' AND post.ended_on IS NULL ORDER BY g.path LIMIT 1",
        low=path, high=path + ":")[0]
    return code, name, staff_id, (mg_id, mg_code, mg_name), leader_id


def test_a_self_nomination_is_approved_and_the_new_leader_enrols_from_the_invite(browser, live_server):
    server = live_server
    base = server.base_url
    community_code, community_name, staff_id, (mg_id, mg_code, mg_name), _ = _community(server)

    # --- A resident, in WeChat's browser, from the board's QR page.
    resident = browser.new_context(**WECHAT)
    page = resident.new_page()
    page.goto(f"{base}/r/{mg_code}")
    page.get_by_role("link", name="自荐或推荐邻居").tap()
    expect(page).to_have_url(re.compile(rf"/join/{community_code}\?grid={mg_code}"))
    expect(page.locator(".public-head")).to_contain_text(community_name)
    page.get_by_text("微网格长", exact=True).tap()
    page.locator("#f-name").fill("秦晓岚")
    page.locator("#f-phone").fill("13688886666")
    page.get_by_label("推荐理由").fill("退休教师，住本楼二十年，每天在小区里走动。")
    expect(page.get_by_label("住在哪个网格")).to_have_value(mg_code)
    shot(page, "recruit-01-join-form")
    page.wait_for_timeout(3200)  # the page refuses a form filled in under three seconds (a robot)
    page.get_by_role("button", name="提交给社区").tap()
    expect(page.locator(".public-head")).to_contain_text("感谢报名")
    shot(page, "recruit-02-thanks")
    [(status, grid_id)] = server.query("SELECT status, grid_id FROM nomination WHERE phone = '13688886666'")
    assert (status, grid_id) == ("pending", mg_id)
    resident.close()

    # --- The community's staff: the list (phones masked), the interview, the approval.
    staff = browser.new_context(**PHONE)
    sign_in_by_cookie(staff, server, staff_id)
    spage = staff.new_page()
    spage.goto(f"{base}/recruitment")
    item = spage.locator("#nominations .list-item", has_text="秦晓岚")
    expect(item).to_contain_text("136****6666")
    expect(spage.locator("#nominations")).not_to_contain_text("13688886666")
    shot(spage, "recruit-03-review-list")
    item.tap()
    spage.get_by_role("button", name="显示完整号码以便联系").tap()
    expect(spage.locator("#phone")).to_contain_text("13688886666")
    spage.get_by_label("面谈了解到的情况").fill("电话面谈：每周二、四下午可走访；熟悉本楼住户。")
    spage.get_by_role("button", name="保存面谈记录").tap()
    expect(spage.locator(".alert-ok")).to_be_visible()
    spage.get_by_label("任用为").select_option("B")
    expect(spage.get_by_label("所在网格")).to_have_value(mg_code)
    shot(spage, "recruit-04-review-decision")
    spage.get_by_role("button", name="批准").tap()
    url = spage.locator("#invite-url").inner_text()
    assert url.startswith(base + "/invite/")
    expect(spage.locator("img.qr")).to_be_visible()
    shot(spage, "recruit-05-approved-invite")
    [(person_id, post_kind, node_id, invite_used)] = server.query(
        "SELECT person.id, post.post_kind, post.node_id, invite.used_at FROM nomination "
        "JOIN person ON person.id = nomination.person_id JOIN post ON post.id = nomination.post_id "
        "JOIN invite ON invite.id = nomination.invite_id WHERE nomination.phone = '13688886666'")
    assert (post_kind, node_id, invite_used) == ("B", mg_id, None)

    # --- The new leader enrols her phone from the invitation (a passkey) and is in.
    phone = browser.new_context(**PHONE)
    npage = phone.new_page()
    cdp = phone.new_cdp_session(npage)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    npage.goto(url)
    npage.get_by_role("button", name="在这部手机上创建通行密钥").click()
    expect(npage.locator("nav.tabbar")).to_be_visible()
    assert "/invite/" not in npage.url and "/signin" not in npage.url
    assert server.query("SELECT kind FROM device WHERE person_id = :p", p=person_id) == [("passkey",)]
    response = npage.goto(f"{base}/grid/{mg_code}")
    assert response.status == 200
    expect(npage.locator(".topbar-title")).to_have_text(mg_name)
    shot(npage, "recruit-06-new-leader-in")
    # The decision is on the nomination, for the record.
    spage.goto(f"{base}/recruitment?status=approved")
    expect(spage.locator("#nominations")).to_contain_text("秦晓岚")
    phone.close()
    staff.close()


def test_a_leader_checks_in_to_a_session_with_the_code(browser, live_server):
    server = live_server
    base = server.base_url
    community_code, _, staff_id, _, leader_id = _community(server)
    now = datetime.now(timezone(timedelta(hours=8)))

    # --- The community's staff plan a session starting now; the screen shows the code.
    staff = browser.new_context(**PHONE)
    sign_in_by_cookie(staff, server, staff_id)
    spage = staff.new_page()
    spage.goto(f"{base}/training/sessions")
    spage.locator("#add-session summary").tap()
    spage.get_by_label("主题").fill("入户走访与政策宣传")
    spage.get_by_label("讲师").fill("街道综治办 刘老师")
    spage.get_by_label("日期").fill(now.strftime("%Y-%m-%d"))
    spage.get_by_label("时间").fill(now.strftime("%H:%M"))
    spage.get_by_label("地点").fill("社区微网格长服务站")
    spage.get_by_label("培训对象").select_option("leader")
    shot(spage, "recruit-07-plan-session")
    spage.get_by_role("button", name="安排").tap()
    code = spage.locator(".checkin-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", code), code
    expect(spage.locator("#checkin-code img.qr")).to_be_visible()
    shot(spage, "recruit-08-trainer-screen")

    # --- The leader: 我的 → 培训课程 → 用签到码签到, types the code.
    leader = browser.new_context(**PHONE)
    sign_in_by_cookie(leader, server, leader_id)
    page = leader.new_page()
    page.goto(f"{base}/me")
    page.get_by_role("link", name="培训课程").tap()
    expect(page.locator("#upcoming")).to_contain_text("入户走访与政策宣传")
    page.get_by_role("link", name="用签到码签到").first.tap()
    page.get_by_label("签到码").fill(code.lower())
    shot(page, "recruit-09-leader-types-code")
    page.get_by_role("button", name="签到").tap()
    expect(page.locator(".alert-ok")).to_contain_text("签到成功")
    shot(page, "recruit-10-checked-in")
    # Scanning the QR code again (its link carries the code) counts once.
    page.goto(f"{base}/training/checkin?code={code}")
    page.get_by_role("button", name="签到").tap()
    expect(page.locator(".alert-ok")).to_contain_text("每人只计一次")
    assert server.query(
        "SELECT count(*) FROM training_attendance a JOIN training_session s ON s.id = a.session_id "
        "WHERE s.checkin_code = :c AND a.person_id = :p AND a.checked_in_at IS NOT NULL", c=code, p=leader_id) == [(1,)]
    # The trainer's roll shows her.
    spage.reload()
    expect(spage.locator("#roll")).to_contain_text("1 / 1")
    shot(spage, "recruit-11-trainer-roll")
    leader.close()
    staff.close()


def test_the_helpers_register_feeds_the_patrol_picker_and_training_reaches_the_scorecard(browser, live_server):
    """The community keeps its helpers; a leader's patrol names one; the quiz after a session; the scorecard."""
    server = live_server
    base = server.base_url
    community_code, _, staff_id, (mg_id, mg_code, mg_name), leader_id = _community(server)
    compound_code = server.query(
        "SELECT c.code FROM grid_node c JOIN grid_node m ON m.path >= c.path AND m.path < c.path || ':' "
        "WHERE m.id = :m AND c.level = 'compound'", m=mg_id)[0][0]

    staff = browser.new_context(**PHONE)
    sign_in_by_cookie(staff, server, staff_id)
    spage = staff.new_page()
    spage.goto(f"{base}/helpers?community={community_code}")
    spage.locator("#add-helper summary").tap()
    spage.get_by_label("协助身份").select_option("resident_group_leader")
    spage.locator("#f-name").fill("韩淑芬")
    spage.locator("#f-phone").fill("13577778888")
    spage.get_by_label("所在网格").select_option(mg_code)
    spage.get_by_role("button", name="添加").tap()
    item = spage.locator("#helpers .list-item", has_text="韩淑芬")
    expect(item).to_contain_text("135****8888")
    expect(item).to_contain_text("居民小组长")
    shot(spage, "recruit-12-helpers-register")

    # A session with a one-question quiz, started now, for the community's leaders.
    now = datetime.now(timezone(timedelta(hours=8)))
    spage.goto(f"{base}/training/sessions")
    spage.locator("#add-session summary").tap()
    spage.get_by_label("主题").fill("安全隐患排查要点")
    spage.get_by_label("讲师").fill("消防站 赵教员")
    spage.get_by_label("日期").fill(now.strftime("%Y-%m-%d"))
    spage.get_by_label("时间").fill(now.strftime("%H:%M"))
    spage.get_by_label("地点").fill("社区会议室")
    spage.get_by_role("button", name="安排").tap()
    code = spage.locator(".checkin-code").inner_text().strip()
    spage.locator("#quiz summary").tap()
    spage.get_by_label("题目").fill("楼道堆放杂物属于哪类隐患？")
    spage.get_by_label("选项 1").fill("消防通道堵塞")
    spage.get_by_label("选项 2").fill("不是隐患")
    spage.locator('input[name="answer"][value="0"]').check()
    spage.get_by_role("button", name="添加这道题").tap()
    expect(spage.locator("#quiz")).to_contain_text("楼道堆放杂物属于哪类隐患？")

    leader = browser.new_context(**PHONE)
    sign_in_by_cookie(leader, server, leader_id)
    page = leader.new_page()
    page.goto(f"{base}/training/checkin?code={code}")
    page.get_by_role("button", name="签到").tap()
    expect(page.locator(".alert-ok")).to_contain_text("签到成功")
    page.get_by_text("消防通道堵塞").tap()
    shot(page, "recruit-13-quiz")
    page.get_by_role("button", name="提交答案").tap()
    expect(page.locator("#quiz")).to_contain_text("您的得分：1 / 1")

    # The patrol checklist offers the helper as a participant.
    page.goto(f"{base}/patrols/compounds/{compound_code}/new")
    page.locator("#participants summary").tap()
    expect(page.locator("#helpers")).to_contain_text("韩淑芬")
    page.locator("#helpers").scroll_into_view_if_needed()
    shot(page, "recruit-14-patrol-picker-helpers", full_page=False)

    # The leader's scorecard shows the training.
    spage.goto(f"{base}/scorecards?grid={community_code}")
    card = spage.locator("#leader-cards tr", has=spage.locator('td[data-label="课后小测"]', has_text="1/1"))
    expect(card).to_have_count(1)
    card.scroll_into_view_if_needed()
    shot(spage, "recruit-15-scorecard-training", full_page=False)

    # The notice board (公示牌) tells residents they can put themselves forward from its QR code.
    spage.goto(f"{base}/boards/{mg_code}")
    expect(spage.locator(".nb-join").first).to_contain_text("自荐或推荐微网格长、志愿者")
    spage.locator(".nb-join").first.scroll_into_view_if_needed()
    shot(spage, "recruit-17-notice-board", full_page=False)

    # The resident's QR page leads to the community's page.
    resident = browser.new_context(**WECHAT)
    rpage = resident.new_page()
    rpage.goto(f"{base}/r/{mg_code}")
    expect(rpage.locator("#join")).to_be_visible()
    shot(rpage, "recruit-16-report-page-join-link")
    resident.close()
    leader.close()
    staff.close()
