"""The registers in the browser (issue 9), at phone size and desktop size.

An administrator downloads the template, uploads a workbook with three errors, sees them by
row, fixes them, confirms and watches the progress; a micro-grid is handed over. A leader with
no signal reports that a household moved out; it syncs; the community secretary approves it
on the list; the household leaves the leader's worklist.
"""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, find_person, screenshot, session_cookie

DESKTOP = {"viewport": {"width": 1280, "height": 860}, "device_scale_factor": 1, "locale": "zh-CN"}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
HOUSEHOLD_HEADERS = ["微网格编码", "地址", "户主", "电话", "人数", "关爱标签", "备注", "状态"]


def households_workbook(path, code: str, rows: list[list]) -> str:
    book = Workbook()
    ws = book.active
    ws.title = "住户"
    ws.append(HOUSEHOLD_HEADERS)
    for row in rows:
        ws.append([code, *row])
    book.save(path)
    return str(path)


@pytest.mark.parametrize("size", list(SIZES))
def test_an_administrator_imports_a_register_with_errors_then_fixed(size, live_server, browser, tmp_path):
    server = live_server
    admin_id, _name, _code, _path = find_person(server, "admin")
    _leader, _n, microgrid, _p = find_person(server, "leader", post_kind="A", kind="residential", offset=3 if size == "phone" else 4)
    context = browser.new_context(**SIZES[size], accept_downloads=True)
    context.add_cookies([session_cookie(server, admin_id)])
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto(server.base_url + "/registers")
    expect(page.get_by_role("link", name="从Excel导入")).to_be_visible()
    page.get_by_role("link", name="从Excel导入").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载模板").click()
    template = download.value.path()
    from openpyxl import load_workbook

    assert download.value.suggested_filename.endswith(".xlsx")
    assert load_workbook(io.BytesIO(template.read_bytes())).sheetnames == ["网格", "住户", "人员", "岗位", "物业公司", "说明"]

    prefix = "P" if size == "phone" else "D"
    bad = households_workbook(tmp_path / "bad.xlsx", microgrid, [
        [f"{prefix}1栋101室", "王秀英", "13800001111", 2, "独居老人", "", "在住"],
        [f"{prefix}1栋102室", "", "13800001112", 3, "", "", "在住"],            # row 3: no head of household
        [f"{prefix}1栋103室", "李建国", "12345", 1, "", "", "在住"],            # row 4: not a phone
        [f"{prefix}1栋104室", "张桂兰", "13800001114", 2, "孤寡", "", "在住"],   # row 5: unknown care tag
    ])
    page.locator("#f-file").set_input_files(bad)
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator(".problems-title")).to_contain_text("3 个问题", timeout=20000)
    problems = page.locator("#problems .problem")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("第3行")
    expect(problems.nth(0)).to_contain_text("户主")
    expect(problems.nth(1)).to_contain_text("第4行")
    expect(problems.nth(1)).to_contain_text("不是电话号码")
    expect(problems.nth(2)).to_contain_text("第5行")
    expect(problems.nth(2)).to_contain_text("孤寡")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
    screenshot(page, f"registers-01-preview-with-errors-{size}")

    # Fixed, and a few thousand more families, so the progress has something to show.
    rows = [[f"{prefix}1栋101室", "王秀英", "13800001111", 2, "独居老人", "", "在住"],
            [f"{prefix}1栋102室", "刘德明", "13800001112", 3, "", "", "在住"],
            [f"{prefix}1栋103室", "李建国", "028-88886666", 1, "", "", "在住"],
            [f"{prefix}1栋104室", "张桂兰", "13800001114", 2, "低保", "", "在住"]]
    rows += [[f"{prefix}{i // 100 + 2}栋{i % 100 + 1}号", f"住户{i}", "", 1, "", "", "在住"] for i in range(12000)]
    good = households_workbook(tmp_path / "good.xlsx", microgrid, rows)
    page.get_by_role("link", name="导入其他文件").click()
    page.locator("#f-file").set_input_files(good)
    page.get_by_role("button", name="检查文件").click()
    confirm = page.get_by_role("button", name="确认导入")
    expect(confirm).to_be_visible(timeout=30000)
    expect(page.locator("table.import-counts")).to_contain_text("12004")
    assert server.query("SELECT count(*) FROM household WHERE address LIKE :a", a=f"{prefix}%")[0][0] == 0
    confirm.click()
    # Watching the job: the page polls (htmx, every second) while it writes.
    expect(page.locator(".import-job progress")).to_be_visible(timeout=30000)
    expect(page.locator(".job-status")).to_contain_text("正在写入", timeout=30000)
    screenshot(page, f"registers-02-progress-{size}")
    expect(page.locator(".alert-ok")).to_contain_text("已一次性导入", timeout=60000)
    expect(page.locator(".import-job progress")).to_have_count(0)
    assert server.query("SELECT count(*) FROM household WHERE address LIKE :a", a=f"{prefix}%")[0][0] == 12004
    audit = server.query("SELECT detail FROM audit_entry WHERE action = 'registers_import' ORDER BY id DESC LIMIT 1")
    assert '"sha256"' in audit[0][0]
    assert not violations, violations
    context.close()


def test_a_leader_reports_a_move_out_offline_and_the_secretary_approves(live_server, browser_type, browser, tmp_path):
    server = live_server
    leader_id, _name, microgrid, path = find_person(server, "leader", post_kind="A", kind="residential", offset=11)
    household_id, address = server.query(
        "SELECT household.id, household.address FROM household JOIN grid_node ON grid_node.id = household.microgrid_id "
        "WHERE grid_node.code = :c AND household.status = 'active' ORDER BY household.id LIMIT 1", c=microgrid)[0]
    secretary_id = server.query(
        "SELECT post.person_id FROM post WHERE post.role = 'community' AND post.title = '社区党委书记' "
        "AND post.node_path = :p", p=path[:16])[0][0]

    context = browser_type.launch_persistent_context(str(tmp_path / "phone"), executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS, service_workers="allow", **PHONE)
    context.add_cookies([session_cookie(server, leader_id)])
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.base_url + "/worklist")
    expect(page.locator(f'a[href="/households/{household_id}"]').first).to_be_visible()
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    url = f"/households/{household_id}"
    deadline = 40
    for _ in range(deadline * 5):
        if page.evaluate("(u) => caches.open('weiwang-pages').then(c => c.match(u)).then(Boolean)", url):
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("the household page never reached the phone")

    # Offline, and every sync refused as well: a worker's Background Sync can slip past offline
    # emulation (BROWSER-TESTING.md), and this journey asserts the server has nothing yet.
    context.route("**/api/sync", lambda route: route.abort("internetdisconnected"))
    context.set_offline(True)
    page.goto(server.base_url + url)
    page.locator("details.propose-change summary").click()
    page.locator("label.choice", has_text="迁出").click()
    page.locator("#f-change-note").fill("全家搬去成都")
    screenshot(page, "registers-03-leader-proposes-offline")
    page.get_by_role("button", name="提交社区审核").click()
    expect(page.locator("#status-bar")).to_contain_text("已存到手机", timeout=10000)
    assert server.query("SELECT count(*) FROM household_change WHERE household_id = :h", h=household_id)[0][0] == 0

    context.unroute("**/api/sync")
    context.set_offline(False)
    page.goto(server.base_url + "/outbox")
    page.locator("[data-outbox-sync]").first.click()
    for _ in range(100):
        if server.query("SELECT count(*) FROM household_change WHERE household_id = :h", h=household_id)[0][0]:
            break
        page.wait_for_timeout(200)
    assert server.query("SELECT status FROM household_change WHERE household_id = :h", h=household_id) == [("pending",)]

    secretary = browser.new_context(**PHONE)
    secretary.add_cookies([session_cookie(server, secretary_id)])
    office = secretary.new_page()
    office.goto(server.base_url + "/registers/changes")
    item = office.locator(".change", has_text=address)
    expect(item).to_contain_text("迁出")
    expect(item).to_contain_text("全家搬去成都")
    screenshot(office, "registers-04-approval-list")
    item.get_by_role("button", name="批准").click()
    expect(office.locator(".change", has_text="全家搬去成都")).to_have_count(0)
    assert server.query("SELECT status FROM household WHERE id = :h", h=household_id) == [("moved_out",)]

    page.goto(server.base_url + "/worklist")
    expect(page.locator(f'a[href="/households/{household_id}"]')).to_have_count(0)
    secretary.close()
    context.close()


def test_a_secretary_hands_a_microgrid_over(live_server, browser):
    server = live_server
    _old, old_name, microgrid, path = find_person(server, "leader", post_kind="A", kind="residential", offset=21)
    new_id, new_name = server.query(
        "SELECT person.id, person.name FROM post JOIN person ON person.id = post.person_id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' AND post.node_path LIKE :p AND post.node_path NOT LIKE :own "
        "ORDER BY post.id LIMIT 1", p=path[:16] + "%", own=path + "%")[0]
    secretary_id = server.query(
        "SELECT post.person_id FROM post WHERE post.role = 'community' AND post.title = '社区党委书记' "
        "AND post.node_path = :p", p=path[:16])[0][0]
    context = browser.new_context(**PHONE)
    context.add_cookies([session_cookie(server, secretary_id)])
    page = context.new_page()
    page.goto(f"{server.base_url}/grid/{microgrid}")
    page.get_by_role("link", name="交接").first.click()
    expect(page.locator(".current-leaders")).to_contain_text(old_name)
    page.locator("#f-person_id").select_option(str(new_id))
    screenshot(page, "registers-05-handover")
    page.get_by_role("button", name="立即交接").click()
    expect(page.locator(".leaders")).to_contain_text(new_name)
    holders = server.query("SELECT person_id FROM post WHERE node_path = :p AND post_kind = 'A' AND ended_on IS NULL", p=path)
    assert holders == [(new_id,)]
    context.close()
