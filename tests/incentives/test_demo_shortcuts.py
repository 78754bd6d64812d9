"""The demo's spelled-out shortcuts (server/incentives/demo.py) give what the library calls they stand for."""
import random
import uuid
from datetime import datetime, timezone

from server.bulk import utc_text
from server.incentives.demo import _below, _clock, _entry_id, _month_starts, _uuid4_text
from server.incentives.earning import entry_id


def test_the_demo_entry_ids_are_the_folds():
    for pid, key in ((1, "visit:12:2026-01"), (1551, "errand:0f0e"), (7, "satisfied:问题")):
        assert _entry_id(pid, key) == entry_id(pid, key, 0)


def test_the_demo_visit_ids_are_version_4_uuids():
    rng = random.Random(5)
    for _ in range(200):
        n = rng.getrandbits(128)
        u = uuid.UUID(int=n, version=4)
        assert _uuid4_text(n) == (u.hex, str(u))


def test_the_demo_clock_draws_like_randrange_and_randint():
    now = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)  # early in the month: some draws land in the future
    months = _month_starts(now)
    fast, slow = random.Random(9), random.Random(9)
    when = _clock(fast, months, now)
    for k in range(2000):
        i = k % len(months)
        start = months[i]
        seconds = (start.timestamp() + slow.randrange(28 if start.month == 2 else 30) * 86400
                   + slow.randint(8, 19) * 3600 + slow.randrange(60) * 60)
        if seconds > now.timestamp():
            seconds = max(now.timestamp() - slow.randint(5, 600) * 60, start.timestamp() + 9 * 3600)
        assert when(i) == datetime.fromtimestamp(seconds, timezone.utc)


def test_the_demo_writes_times_as_sqlalchemy_does():
    for value in (datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc), datetime(2026, 1, 5, 8, 0, 0, 12, tzinfo=timezone.utc)):
        assert utc_text(value) == value.replace(tzinfo=None).isoformat(" ", "microseconds")


def test_the_demo_draws_below_n_like_randrange():
    fast, slow = random.Random(3), random.Random(3)
    below = _below(fast)
    for n in [1, 2, 3, 12, 28, 30, 60, 596, 1000, 2**31 + 7] * 200:
        assert below(n) == slow.randrange(n)
