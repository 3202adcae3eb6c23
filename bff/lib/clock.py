"""Time in one place: UTC inside, Asia/Shanghai for what people read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def iso_china(value: datetime) -> str:
    return value.astimezone(CHINA).isoformat(timespec="seconds")


def parse_yyyymmdd(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()
