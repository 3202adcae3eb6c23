"""Working days: the State Council's schedule via chinese_calendar, the operator's file for later years.

The 2026 dates below are those chinesecalendar 1.11.0 records from the State Council's notice on the 2026
holidays (国务院办公厅关于2026年部分节假日安排的通知):
- 中秋节 25–27 September off;
- 国庆节 1–7 October off, with Sunday 20 September and Saturday 10 October worked;
- 春节 15–23 February off, with Saturdays 14 and 28 February worked.
The 2027 dates in the temporary files are test fixtures, not a real schedule.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bff.lib.workdays import WorkingCalendar, load_holiday_file
from bff.settings import CalendarSettings

SHIPPED = Path(__file__).resolve().parents[2] / "bff" / "data" / "holidays.json"


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def warnings_about(caplog: pytest.LogCaptureFixture, year: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bff.workdays" and r.levelno == logging.WARNING
            and str(year) in r.getMessage()]


# -- what the library records for 2026 (guards the facts the due dates below depend on) --------------------------


def test_the_2026_national_day_schedule_is_the_one_the_tests_assume() -> None:
    assert {d("2026-09-25"), d("2026-09-26"), d("2026-09-27")} <= set(chinese_calendar.get_holidays(
        d("2026-09-25"), d("2026-09-27"), include_weekends=True))
    off = chinese_calendar.get_holidays(d("2026-10-01"), d("2026-10-07"), include_weekends=True)
    assert off == [d("2026-10-01") + timedelta(days=i) for i in range(7)]
    assert chinese_calendar.is_workday(d("2026-09-20"))  # Sunday
    assert chinese_calendar.is_workday(d("2026-10-10"))  # Saturday


# -- National Day 2026 -------------------------------------------------------------------------------------------


def test_national_day_week_is_off(cal: WorkingCalendar) -> None:
    for offset in range(7):
        assert not cal.is_working_day(d("2026-10-01") + timedelta(days=offset))
    assert cal.is_working_day(d("2026-09-30"))
    assert cal.is_working_day(d("2026-10-08"))


def test_mid_autumn_friday_is_off(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(d("2026-09-25"))


def test_transfer_letter_due_across_national_day(cal: WorkingCalendar) -> None:
    # accepted Tuesday 29 Sep: 30 Sep (1), 8 Oct (2), 9 Oct (3)
    assert cal.add_working_days(d("2026-09-29"), 3) == d("2026-10-09")
    # accepted Wednesday 30 Sep: 8 Oct (1), 9 Oct (2), Saturday 10 Oct, a make-up working day (3)
    assert cal.add_working_days(d("2026-09-30"), 3) == d("2026-10-10")


def test_archive_sent_within_ten_working_days_of_the_letter(cal: WorkingCalendar) -> None:
    # letter on 9 Oct: Sat 10 (1), 12–16 (2–6), 19–22 (7–10)
    assert cal.add_working_days(d("2026-10-09"), 10) == d("2026-10-22")


def test_working_days_between_across_national_day(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(d("2026-09-30"), d("2026-10-10")) == 3
    assert cal.working_days_between(d("2026-09-30"), d("2026-10-07")) == 0
    assert cal.working_days_between(d("2026-09-18"), d("2026-09-30")) == 8  # Sun 20, 21–24, 28–30; Fri 25 off


# -- 调休 weekends, Spring Festival, ordinary weekends -------------------------------------------------------------


def test_make_up_weekend_days_are_working_days(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(d("2026-10-10"))  # Saturday
    assert cal.is_working_day(d("2026-09-20"))  # Sunday
    assert cal.is_working_day(d("2026-02-14"))  # Saturday
    assert cal.is_working_day(d("2026-02-28"))  # Saturday


def test_spring_festival_2026(cal: WorkingCalendar) -> None:
    for offset in range(9):
        assert not cal.is_working_day(d("2026-02-15") + timedelta(days=offset))
    # accepted Friday 13 Feb: Saturday 14 (1), Tuesday 24 (2), Wednesday 25 (3)
    assert cal.add_working_days(d("2026-02-13"), 3) == d("2026-02-25")
    assert cal.working_days_between(d("2026-02-13"), d("2026-02-25")) == 3


def test_ordinary_weekend_is_skipped(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(d("2026-03-07"))
    assert not cal.is_working_day(d("2026-03-08"))
    assert cal.add_working_days(d("2026-03-06"), 1) == d("2026-03-09")  # Friday -> Monday
    assert cal.add_working_days(d("2026-03-07"), 1) == d("2026-03-09")  # from a Saturday
    assert cal.add_working_days(d("2026-03-06"), 5) == d("2026-03-13")


def test_zero_days_is_the_start_itself(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(d("2026-10-03"), 0) == d("2026-10-03")
    assert cal.add_working_days(d("2026-03-09"), 0) == d("2026-03-09")


def test_negative_days_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(d("2026-03-09"), -1)


def test_between_is_zero_when_b_is_not_after_a(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(d("2026-03-09"), d("2026-03-09")) == 0
    assert cal.working_days_between(d("2026-03-10"), d("2026-03-09")) == 0
    assert cal.working_days_between(d("2026-03-09"), d("2026-03-10")) == 1


@given(start=st.dates(min_value=d("2024-01-01"), max_value=d("2026-11-30")), n=st.integers(0, 40))
def test_adding_and_counting_agree(start: date, n: int) -> None:
    cal = WorkingCalendar()
    due = cal.add_working_days(start, n)
    assert cal.working_days_between(start, due) == n
    if n:
        assert cal.is_working_day(due)
        assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1


# -- years chinese_calendar does not know -----------------------------------------------------------------------


def test_unknown_year_uses_the_file_and_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(d("2027-01-04"))
    path = write(tmp_path, {"2027": {"holidays": ["2027-01-01", "2027-02-08"], "workdays": ["2027-02-06"]},
                            "source": "test fixture"})
    cal = WorkingCalendar(path)
    caplog.set_level(logging.WARNING, logger="bff.workdays")
    assert not cal.is_working_day(d("2027-01-01"))  # Friday, a day off in the file
    assert cal.is_working_day(d("2027-02-06"))  # Saturday, worked in the file
    assert not cal.is_working_day(d("2027-02-08"))  # Monday off
    assert not cal.is_working_day(d("2027-01-02"))  # ordinary Saturday
    assert cal.is_working_day(d("2027-01-04"))  # ordinary Monday
    # Friday 5 Feb: Saturday 6 (1), Tuesday 9 (2), Wednesday 10 (3)
    assert cal.add_working_days(d("2027-02-05"), 3) == d("2027-02-10")
    # across the year end: 31 Dec 2026 is known to the library, 1 Jan 2027 comes from the file
    assert cal.add_working_days(d("2026-12-31"), 1) == d("2027-01-04")
    warned = warnings_about(caplog, 2027)
    assert len(warned) == 1
    assert "using the holiday file" in warned[0].getMessage()


def test_a_year_in_neither_counts_weekdays_and_warns_once(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, {"2027": {"holidays": ["2027-01-01"], "workdays": []}})
    cal = WorkingCalendar(path)
    caplog.set_level(logging.WARNING, logger="bff.workdays")
    assert cal.is_working_day(d("2028-01-03"))  # Monday (1 January 2028 is a Saturday)
    assert not cal.is_working_day(d("2028-01-01"))
    assert cal.add_working_days(d("2028-09-29"), 3) == d("2028-10-04")  # weekdays only: no National Day known
    assert cal.working_days_between(d("2028-01-01"), d("2028-01-31")) == 21
    warned = warnings_about(caplog, 2028)
    assert len(warned) == 1
    assert "does not cover" in warned[0].getMessage()
    assert not warnings_about(caplog, 2027)


def test_without_a_file_unknown_years_count_weekdays(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkingCalendar()
    caplog.set_level(logging.WARNING, logger="bff.workdays")
    assert cal.is_working_day(d("2027-01-01"))
    assert cal.is_working_day(d("2027-01-04"))
    assert len(warnings_about(caplog, 2027)) == 1


def test_a_missing_file_is_a_warning_not_a_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bff.workdays")
    cal = WorkingCalendar(tmp_path / "absent.json")
    assert any("does not exist" in r.getMessage() for r in caplog.records)
    assert cal.is_working_day(d("2027-01-04"))


def test_the_library_wins_for_years_it_knows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bff.workdays")
    path = write(tmp_path, {"2026": {"holidays": ["2026-03-09"], "workdays": ["2026-10-03"]}})
    cal = WorkingCalendar(path)
    assert cal.is_working_day(d("2026-03-09"))
    assert not cal.is_working_day(d("2026-10-03"))
    assert any("already knows" in r.getMessage() for r in warnings_about(caplog, 2026))


@pytest.mark.parametrize("content", [
    [],
    {"2027": ["2027-01-01"]},
    {"2027": {"holidays": ["2027-1-1"]}},
    {"2027": {"holidays": ["2028-01-01"]}},
    {"2027": {"holidays": "2027-01-01"}},
    {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}},
    {"2027": {"holiday": ["2027-01-01"]}},
])
def test_a_malformed_file_is_refused(tmp_path: Path, content: object) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(write(tmp_path, content))


def test_invalid_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        load_holiday_file(path)


# -- the shipped file and the setting ---------------------------------------------------------------------------


def test_the_shipped_file_loads_and_duplicates_nothing_the_library_knows() -> None:
    raw = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert raw["source"]
    years = load_holiday_file(SHIPPED)
    for year, schedule in years.items():
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(date(year, 1, 1))
        for day in schedule.holidays | schedule.workdays:
            assert day.year == year


def test_calendar_settings_default_to_the_shipped_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOLIDAYS_FILE", raising=False)
    assert CalendarSettings.from_env().holidays_file == SHIPPED
    monkeypatch.setenv("HOLIDAYS_FILE", str(tmp_path / "mine.json"))
    assert CalendarSettings.from_env().holidays_file == tmp_path / "mine.json"
