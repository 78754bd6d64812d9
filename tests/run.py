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


def main(extra: list[str]) -> int:
    ensure_chromium()
    base_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    failures = []

    step("unit and integration tests on SQLite")
    if pytest(["tests", "-q", "-p", "no:playwright", *extra], {**base_env, "WEIWANG_TEST_BACKEND": "sqlite"}):
        failures.append("tests on SQLite")

    pg_url = os.environ.get("WEIWANG_TEST_DATABASE_URL")
    if pg_url:
        step("the same tests on PostgreSQL")
        if pytest(["tests", "-q", "-p", "no:playwright", *extra], {**base_env, "WEIWANG_TEST_BACKEND": "postgresql"}):
            failures.append("tests on PostgreSQL")
    elif os.environ.get("CI"):
        print("CI=true but WEIWANG_TEST_DATABASE_URL is not set: PostgreSQL tests cannot be skipped in CI")
        failures.append("PostgreSQL missing")
    else:
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
