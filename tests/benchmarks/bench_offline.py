"""First-load transfer size and offline reload time of the worklist, in headless Chromium.

    python tests/benchmarks/bench_offline.py [--scale 0.1] [--reloads 10]

Starts `weiwang serve` on a fresh database (like e2e/), signs the busiest leader in with
a session cookie, and measures on a phone-sized page:
- first load: bytes on the wire (compressed, headers included, from CDP Network events)
  until the load event, on an empty cache; then everything the service worker fetches
  afterwards to keep the day offline (precache + the leader's pages);
- offline reload: the worklist reloaded with the network off, served by the worker
  (navigation start to load event, median).
Goals (issue 4): first load <= 50 KB including htmx; offline reload <= 300 ms.
Not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, _start_server, session_cookie  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--reloads", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = _start_server(Path(tmp), scale=args.scale)
        try:
            report = measure(server, Path(tmp), args.reloads)
        finally:
            server.process.terminate()
            server.process.wait(timeout=10)
    print(json.dumps(report, indent=2))


def measure(server, tmp: Path, reloads: int) -> dict:
    person_id, microgrid_id, households = server.query(
        "SELECT post.person_id, post.node_id, count(household.id) AS n FROM post "
        "JOIN household ON household.microgrid_id = post.node_id WHERE post.role = 'leader' AND post.post_kind = 'A' "
        "GROUP BY post.person_id, post.node_id ORDER BY n DESC LIMIT 1")[0]
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            service_workers="allow", **PHONE)
        context.add_cookies([{**session_cookie(server, person_id), "expires": time.time() + 86400}])
        page = context.pages[0] if context.pages else context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        sizes: dict[str, int] = {}
        urls: dict[str, str] = {}
        phase = {"name": "first"}
        per_phase: dict[str, int] = {"first": 0}

        def on_response(event):
            urls[event["requestId"]] = event["response"]["url"]

        def on_finished(event):
            n = int(event["encodedDataLength"])
            sizes[event["requestId"]] = n
            per_phase[phase["name"]] = per_phase.get(phase["name"], 0) + n

        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        page.goto(server.base_url + "/worklist", wait_until="load")
        page.wait_for_timeout(300)
        first_load = {urls.get(k, k).replace(server.base_url, ""): v for k, v in sizes.items()}
        phase["name"] = "worker"
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp.detach()  # an attached CDP session breaks offline emulation (BROWSER-TESTING.md)
        page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
        deadline = time.monotonic() + 60
        while page.evaluate("() => caches.open('weiwang-pages').then(c => c.keys()).then(k => k.length)") < 2 * households:
            assert time.monotonic() < deadline, "the worker did not keep the leader's pages"
            page.wait_for_timeout(200)
        kept = page.evaluate("() => caches.open('weiwang-pages').then(c => c.keys()).then(k => k.length)")
        context.set_offline(True)
        timings = []
        for _ in range(reloads):
            page.reload(wait_until="load")
            timings.append(page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }"))
        from_worker = page.evaluate("() => performance.getEntriesByType('navigation')[0].transferSize === 0")
        context.close()
    return {
        "households_on_worklist": households,
        "first_load_kb": round(sum(first_load.values()) / 1024, 1),
        "first_load_requests": {k: v for k, v in sorted(first_load.items(), key=lambda kv: -kv[1])},
        "pages_kept_offline": kept,
        "offline_reload_ms_median": round(statistics.median(timings), 1),
        "offline_reload_ms_all": [round(t, 1) for t in timings],
        "offline_reload_served_without_network": from_worker,
    }


if __name__ == "__main__":
    main()
