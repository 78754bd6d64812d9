"""Lighthouse (mobile) on the pages issue 13 names: the worklist, the visit form, a community home
and the admin ledger.

    LIGHTHOUSE=/path/to/node_modules/.bin/lighthouse python tests/benchmarks/bench_lighthouse.py [--scale 0.1]

Lighthouse 12.2.3 (`npm i -E lighthouse@12.2.3`; 13.x needs Node 22). Starts `weiwang serve` on a
fresh demo database (like e2e/), makes sessions for a leader, community staff and the street
administrator, and runs Lighthouse's mobile preset on each page, attached to a fresh Chromium
profile holding that person's session cookie (a first visit: nothing cached yet). Prints a
table of the four category scores, total blocking time and main-thread work; writes the JSON to
test-output/lighthouse.json. Goals (issue 13): performance >= 95, accessibility 100.
Not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from e2e.conftest import CHROMIUM, _start_server, free_port, session_cookie  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def lighthouse(url: str, cookie: dict, port: int, profile: Path) -> dict:
    """Lighthouse attached to a Chromium that holds the session cookie in its own jar, so the
    requests of htmx and of the service worker carry it as a phone's would."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True,
            args=["--disable-gpu", f"--remote-debugging-port={port}"])
        context.add_cookies([cookie])
        try:
            result = subprocess.run(
                [os.environ.get("LIGHTHOUSE", "lighthouse"), url, f"--port={port}", "--form-factor=mobile", "--quiet",
                 "--output=json", "--only-categories=" + ",".join(CATEGORIES)],
                capture_output=True, text=True, timeout=300)
        finally:
            context.close()
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    report = json.loads(result.stdout)
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    audits = report["audits"]
    scores["tbt_ms"] = round(audits["total-blocking-time"]["numericValue"])
    scores["main_thread_s"] = round(audits["mainthread-work-breakdown"]["numericValue"] / 1000, 2)
    scores["final_url"] = report.get("finalDisplayedUrl") or report.get("finalUrl")
    scores["failed_a11y"] = [a for a, v in audits.items()
                             if v.get("score") == 0 and a in {r["id"] for r in report["categories"]["accessibility"]["auditRefs"]}]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = _start_server(Path(tmp), scale=args.scale)
        try:
            leader, household = server.query(
                "SELECT post.person_id, household.id FROM post JOIN household ON household.microgrid_id = post.node_id "
                "WHERE post.role = 'leader' AND post.post_kind = 'A' ORDER BY post.node_path LIMIT 1")[0]
            secretary, community = server.query(
                "SELECT post.person_id, grid_node.code FROM post JOIN grid_node ON grid_node.id = post.node_id "
                "WHERE post.role = 'community' AND grid_node.level = 'community' ORDER BY grid_node.path LIMIT 1")[0]
            admin = server.query("SELECT person_id FROM post WHERE role = 'admin' LIMIT 1")[0][0]
            pages = [
                ("worklist", "/worklist", leader),
                ("visit form", f"/households/{household}/visits/new", leader),
                ("community home", "/", secretary),
                ("community grid page", f"/grid/{community}", secretary),
                ("admin ledger", "/issues", admin),
            ]
            results = {}
            for i, (name, path, person) in enumerate(pages):
                results[name] = {"path": path, **lighthouse(server.base_url + path, session_cookie(server, person),
                                                            free_port(), Path(tmp) / f"profile-{i}")}
                print(name, results[name], flush=True)
        finally:
            server.process.terminate()
            server.process.wait(timeout=10)
    out = ROOT / "test-output" / "lighthouse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print("\n| page | performance | accessibility | best practices | SEO | TBT ms | main thread s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} ({r['path']}) | {r['performance']} | {r['accessibility']} | {r['best-practices']} | {r['seo']} "
              f"| {r['tbt_ms']} | {r['main_thread_s']} |")


if __name__ == "__main__":
    main()
