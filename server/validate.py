"""The checks every input goes through: ids, whole numbers, dates, client times, text.

One home for them, imported everywhere a form field, a query parameter, a path segment
or a JSON value becomes something the database sees. Each check answers None (or
raises nothing) for a bad value, so the caller shows its own message; none of them lets
an odd value through to a driver that would answer with a 500:

- `str.isdigit()` is True for "²" and "١٢", which `int()` then refuses or reads as
  another number: only ASCII digits count here.
- Ids above PostgreSQL's `integer` (2^31 - 1) overflow the driver; SQLite stops at 2^63.
- Year 0001 or 9999 overflow as soon as a time zone or a day is added.
- NUL cannot be stored in PostgreSQL text; right-to-left overrides (U+202E) make text
  read differently from what it is (a classic for spoofing names and file names).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import msgspec
from litestar.params import Parameter

# Every id column is an `integer` on PostgreSQL.
MAX_ID = 2**31 - 1
# Nothing the street records happened before this, and no date it plans lies beyond
# a few years: anything outside is a typo or a broken clock, never a fact.
EARLIEST_DAY = date(2000, 1, 1)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
PLAN_YEARS = 3

_ASCII_INT = re.compile(r"-?[0-9]{1,18}")

# Ids in JSON bodies (msgspec) and in URL paths (Litestar): out of range is a 400, not a
# driver error. `photo_count` and friends use their own bounds.
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
PathId = Annotated[int, Parameter(ge=1, le=MAX_ID)]


def ascii_int(value: Any, low: int | None = None, high: int | None = None) -> int | None:
    """A whole number written in ASCII digits (an optional leading minus), within bounds; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not _ASCII_INT.fullmatch(text):
            return None
        number = int(text)
    if (low is not None and number < low) or (high is not None and number > high):
        return None
    return number


def parse_id(value: Any) -> int | None:
    """A database id (1 .. 2^31 - 1) from a form field or query parameter; None otherwise."""
    return ascii_int(value, 1, MAX_ID)


def latest_plan_day(today: date | None = None) -> date:
    return (today or date.today()) + timedelta(days=366 * PLAN_YEARS)


def parse_day(value: Any, *, earliest: date = EARLIEST_DAY, latest: date | None = None) -> date | None:
    """A YYYY-MM-DD date between `earliest` and `latest` (default: a few years from today); else None."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
    if day < earliest or day > (latest or latest_plan_day()):
        return None
    return day


def parse_month(value: Any) -> str:
    """A month "YYYY-MM" from 2000 to a few years ahead, or "" (a filter then shows every month)."""
    text = str(value or "").strip()
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text):
        return ""
    return text if EARLIEST_DAY.strftime("%Y-%m") <= text <= latest_plan_day().strftime("%Y-%m") else ""


def parse_client_time(value: Any, now: datetime, ahead: timedelta) -> datetime | None:
    """An ISO 8601 time with a UTC offset, in UTC, from 2000 up to `ahead` past `now`; else None.

    Phones may be offline for days, never for decades, and never record the future.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        # Comparing first: converting year 0001 with a positive offset to UTC overflows.
        if parsed < EARLIEST_TIME or parsed > now + ahead:
            return None
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


# Invisible characters that change how text reads: bidirectional embeddings, overrides and
# isolates (U+202A..U+202E, U+2066..U+2069). Letters of right-to-left scripts stay.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# C0 and C1 control characters, NUL first, except tab, newline and carriage return.
_CONTROLS = dict.fromkeys(c for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A, 0x0D))
_STRIP = {**_BIDI_CONTROLS, **_CONTROLS}


def clean_text(value: str) -> str:
    """The text without NUL, other control characters and bidirectional overrides."""
    if value.isprintable() and value.isascii():
        return value  # the common case, quickly
    return value.translate(_STRIP)


MAX_DEPTH = 32  # no record of ours nests deeper than four


def clean_tree(value: Any, depth: int = 0) -> Any:
    """clean_text() applied to every string (keys too) of a JSON-like value; ValueError past MAX_DEPTH."""
    if isinstance(value, str):
        return clean_text(value)
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        raise ValueError("nested too deep")
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_tree(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v, depth + 1) for v in value]
    return value


def has_control_characters(text: str) -> bool:
    """True for any control character, tab and line breaks included (never in a URL we make)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def has_unstorable_characters(text: str) -> bool:
    """True for what clean_text() strips as controls: NUL and the rest, but not tab or line breaks."""
    return any(ord(ch) in _CONTROLS for ch in text)


def clean_pending_text(session, _flush_context, _instances) -> None:
    """SQLAlchemy `before_flush`: every text and JSON value an ORM row is about to write, cleaned.

    The net under every form and API: whichever handler reads a field, no NUL (which
    PostgreSQL refuses with an error) and no direction override reaches a table.
    """
    import sqlalchemy as sa

    for obj in (*session.new, *session.dirty):
        mapper = sa.inspect(obj).mapper
        for column in mapper.columns:
            key = mapper.get_property_by_column(column).key
            value = obj.__dict__.get(key)
            if isinstance(value, str):
                cleaned = clean_text(value)
            elif isinstance(value, (dict, list)) and isinstance(column.type, sa.JSON):
                try:
                    cleaned = clean_tree(value)
                except ValueError:
                    continue
            else:
                continue
            if cleaned != value:
                setattr(obj, key, cleaned)
