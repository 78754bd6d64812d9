"""Text-size census (issue 13): every leader page at 390x844, in normal and in elder mode.

On each page: no visible text under the limit (15 px normally: secondary text and the smallest
badge; 18 px in 大字模式), no horizontal overflow, every tap target at least 44 px tall, and the
bottom tab bar showing the page's tab as active. The figures (characters per size band) are
written to test-output/census.json so the issue's note can quote them.
"""
from __future__ import annotations

import json

from e2e.conftest import PHONE, ROOT, find_person, screenshot, sign_in_by_cookie

# One pass over the page in the browser: text by font size, overflow, small targets, the active tab.
CENSUS_JS = """() => {
  const visible = (el) => {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  };
  const sizes = {};
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.replace(/\\s+/g, "");
    const el = node.parentElement;
    if (!text || !el || el.closest("script,style,template,noscript,[aria-hidden=true]") || !visible(el)) continue;
    // SVG text (the charts) is sized in the drawing's units: count the size it shows at.
    let px = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest("svg");
    if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    px = Math.round(px * 10) / 10;
    sizes[px] = (sizes[px] || 0) + text.length;
    if (px < 18) small.push([px, text.slice(0, 20), el.tagName.toLowerCase() + "." + (el.getAttribute("class") || "")]);
  }
  const targets = [];
  const interactive = document.querySelectorAll("a[href], button, input, select, textarea, summary");
  for (const el of interactive) {
    if (el.type === "hidden" || !visible(el) || el.closest(".visually-hidden")) continue;
    // A radio or checkbox is tapped through its label; a link inside a sentence is exempt (WCAG 2.5.8).
    const box = (el.type === "radio" || el.type === "checkbox") ? (el.closest("label") || el) : el;
    if (box.tagName === "A" && getComputedStyle(box).display === "inline" && box.closest("p")) continue;
    const r = box.getBoundingClientRect();
    if (r.height < 43.5) targets.push(`${box.tagName.toLowerCase()}.${box.className} "${(box.textContent || box.name || "").trim().slice(0, 20)}" ${Math.round(r.height)}px`);
  }
  return {
    sizes,
    small,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    targets,
    activeTab: (document.querySelector(".tabbar [aria-current=page]") || {}).textContent || null,
    elder: document.documentElement.classList.contains("elder"),
  };
}"""


REPORT_JS = """async ([nodeId, categoryId]) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  const record = {id: crypto.randomUUID(), type: "issue", created_at: new Date().toISOString(),
                  data: {node_id: nodeId, category_id: categoryId, description: "楼道灯不亮，晚上看不清台阶"}};
  const response = await fetch("/api/sync", {method: "POST", headers: {"content-type": "application/json", "x-csrftoken": token},
                                             body: JSON.stringify({records: [record]})});
  return [response.status, record.id];
}"""


def leader_pages(server, page) -> tuple[int, list[tuple[str, str]]]:
    """An A-post leader of a micro-grid with households, and every page she opens (one problem reported first)."""
    leader_id, microgrid_id, code = server.query(
        "SELECT post.person_id, grid_node.id, grid_node.code FROM post JOIN grid_node ON grid_node.id = post.node_id "
        "WHERE post.role = 'leader' AND post.post_kind = 'A' "
        "AND EXISTS (SELECT 1 FROM household WHERE household.microgrid_id = grid_node.id) ORDER BY grid_node.path LIMIT 1")[0]
    household = server.query("SELECT id FROM household WHERE microgrid_id = :m ORDER BY id LIMIT 1", m=microgrid_id)[0][0]
    sign_in_by_cookie(page.context, server, leader_id)
    page.goto(server.base_url + "/worklist")
    category = server.query("SELECT id FROM issue_category ORDER BY id LIMIT 1")[0][0]
    status, issue = page.evaluate(REPORT_JS, [microgrid_id, category])
    assert status == 200
    compound = server.query("SELECT c.code FROM grid_node mg JOIN grid_node c ON c.level = 'compound' "
                            "AND mg.path LIKE c.path || '%' WHERE mg.id = :m", m=microgrid_id)
    pages = [
        ("worklist", "/worklist"), ("household", f"/households/{household}"),
        ("visit-form", f"/households/{household}/visits/new"), ("household-visits", f"/households/{household}/visits"),
        ("worklog", "/worklog"), ("errand-form", "/worklog/new/errand"), ("mediation-form", "/worklog/new/mediation"),
        ("hazard-form", "/worklog/new/hazard_check"), ("microgrid", f"/grid/{code}"), ("search", f"/grid/{code}/search?q=1"),
        ("ledger", "/issues"), ("issue", f"/issues/{issue}"), ("issue-form", "/issues/new"),
        ("patrols", "/patrols"), ("me", "/me"), ("outbox", "/outbox"),
    ]
    if compound:
        pages.append(("compound-patrols", f"/patrols/compounds/{compound[0][0]}"))
    return leader_id, pages


SHOTS = ("worklist", "visit-form", "me", "patrols", "worklog", "issue")


def census(page, base: str, pages, mode: str) -> dict:
    found = {}
    for name, path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found[name] = {"path": path, **page.evaluate(CENSUS_JS)}
        if name in SHOTS:
            screenshot(page, f"census-{name}-{mode}")
    return found


def summarise(found: dict, limit: float) -> dict:
    chars = sum(n for page in found.values() for n in page["sizes"].values())
    def share(below: float) -> float:
        under = sum(n for page in found.values() for px, n in page["sizes"].items() if float(px) < below)
        return round(100 * under / chars, 1) if chars else 0.0
    return {
        "pages": len(found), "characters": chars,
        "under_14_pct": share(14), "under_15_pct": share(15), "under_16_pct": share(16), "under_17_pct": share(17),
        "smallest_px": min(float(px) for page in found.values() for px in page["sizes"]),
        "per_page_under_16_pct": {
            name: round(100 * sum(n for px, n in page["sizes"].items() if float(px) < 16) / max(1, sum(page["sizes"].values())), 1)
            for name, page in found.items()},
        "pages_with_overflow": [name for name, page in found.items() if page["overflow"] > 0],
        "small_targets": sum(len(page["targets"]) for page in found.values()),
        "pages_without_active_tab": [name for name, page in found.items() if not page["activeTab"]],
        "limit_px": limit,
    }


def check(found: dict, limit: float) -> list[str]:
    problems = []
    for name, page in found.items():
        for px, text, cls in page["small"]:
            if px < limit:
                problems.append(f"{name}: {px}px {text!r} ({cls})")
        if page["overflow"] > 0:
            problems.append(f"{name}: {page['overflow']}px horizontal overflow")
        problems += [f"{name}: small target {t}" for t in page["targets"]]
        if not page["activeTab"]:
            problems.append(f"{name}: no active tab")
    return problems


def test_it_keeps_every_leader_page_readable_and_tappable_in_both_modes(live_server, browser):
    server = live_server
    context = browser.new_context(**PHONE)
    page = context.new_page()
    leader_id, pages = leader_pages(server, page)
    normal = census(page, server.base_url, pages, "normal")
    # 大字模式 is switched on 我的 and kept per person.
    page.goto(server.base_url + "/me")
    elder_switch = page.locator("[data-elder-switch]")
    elder = {}
    if elder_switch.count():
        with page.expect_navigation():  # a plain form post; tap() does not wait for the new page
            elder_switch.first.tap()
        page.wait_for_load_state("networkidle")
        elder = census(page, server.base_url, pages, "elder")
    context.close()

    figures = {"normal": summarise(normal, 15), "elder": summarise(elder, 18) if elder else None}
    out = ROOT / "test-output" / "census.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"figures": figures, "normal": normal, "elder": elder}, ensure_ascii=False, indent=1))
    print(json.dumps(figures, ensure_ascii=False, indent=1))

    assert elder, "no 大字模式 switch on 我的"
    assert all(page["elder"] for page in elder.values()), "大字模式 is not kept from page to page"
    problems = check(normal, 15) + check(elder, 18)
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} problems)"


def test_it_keeps_the_staff_tables_and_lists_readable_on_a_phone(live_server, browser):
    """The tables staff read on a phone are cards (rates, the tier figures, the audit log, the leaders'
    tallies and scorecards): no sideways overflow, nothing under 14 px, at most 50 rows a page."""
    server = live_server
    admin_id = find_person(server, "admin")[0]
    secretary_id = find_person(server, "community")[0]
    street = server.query("SELECT code FROM grid_node WHERE level = 'street' LIMIT 1")[0][0]
    found = {}
    for person_id, pages in ((admin_id, [("audit", "/admin/audit"), ("tallies", "/worklog/leaders"),
                                          ("overview", f"/grid/{street}/overview"), ("rates", "/issues/rates"),
                                          ("scorecards", "/scorecards"), ("low-coverage", "/scorecards?needs=coverage"),
                                          ("home", "/")]),
                             (secretary_id, [("staff-home", "/"), ("staff-tallies", "/worklog/leaders"),
                                             ("staff-rates", "/issues/rates"), ("staff-ledger", "/issues")])):
        context = browser.new_context(**PHONE)
        sign_in_by_cookie(context, server, person_id)
        page = context.new_page()
        for name, path in pages:
            response = page.goto(server.base_url + path)
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            found[name] = {"path": path, **page.evaluate(CENSUS_JS)}
            found[name]["rows"] = page.locator("main tbody tr, main ul.list > li").count()
            if name in ("audit", "tallies", "rates", "overview"):
                screenshot(page, f"census-staff-{name}")
        context.close()
    problems = []
    for name, info in found.items():
        problems += [f"{name}: {px}px {text!r} ({cls})" for px, text, cls in info["small"] if px < 14]
        problems += [f"{name}: small target {t}" for t in info["targets"] if name in ("audit", "tallies", "low-coverage", "staff-tallies")]
        if info["overflow"] > 0:
            problems.append(f"{name}: {info['overflow']}px horizontal overflow")
        if info["rows"] > 60:
            problems.append(f"{name}: {info['rows']} rows on one page")
    print(json.dumps({name: {"rows": info["rows"], "overflow": info["overflow"], "targets": len(info["targets"])}
                      for name, info in found.items()}, ensure_ascii=False))
    assert not problems, "\n".join(problems[:40])
