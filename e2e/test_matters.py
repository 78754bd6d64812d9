"""Every matter settled and task lists end to end (issue 14), at phone size.

A leader records an unfixed hazard and puts it on the ledger with one tap: the record shows
its problem, the problem where it came from. A leader reports her share of the street's
task (老旧院落执勤) with no signal; once online it syncs and the street sees the progress.
"""
from __future__ import annotations

import time

from playwright.sync_api import expect

from e2e.conftest import screenshot, sign_in_by_cookie

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
             locale="zh-CN")


def _wait_for(server, sql, page, **params):
    for _ in range(150):
        rows = server.query(sql, **params)
        if rows and rows[0][0]:
            return rows[0][0]
        page.wait_for_timeout(200)
    raise AssertionError(f"never true: {sql}")


def test_a_hazard_becomes_a_problem_in_one_tap(live_server, browser, csp_violations):
    server = live_server
    base = server.base_url
    leader_id = server.query("SELECT post.person_id FROM post JOIN grid_node ON grid_node.id = post.node_id "
                             "WHERE post.role = 'leader' AND post.post_kind = 'A' AND grid_node.kind = 'residential' "
                             "ORDER BY grid_node.path LIMIT 1 OFFSET 3")[0][0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, leader_id)
    page = context.new_page()
    page.goto(f"{base}/worklog/new/hazard_check")
    page.locator("input[name=hazard]").fill("地下室电动车违规充电")
    page.locator("input[name=place]").fill("5栋地下室")
    page.locator("input[name=fixed][value=false]").check()
    page.get_by_role("button", name="保存").tap()
    entry_id = _wait_for(server, "SELECT id FROM work_log_entry WHERE hazard = '地下室电动车违规充电'", page)
    # The outbox moves to the work list itself after saving (its done address): wait for that.
    page.wait_for_url(f"{base}/worklog", timeout=20_000)
    item = page.locator("#recent-work li", has_text="地下室电动车违规充电")
    item.scroll_into_view_if_needed()
    screenshot(page, "matters-worklog-one-tap")
    item.get_by_role("button", name="转为问题").tap()   # the one tap
    issue_id = _wait_for(server, "SELECT issue_id FROM work_log_entry WHERE hazard = '地下室电动车违规充电'", page)
    expect(page.locator("#entry-problem")).to_contain_text("已上报")
    screenshot(page, "matters-hazard-entry-linked")
    assert server.query("SELECT count(*) FROM issue WHERE description LIKE '%地下室电动车违规充电%'")[0][0] == 1
    page.get_by_role("link", name="查看问题").tap()
    expect(page.locator(".issue-origin")).to_contain_text("安全隐患排查")
    expect(page.locator(".issue-description")).to_contain_text("5栋地下室")
    screenshot(page, "matters-problem-came-from")
    assert str(issue_id) in page.url and str(entry_id).replace("-", "")[:8] in page.content().replace("-", "")
    assert not csp_violations
    context.close()


def test_a_leader_reports_her_task_offline_and_the_progress_shows_it(live_server, browser):
    server = live_server
    base = server.base_url
    task_id, share_id, owner_id, community = server.query(
        "SELECT task.id, task_assignment.id, task_assignment.owner_id, substr(task_assignment.grid_path, 1, 16) "
        "FROM task_assignment JOIN task ON task.id = task_assignment.task_id "
        "WHERE task.title = '疫情期间老旧院落执勤' AND task_assignment.done_at IS NULL "
        "AND task_assignment.owner_id IS NOT NULL ORDER BY task_assignment.grid_path DESC LIMIT 1")[0]
    done_before = server.query("SELECT count(*) FROM task_assignment WHERE task_id = :t AND done_at IS NOT NULL "
                               "AND substr(grid_path, 1, 16) = :c", t=task_id, c=community)[0][0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, owner_id)
    page = context.new_page()
    page.goto(f"{base}/tasks")
    expect(page.locator("#my-tasks")).to_contain_text("疫情期间老旧院落执勤")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    page.goto(f"{base}/tasks")
    report_url = f"/tasks/assignments/{share_id}/report"
    wanted = page.evaluate("() => fetch('/api/offline-pages').then(r => r.json()).then(l => l.urls)")
    assert report_url in wanted
    deadline = time.monotonic() + 30
    check = ("(urls) => caches.open('weiwang-pages').then(c => Promise.all(urls.map(u => c.match(u))))"
             ".then(r => r.every(Boolean))")
    while not page.evaluate(check, ["/tasks", report_url]):
        assert time.monotonic() < deadline, "the report form was not kept on the phone"
        page.wait_for_timeout(300)
    screenshot(page, "matters-my-tasks")

    # Offline, and every sync refused as well: a worker's Background Sync can slip past offline
    # emulation (BROWSER-TESTING.md), and this journey asserts the server has nothing yet.
    context.route("**/api/sync", lambda route: route.abort("internetdisconnected"))
    context.set_offline(True)
    page.goto(f"{base}{report_url}")
    page.get_by_label("完成情况说明").fill("院落门口执勤两小时，登记外来人员6人")
    screenshot(page, "matters-task-report-offline")
    page.get_by_role("button", name="上报完成").tap()
    page.wait_for_url(f"{base}/tasks")
    assert server.query("SELECT count(*) FROM task_report WHERE assignment_id = :a", a=share_id)[0][0] == 0
    context.unroute("**/api/sync")
    context.set_offline(False)
    page.goto(f"{base}/tasks")  # back online: the outbox syncs on load
    _wait_for(server, "SELECT done_at FROM task_assignment WHERE id = :a", page, a=share_id)
    assert server.query("SELECT count(*) FROM task_report WHERE assignment_id = :a", a=share_id)[0][0] == 1

    admin_id = server.query("SELECT person_id FROM post WHERE role = 'admin' ORDER BY id LIMIT 1")[0][0]
    staff = browser.new_context(**PHONE)
    sign_in_by_cookie(staff, server, admin_id)
    spage = staff.new_page()
    community_code = server.query("SELECT code FROM grid_node WHERE path = :p", p=community)[0][0]
    spage.goto(f"{base}/tasks/{task_id}?community={community_code}")
    expect(spage.locator(f"#task-progress tr[data-community='{community_code}'] [data-done]")).to_have_text(str(done_before + 1))
    expect(spage.locator(f"#task-shares li[data-assignment='{share_id}']")).to_contain_text("登记外来人员6人")
    screenshot(spage, "matters-task-progress")
    context.close()
    staff.close()


def test_the_pages_that_changed_at_phone_size(live_server, browser, csp_violations):
    """An errand's life, issuing a task, a settlement's checklist and the template's two checklists."""
    server = live_server
    base = server.base_url
    leader_id = server.query("SELECT post.person_id FROM post JOIN grid_node ON grid_node.id = post.node_id "
                             "WHERE post.role = 'leader' AND post.post_kind = 'A' AND grid_node.kind = 'residential' "
                             "ORDER BY grid_node.path LIMIT 1 OFFSET 5")[0][0]
    context = browser.new_context(**PHONE)
    sign_in_by_cookie(context, server, leader_id)
    page = context.new_page()
    page.goto(f"{base}/worklog/new/errand")
    page.locator("input[name=service][value=social_security]").check()
    page.get_by_role("button", name="保存").tap()
    page.wait_for_url(f"{base}/worklog")
    entry_id = _wait_for(server, "SELECT id FROM work_log_entry WHERE kind = 'errand' AND person_id = :p "
                                 "ORDER BY received_at DESC LIMIT 1", page, p=leader_id)
    page.goto(f"{base}/worklog/entries/{entry_id}")
    expect(page.locator("#errand-status")).to_have_text("已受理")
    page.locator("input[name=kind][value=refer]").check()
    page.locator("input[name=department]").fill("县社保局")
    page.locator("input[name=told_in_person]").check()
    screenshot(page, "matters-errand-step")
    page.get_by_role("button", name="保存").tap()
    _wait_for(server, "SELECT errand_department FROM work_log_entry WHERE id = :e", page, e=entry_id)
    # The outbox opens the entry again itself (its done address is this page); the new status is
    # only on that page, so waiting for it waits for the move (a reload of ours would race it).
    expect(page.locator("#errand-status")).to_have_text("已转办", timeout=20_000)
    expect(page.locator("#errand-steps")).to_contain_text("已当面告知居民")
    screenshot(page, "matters-errand-referred")

    rural, rural_leader = server.query(
        "SELECT grid_node.code, post.person_id FROM grid_node JOIN post ON post.node_path LIKE grid_node.path || '%' "
        "WHERE grid_node.level = 'compound' AND grid_node.kind = 'rural' AND post.role = 'leader' "
        "ORDER BY grid_node.path LIMIT 1")[0]
    rural_context = browser.new_context(**PHONE)
    sign_in_by_cookie(rural_context, server, rural_leader)
    rpage = rural_context.new_page()
    rpage.goto(f"{base}/patrols/compounds/{rural}/new")
    expect(rpage.locator(".section-title", has_text="沟渠河道")).to_be_visible()
    screenshot(rpage, "matters-rural-checklist")

    admin_id = server.query("SELECT person_id FROM post WHERE role = 'admin' ORDER BY id LIMIT 1")[0][0]
    staff = browser.new_context(**PHONE)
    sign_in_by_cookie(staff, server, admin_id)
    spage = staff.new_page()
    spage.goto(f"{base}/tasks/new")
    spage.locator("input[name=title]").fill("高龄津贴政策宣传")
    screenshot(spage, "matters-task-new")
    template_id = server.query("SELECT id FROM patrol_template WHERE owner_path = ''")[0][0]
    spage.goto(f"{base}/patrols/templates/{template_id}?kind=rural")
    expect(spage.locator(".checklist-kind .is-current")).to_have_text("散居林盘")
    screenshot(spage, "matters-template-rural")
    assert not csp_violations
    for c in (context, rural_context, staff):
        c.close()
