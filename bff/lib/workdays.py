"""Working days by the State Council's holiday schedule, make-up working weekends (调休) included.

Time limits for transfers and certificates count working days (SPEC §3, §4). ``chinese_calendar`` carries each
year's schedule once the State Council has published it (usually in November for the year after). For a year the
library does not know yet, the operator's holiday file fills in: a JSON object keyed by year,

    {"2027": {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}, "source": "国办发明电〔…〕…号"}

where ``holidays`` are days off and ``workdays`` are 调休 weekend days that are worked. A year known to neither
falls back to Monday to Friday, with a warning, so due dates are still shown rather than failing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar

log = logging.getLogger("bff.workdays")

_YEAR_KEY = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True)
class YearSchedule:
    """One year's days off and worked weekend days, from the operator's holiday file."""

    holidays: frozenset[date]
    workdays: frozenset[date]


def load_holiday_file(path: Path) -> dict[int, YearSchedule]:
    """Read the operator's holiday file; a malformed file raises ``ValueError`` naming what is wrong."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"holiday file {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"holiday file {path} must hold a JSON object keyed by year")
    years: dict[int, YearSchedule] = {}
    for key, entry in raw.items():
        if not _YEAR_KEY.match(key):
            continue  # "source" and other notes
        year = int(key)
        if not isinstance(entry, dict):
            raise ValueError(f"holiday file {path}: {key} must be an object with 'holidays' and 'workdays'")
        unknown = set(entry) - {"holidays", "workdays"}
        if unknown:
            raise ValueError(f"holiday file {path}: {key} has unknown keys {sorted(unknown)}")
        holidays = _dates(path, key, entry.get("holidays", []), year)
        workdays = _dates(path, key, entry.get("workdays", []), year)
        both = holidays & workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"holiday file {path}: {key} lists {listed} both as holiday and as workday")
        years[year] = YearSchedule(holidays=holidays, workdays=workdays)
    return years


def _dates(path: Path, key: str, values: Any, year: int) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"holiday file {path}: {key} lists must be arrays of YYYY-MM-DD dates")
    days: set[date] = set()
    for value in values:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(f"holiday file {path}: {key} has {value!r}, which is not a YYYY-MM-DD date")
        if day.year != year:
            raise ValueError(f"holiday file {path}: {value} is listed under {key}")
        days.add(day)
    return frozenset(days)


class WorkingCalendar:
    """Which days are working days, and due dates counted in working days."""

    def __init__(self, holiday_file: Path | None = None) -> None:
        self._file = holiday_file
        self._years: dict[int, YearSchedule] = {}
        self._library_years: dict[int, bool] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()
        if holiday_file is None:
            return
        if not holiday_file.exists():
            log.warning("holiday file %s does not exist; years chinese_calendar does not know count Monday to "
                        "Friday only", holiday_file)
            return
        self._years = load_holiday_file(holiday_file)
        for year in sorted(self._years):
            if self._library_knows(year):
                log.warning("holiday file %s lists %d, which chinese_calendar already knows; the file's dates "
                            "for %d are ignored", holiday_file, year, year)

    def is_working_day(self, d: date) -> bool:
        if self._library_knows(d.year):
            return bool(chinese_calendar.is_workday(d))
        schedule = self._fallback(d.year)
        if schedule is not None:
            if d in schedule.workdays:
                return True
            if d in schedule.holidays:
                return False
        return d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts); ``start`` when ``n`` is 0."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; 0 when ``b`` is not after ``a``."""
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def _library_knows(self, year: int) -> bool:
        known = self._library_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                known = True
            except NotImplementedError:
                known = False
            self._library_years[year] = known
        return known

    def _fallback(self, year: int) -> YearSchedule | None:
        schedule = self._years.get(year)
        covered = schedule is not None and bool(schedule.holidays or schedule.workdays)
        where = str(self._file) if self._file is not None else "(none configured)"
        with self._lock:
            if year not in self._warned:
                self._warned.add(year)
                if covered:
                    log.warning("chinese_calendar has no holiday schedule for %d; using the holiday file %s for it",
                                year, where)
                else:
                    log.warning("chinese_calendar has no holiday schedule for %d and the holiday file %s does not "
                                "cover it either; counting Monday to Friday only. Add the State Council's schedule "
                                "for %d to the holiday file (HOLIDAYS_FILE)", year, where, year)
        return schedule if covered else None
