"""Time in one place: UTC inside, Asia/Shanghai for what people read.

``shift`` moves this process's clock forward. It exists for the fault drills, which must let hours of an
outage (and the 72-hour retry window) pass in seconds; nothing in the portal calls it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
_skew = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _skew


def shift(seconds: float) -> None:
    """Moves the clock forward (drills only); ``reset_shift`` puts it back."""
    global _skew
    _skew += timedelta(seconds=seconds)


def reset_shift() -> None:
    global _skew
    _skew = timedelta(0)


def today_in_china() -> date:
    return utcnow().astimezone(CHINA).date()


def iso_china(value: datetime) -> str:
    return value.astimezone(CHINA).isoformat(timespec="seconds")


def parse_yyyymmdd(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()
