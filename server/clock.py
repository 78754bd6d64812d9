"""The street's clock: UTC in the database, China time for months, deadlines and what people read.

China has one time zone and no daylight saving. Everything stored is an aware UTC
datetime; SQLite hands naive ones back, so `aware()` mends them on the way out.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def china_date(value: datetime) -> date:
    return aware(value).astimezone(CHINA).date()


def month_of(value: datetime) -> str:
    return aware(value).astimezone(CHINA).strftime("%Y-%m")


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def recent_months(n: int = 12, today: date | None = None) -> list[str]:
    """The last n months as "YYYY-MM", newest first, ending with this one (China time)."""
    today = today or today_in_china()
    year, month = today.year, today.month
    months = []
    for _ in range(n):
        months.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months
