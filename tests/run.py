"""Run every test the way CI does: unit/integration on SQLite, again on PostgreSQL when
WEIWANG_TEST_DATABASE_URL is set, then the Playwright journeys in Chromium.

Installs what the tests need first: Debian's chromium and fonts-noto-cjk when no Chromium
is found, and Pango (WeasyPrint's text layout, for the printed boards) when it is missing. Exits non-zero on any failure. Usage: python tests/run.py [pytest args...]
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("WEIWANG_CHROMIUM", "/usr/lib/chromium/chromium"))


def step(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def ensure_chromium() -> None:
    from ctypes.util import find_library

    # WeasyPrint (server/boards) lays text out with Pango and embeds Noto Sans CJK.
    has_pango = find_library("pango-1.0") and find_library("pangoft2-1.0")
    if CHROMIUM.exists() and Path("/usr/share/fonts/opentype/noto").exists() and has_pango:
        return
    step("installing Debian's chromium, fonts-noto-cjk and Pango")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk",
                    "libpango-1.0-0", "libpangoft2-1.0-0"], check=True, env=env)
    if not CHROMIUM.exists():
        sys.exit(f"chromium was installed but {CHROMIUM} is missing; set WEIWANG_CHROMIUM")


def pytest(args: list[str], env: dict[str, str]) -> int:
    started = time.monotonic()
    code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env).returncode
    print(f"--- {' '.join(args[:1])}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
    return code


def side_by_side(runs: dict[str, tuple[list[str], dict[str, str]]]) -> list[str]:
    """Run pytest once per entry at the same time (each is one single-threaded process, and
    the PostgreSQL run waits on its server half the time: two cores finish both in little more
    than the longer one). Each run's output goes to test-output/<name>.log and is printed
    whole when it ends. Returns the names that failed."""
    logs = ROOT / "test-output"
    logs.mkdir(exist_ok=True)
    running = {}
    for name, (args, env) in runs.items():
        log = (logs / f"{name.replace(' ', '-')}.log").open("w")
        process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        running[name] = (process, log, time.monotonic())
    failed = []
    for name, (process, log, started) in running.items():
        code = process.wait()
        log.close()
        step(name)
        print((logs / f"{name.replace(' ', '-')}.log").read_text(), end="")
        print(f"--- {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    return failed


def main(extra: list[str]) -> int:
    ensure_chromium()
    base_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    failures = []

    unit = ["tests", "-q", "-p", "no:playwright", *extra]
    runs = {"tests on SQLite": (unit, {**base_env, "WEIWANG_TEST_BACKEND": "sqlite"})}
    pg_url = os.environ.get("WEIWANG_TEST_DATABASE_URL")
    if pg_url:
        runs["tests on PostgreSQL"] = (unit, {**base_env, "WEIWANG_TEST_BACKEND": "postgresql"})
    step("unit and integration tests on " + " and, at the same time, on ".join(n.split(" on ")[1] for n in runs))
    failures += side_by_side(runs)
    if not pg_url and os.environ.get("CI"):
        print("CI=true but WEIWANG_TEST_DATABASE_URL is not set: PostgreSQL tests cannot be skipped in CI")
        failures.append("PostgreSQL missing")
    elif not pg_url:
        print("WEIWANG_TEST_DATABASE_URL not set: skipping the PostgreSQL run")

    step("end-to-end journeys in Chromium")
    # Sync Playwright and pytest-asyncio break each other in one process: e2e runs alone.
    if pytest(["e2e", "-q", "-p", "no:asyncio", "-W", "ignore::pytest.PytestConfigWarning", *extra], base_env):
        failures.append("end-to-end")

    if failures:
        print("\nFAILED: " + ", ".join(failures))
        return 1
    print("\nall test suites passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
