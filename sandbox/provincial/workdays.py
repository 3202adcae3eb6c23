"""Working days by the State Council's holiday schedule (with 调休), for time limits such as 业务未办理提醒.

``chinese_calendar`` (PyPI ``chinesecalendar``) knows each year's official schedule once it is published; for a
year it does not know yet it raises ``NotImplementedError`` and we fall back to Monday–Friday.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from sandbox.common import CHINA_TZ


def is_workday(day: dt.date) -> bool:
    """A working day: holidays are off, make-up weekend days (调休) are on; Monday–Friday for unknown years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            remaining -= 1
    return day


def workdays_between(after: dt.date, until: dt.date) -> int:
    """How many working days fall in (``after``, ``until``]: after the first date, up to and including the second."""
    count = 0
    day = after + dt.timedelta(days=1)
    while day <= until:
        if is_workday(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


def today_china() -> dt.date:
    """Today's date in China (Asia/Shanghai, UTC+8)."""
    return dt.datetime.now(CHINA_TZ).date()


def china_date(instant: str) -> dt.date:
    """The China date of an ISO 8601 instant (one without an offset is taken as China time)."""
    moment = dt.datetime.fromisoformat(instant)
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(CHINA_TZ).date()
