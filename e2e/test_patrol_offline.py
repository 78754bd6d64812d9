"""A leader fills the monthly joint patrol on a phone with no signal, the browser is closed
and opened again still offline, then the phone is back online: the patrol, its 20 answers
and its 2 problems reach the server exactly once, and next month's patrol re-checks them.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS, find_person, run_async, screenshot, session_cookie

CST = timezone(timedelta(hours=8))
# A dead proxy for every request, loopback included: a truly offline browser from launch on
# (context.set_offline alone leaked requests from a worker started at launch).
OFFLINE_ARGS = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
FAILED = {"cleaning": "fixed", "waste_sorting": "problem", "lighting": "problem"}
TIMINGS: dict[str, float] = {}


def launch(browser_type, profile, *, offline: bool):
    return browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (OFFLINE_ARGS if offline else []),
        service_workers="allow", **PHONE,
    )


def viewport_shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def photo_file(tmp_path, name: str, colour: str) -> str:
    path = tmp_path / f"{name}.jpg"
    image = Image.new("RGB", (1200, 900), colour)
    image.save(path, "JPEG", quality=90)
    return str(path)


def wait_for(page, script: str, arg=None, seconds: float = 30) -> None:
    """Poll an async page function (wait_for_function takes a returned promise as truthy)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out: {script}"
        page.wait_for_timeout(250)


def wait_until_empty(page) -> None:
    wait_for(page, "() => WeiwangOutbox.count().then(n => n === 0)")


def outbox_records(page) -> list[dict]:
    return page.evaluate("() => WeiwangOutbox.all()")


def seed_history(live, compound_id: int, person_id: int, version_id: int, item_ids: list[int]) -> None:
    """Five earlier months of patrols, so the trend chart has something to show (failures fixed on the spot)."""
    from server.accounts.models import Post
    from server.accounts.scope import PostScope, Viewer
    from server.db import make_engine, make_sessionmaker
    from server.app import SYNC_TYPES
    from server.sync import registry
    from server.sync.service import store_records

    registry.install(SYNC_TYPES)  # this test process stores records itself, as the app would

    async def seed():
        engine = make_engine(live.database_url)
        async with make_sessionmaker(engine)() as db:
            posts = (await db.execute(sa.select(Post).where(Post.person_id == person_id))).scalars().all()
            viewer = Viewer(person_id, "", tuple(PostScope(p.role, p.node_id, p.node_path, p.post_kind, p.company_id)
                                                 for p in posts))
            now = datetime.now(CST)
            records = []
            for months_ago, failures in ((5, 6), (4, 4), (3, 5), (2, 2), (1, 3)):
                answers = [{"item_id": i, "result": "pass"} for i in item_ids]
                for answer in answers[2:2 + failures]:
                    answer.update(result="fail", fixed_on_spot=True, note="当场整改")
                answers[-1]["result"] = "na"
                records.append({"id": str(uuid.uuid4()), "type": "patrol",
                                "created_at": (now - timedelta(days=30 * months_ago + 2)).isoformat(),
                                "data": {"compound_id": compound_id, "template_version_id": version_id,
                                         "answers": answers, "participants": []}})
            results = await store_records(db, viewer, records, "zh-CN")
            assert {r.status for r in results} == {"created"}, results
        await engine.dispose()

    run_async(seed())


@pytest.fixture
def patrol_leader(live_server):
    """A leader of a residential compound no other journey patrols, and that compound."""
    leader_id, name, _code, path = find_person(live_server, "leader", post_kind="A", kind="residential", offset=7)
    compound = live_server.query("SELECT id, code, name, path FROM grid_node WHERE path = :p", p=path[:24])[0]
    return leader_id, name, compound


def test_it_fills_a_patrol_offline_and_syncs_it_exactly_once(live_server, browser_type, tmp_path, patrol_leader):
    leader_id, _leader_name, (compound_id, code, compound_name, _path) = patrol_leader
    version_id = live_server.query("SELECT current_version_id FROM patrol_template WHERE owner_path = ''")[0][0]
    items = live_server.query("SELECT id, key, title FROM patrol_item WHERE version_id = :v ORDER BY sort_order", v=version_id)
    assert len(items) == 24  # 20 and the maintenance records section (查看维护保养记录, 0018)
    seed_history(live_server, compound_id, leader_id, version_id, [i[0] for i in items])
    patrols_before = live_server.query("SELECT count(*) FROM patrol WHERE compound_id = :c", c=compound_id)[0][0]
    form_url = f"{live_server.base_url}/patrols/compounds/{code}/new"
    profile = tmp_path / "phone"
    cookie = {**session_cookie(live_server, leader_id), "expires": time.time() + 30 * 86400}

    # --- online once: the leader opens the patrol pages, the phone keeps them.
    context = launch(browser_type, profile, offline=False)
    context.add_cookies([cookie])
    page = context.pages[0] if context.pages else context.new_page()
    csp_violations: list[str] = []
    page.on("console", lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.base_url}/patrols")
    expect(page.locator("#calendar")).to_contain_text(compound_name)
    screenshot(page, "patrol-01-calendar")
    page.goto(f"{live_server.base_url}/patrols/compounds/{code}")
    assert page.locator("#trend svg rect.bar").count() >= 4  # five months, two may share a calendar month
    screenshot(page, "patrol-02-trend-chart")
    page.goto(form_url)
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    wait_for(page, "(key) => caches.open('weiwang-pages').then(c => c.match(key)).then(Boolean)",
             f"/patrols/compounds/{code}/new")
    page.wait_for_function("() => window.WeiwangOutbox && window.WeiwangPatrol")

    # --- in the stairwell: no signal. The form comes from the phone.
    context.set_offline(True)
    page.reload()
    expect(page.locator("#patrol-form")).to_be_visible()
    segments = page.locator("#item-cleaning .seg span")
    for index in range(3):
        box = segments.nth(index).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box  # one thumb, 44 px targets
    photos = {"waste_sorting": photo_file(tmp_path, "bins", "#3a7d44"), "lighting": photo_file(tmp_path, "lamp", "#444444")}

    # Saving too early points at what is missing instead of losing anything.
    expect(page.locator("#patrol-done")).to_be_hidden()
    page.get_by_role("button", name="保存巡查").tap()
    expect(page.locator("[data-progress]")).to_contain_text("还有 24 项需要作答")

    started = time.monotonic()
    page.locator("#participants summary").tap()
    page.locator('input[name="guest_name-0"]').fill("王业主")
    for item_id, key, _title in items:
        card = page.locator(f"#item-{key}")
        if key not in FAILED:
            card.locator(".seg-pass").tap()
            if key == "lifts":  # a note on an item that passed
                card.locator(".more-toggle").tap()
                card.locator("textarea").fill("年检合格证2027年3月到期")
            continue
        card.locator(".seg-fail").tap()
        card.locator("textarea").fill({"cleaning": "楼道有垃圾，保洁员当场清扫", "waste_sorting": "厨余垃圾桶满溢",
                                       "lighting": "3栋2单元楼道灯不亮"}[key])
        if FAILED[key] == "fixed":
            card.locator(".seg-fixed").tap()
        else:
            card.locator(".seg-problem").tap()
            card.locator(f'input[data-photo-for="{item_id}"]').set_input_files(photos[key])
            expect(card.locator(f'[data-photo-count="{item_id}"]')).not_to_be_empty()
    expect(page.locator("[data-progress]")).to_contain_text("24")
    page.locator("#item-lighting").scroll_into_view_if_needed()
    viewport_shot(page, "patrol-03-form-phone")
    screenshot(page, "patrol-04-form-full")
    page.get_by_role("button", name="保存巡查").tap()
    expect(page.locator("#patrol-status")).to_contain_text("已保存在手机上")
    TIMINGS["fill_20_items_s"] = time.monotonic() - started
    print(f"\nfilled the 20-item checklist in {TIMINGS['fill_20_items_s']:.1f} s")
    viewport_shot(page, "patrol-05-saved-offline")

    assert not csp_violations, csp_violations
    waiting = outbox_records(page)
    assert [(r["type"], len(r["photos"])) for r in waiting] == [("patrol", 2)]
    record = waiting[0]
    assert len(record["data"]["answers"]) == 24
    assert [a["note"] for a in record["data"]["answers"] if a["result"] == "pass" and a["note"]] == ["年检合格证2027年3月到期"]
    assert sum(1 for a in record["data"]["answers"] if a.get("problem_id")) == 2
    assert live_server.query("SELECT count(*) FROM patrol WHERE compound_id = :c", c=compound_id)[0][0] == patrols_before
    context.close()

    # --- the browser is closed and opened again, still without signal: the patrol is still on the phone.
    context = launch(browser_type, profile, offline=True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(form_url)
    expect(page.locator("#patrol-form")).to_be_visible()
    page.wait_for_function("() => window.WeiwangOutbox")
    assert [r["id"] for r in outbox_records(page)] == [record["id"]]
    assert live_server.query("SELECT count(*) FROM patrol WHERE compound_id = :c", c=compound_id)[0][0] == patrols_before
    context.close()

    # --- back in signal: the outbox sends the patrol, then its photos.
    context = launch(browser_type, profile, offline=False)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_server.base_url}/outbox")
    page.wait_for_function("() => window.WeiwangOutbox")
    wait_until_empty(page)

    patrol_id = record["id"]
    rows = live_server.query("SELECT id, fail_count, pass_count FROM patrol WHERE compound_id = :c AND id = :i",
                             c=compound_id, i=patrol_id)
    assert rows == [(patrol_id, 3, 21)]
    assert live_server.query("SELECT count(*) FROM patrol WHERE compound_id = :c", c=compound_id)[0][0] == patrols_before + 1
    assert live_server.query("SELECT count(*) FROM patrol_answer WHERE patrol_id = :i", i=patrol_id)[0][0] == 24
    linked = live_server.query(
        "SELECT patrol_answer.item_key, issue.source, issue.node_id FROM patrol_answer "
        "JOIN issue ON issue.id = patrol_answer.issue_id WHERE patrol_answer.patrol_id = :i ORDER BY patrol_answer.sort_order",
        i=patrol_id)
    assert linked == [("waste_sorting", "patrol", compound_id), ("lighting", "patrol", compound_id)]
    problem_ids = [a["problem_id"] for a in record["data"]["answers"] if a.get("problem_id")]
    assert live_server.query(sa.text("SELECT count(*) FROM issue WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)), ids=problem_ids)[0][0] == 2
    photos_stored = sa.text("SELECT count(*) FROM photo WHERE record_id = :i").bindparams(sa.bindparam("i", type_=sa.Uuid))
    assert live_server.query(photos_stored, i=uuid.UUID(patrol_id))[0][0] == 2
    fixed = live_server.query("SELECT fixed_on_spot, issue_id FROM patrol_answer WHERE patrol_id = :i AND item_key = 'cleaning'",
                              i=patrol_id)
    assert fixed == [(1, None)]

    # A replay (a lost answer, a second phone tab) stores nothing twice.
    replay = page.evaluate("(r) => WeiwangOutbox.send([r])", record)
    assert replay["results"][0]["status"] == "duplicate"
    assert live_server.query("SELECT count(*) FROM patrol WHERE compound_id = :c", c=compound_id)[0][0] == patrols_before + 1
    assert live_server.query(sa.text("SELECT count(*) FROM issue WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)), ids=problem_ids)[0][0] == 2

    page.goto(f"{live_server.base_url}/patrols/{patrol_id}")
    expect(page.locator("#answers")).to_contain_text("当场整改")
    screenshot(page, "patrol-06-report")

    # --- a month later: the patrol is last month's; this month's checklist re-checks the two problems.
    shift_back_a_month(live_server, patrol_id)
    page.goto(f"{live_server.base_url}/patrols")
    expect(page.locator("#calendar")).to_contain_text(compound_name)
    page.goto(form_url)
    recheck = page.locator("#recheck")
    expect(recheck).to_contain_text("复查上次的 2 项")
    expect(recheck.locator("li")).to_have_count(2)
    expect(page.locator(".check-recheck")).to_have_count(2)
    expect(page.locator("#item-waste_sorting .recheck-note")).to_contain_text("已上报")
    viewport_shot(page, "patrol-07-next-month-recheck")
    context.close()


def shift_back_a_month(server, patrol_id: str) -> None:
    """Time passes: move the patrol (and its answers) to last month in the server's database."""
    engine = sa.create_engine(server.sync_database_url)
    with engine.begin() as conn:
        when = conn.execute(sa.text("SELECT patrolled_at FROM patrol WHERE id = :i"), {"i": patrol_id}).scalar_one()
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        earlier = when - timedelta(days=31)
        month = earlier.replace(tzinfo=earlier.tzinfo or timezone.utc).astimezone(CST).strftime("%Y-%m")
        conn.execute(sa.text("UPDATE patrol SET patrolled_at = :t, month = :m WHERE id = :i"),
                     {"t": earlier, "m": month, "i": patrol_id})
        conn.execute(sa.text("UPDATE patrol_answer SET month = :m WHERE patrol_id = :i"), {"m": month, "i": patrol_id})
    engine.dispose()


def test_it_shows_the_community_calendar_and_the_checklist_versions(live_server, context, page, csp_violations):
    secretary_id, *_ = find_person(live_server, "community")
    context.add_cookies([session_cookie(live_server, secretary_id)])
    page.goto(f"{live_server.base_url}/patrols")
    rows = page.locator("#calendar .calendar-row")
    assert rows.count() >= 3
    expect(page.locator(".filter-tabs")).to_contain_text("待巡查")
    screenshot(page, "patrol-08-community-calendar")
    page.get_by_role("link", name="检查清单").tap()
    expect(page.locator("#templates")).to_contain_text("街道统一")
    page.get_by_role("button", name="创建").tap()  # the community keeps its own, a copy of the street's
    expect(page.locator("#versions")).to_contain_text("第 1 版")
    page.locator('input[name="title-0"]').fill("公共区域保洁")
    page.locator('input[name="note"]').fill("保洁项改名")
    page.get_by_role("button", name="发布新版本").tap()
    expect(page.locator(".alert-ok")).to_contain_text("第 2 版已发布")
    expect(page.locator("#versions li")).to_have_count(2)
    assert not csp_violations, csp_violations
    # Last: a full-page screenshot followed by more browsing made Chromium report an inline style
    # that no page of ours applies (none without the screenshot).
    screenshot(page, "patrol-10-checklist-editor")


def test_it_sets_aside_a_patrol_filled_on_an_unknown_checklist_version(live_server, context, page):
    """A phone that kept a checklist version the server never had: rejected with the reason, kept, editable."""
    leader_id, _name, _code, path = find_person(live_server, "leader", post_kind="A", kind="residential", offset=9)
    compound_id, code = live_server.query("SELECT id, code FROM grid_node WHERE path = :p", p=path[:24])[0]
    items = live_server.query("SELECT id FROM patrol_item WHERE version_id = 1 ORDER BY sort_order")
    context.add_cookies([session_cookie(live_server, leader_id)])
    page.goto(f"{live_server.base_url}/outbox")
    page.wait_for_function("() => window.WeiwangOutbox && window.WeiwangOutboxPage")
    record_id = page.evaluate("""(args) => {
        const id = WeiwangOutbox.uuid();
        return WeiwangOutbox.put({id, type: "patrol", created_at: WeiwangOutbox.nowWithOffset(), state: "pending",
            title: "巡查", form_url: args.form_url, photos: [], saved_at: new Date().toISOString(),
            data: {compound_id: args.compound_id, template_version_id: 999999,
                   answers: args.items.map(i => ({item_id: i, result: "pass"})), participants: []}})
          .then(() => WeiwangOutboxPage.syncNow()).then(() => id);
    }""", {"compound_id": compound_id, "items": [i[0] for i in items], "form_url": f"/patrols/compounds/{code}/new"})

    entry = page.locator(f'[data-record-id="{record_id}"]')
    expect(entry).to_have_attribute("data-state", "rejected")
    expect(entry).to_contain_text("999999")
    expect(entry).to_contain_text("检查清单")
    screenshot(page, "patrol-09-outbox-unknown-version")
    assert live_server.query("SELECT count(*) FROM patrol WHERE id = :i", i=record_id)[0][0] == 0

    # Opened again from the outbox: the current checklist, with the server's reason on top.
    entry.get_by_role("link", name="修改").tap()
    expect(page.locator("#patrol-status")).to_contain_text("999999")
