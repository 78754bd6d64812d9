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
