"""The step a transfer waits for and its working-day due date, on a fixed clock (SPEC §3)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from bff.db.models import Application, StatusEvent
from bff.domain.applications import progress
from bff.lib.clock import CHINA
from bff.lib.workdays import WorkingCalendar

CALENDAR = WorkingCalendar()


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


def transfer(*steps: tuple[str, date], **extra: object) -> Application:
    app = Application(
        id=uuid.uuid4(), reference_no="SQ20260930TEST0001", owner_sub="s", idempotency_key="k" * 16,
        request_hash="h", kind="archive_transfer", status=steps[-1][0], holder_key="x", initiated_by="person",
        agency_code="52010001", agency_name="贵阳市人才服务中心", archive_no="52010000000912",
        details={"transfer": {"target_agency_code": "33010001", "target_agency_name": "杭州市人才服务中心",
                              "target_nature": "2", "unit": None, "flow": "3"}},
        forwarded_at=_at(steps[0][1]), created_at=_at(steps[0][1]), updated_at=_at(steps[-1][1]),
    )
    app.events = [StatusEvent(application_id=app.id, status=s, note=None, source="provincial", occurred_at=_at(d),
                              **extra) for s, d in steps]
    return app


def test_letter_due_across_national_day_counts_the_make_up_saturday() -> None:
    # accepted on Wed 30 Sep 2026; 1-7 Oct are the National Day holiday; Sat 10 Oct is a 调休 working day
    app = transfer(("submitted", date(2026, 9, 29)), ("accepted", date(2026, 9, 30)))
    step = progress.next_step(app, CALENDAR, today=date(2026, 10, 9))
    assert step is not None
    assert (step.label, step.actor_name) == ("拟接收机构出具调档函", "杭州市人才服务中心")
    assert step.due_on == "2026-10-10"
    assert step.overdue is False
    late = progress.next_step(app, CALENDAR, today=date(2026, 10, 12))
    assert late is not None and late.overdue is True


def test_sending_gets_ten_working_days_and_filing_five() -> None:
    letter = transfer(("submitted", date(2026, 9, 21)), ("accepted", date(2026, 9, 22)),
                      ("letter_issued", date(2026, 9, 23)))
    step = progress.next_step(letter, CALENDAR, today=date(2026, 9, 23))
    assert step is not None and step.actor_name == "贵阳市人才服务中心"
    # 24 Sep, 28-30 Sep (25 Sep is 中秋节), 8, 9, 10 (Sat, 调休), 12, 13, 14 Oct
    assert step.due_on == "2026-10-14"
    received = transfer(("submitted", date(2026, 11, 2)), ("received", date(2026, 11, 20)))
    filing = progress.next_step(received, CALENDAR, today=date(2026, 11, 20))
    assert filing is not None and filing.due_on == "2026-11-27"


def test_no_due_date_while_the_archive_is_in_the_post_and_none_once_ended() -> None:
    sent = transfer(("submitted", date(2026, 11, 2)), ("sent", date(2026, 11, 3)))
    step = progress.next_step(sent, CALENDAR, today=date(2026, 12, 31))
    assert step is not None and step.due_on is None and step.overdue is False
    done = transfer(("submitted", date(2026, 11, 2)), ("completed", date(2026, 11, 3)))
    assert progress.next_step(done, CALENDAR, today=date(2026, 11, 3)) is None
    assert progress.upcoming(done) == []


def test_upcoming_lists_the_rest_of_the_normal_path() -> None:
    app = transfer(("submitted", date(2026, 11, 2)), ("accepted", date(2026, 11, 3)))
    assert progress.upcoming(app) == ["档案已转出", "档案已收到", "申请已办结"]


@pytest.mark.parametrize(("status", "title"), [
    ("cannot_receive", "档案无法接收"), ("cannot_send", "档案无法转出"), ("returned", "档案已退档"),
    ("withdrawn", "已撤回"),
])
def test_an_exception_says_why_and_what_to_do(status: str, title: str) -> None:
    app = transfer(("submitted", date(2026, 11, 2)), (status, date(2026, 11, 3)))
    app.events[-1].note = "材料不全" if status != "withdrawn" else None
    found = progress.outcome(app, {"current_phone": "0851-1234567", "receiving_phone": "0571-7654321"})
    assert found is not None and found.title == title
    assert found.advice and "重新申请" in found.advice
    if status != "withdrawn":
        assert found.reason == "材料不全"


def test_dispatch_lines_name_the_method_and_number() -> None:
    app = transfer(("submitted", date(2026, 11, 2)), ("sent", date(2026, 11, 3)),
                   actor="current_agency",
                   extra={"dispatch": {"method": "confidential", "method_name": "机要通信",
                                       "tracking_no": "JY20261103001"}})
    last = progress.timeline(app)[-1]
    assert last.label == "档案已转出"
    assert last.actor_name == "贵阳市人才服务中心"
    assert last.lines == ["转递方式：机要通信", "机要编号：JY20261103001"]


def test_days_are_counted_in_china_time() -> None:
    # 23:30 on 30 Sep in China is still 30 Sep, though it is already 1 Oct in no time zone west of UTC+8
    app = transfer(("submitted", date(2026, 9, 29)), ("accepted", date(2026, 9, 30)))
    app.events[-1].occurred_at = _at(date(2026, 9, 30), 23) + timedelta(minutes=30)
    step = progress.next_step(app, CALENDAR, today=date(2026, 10, 1))
    assert step is not None and step.due_on == "2026-10-10"


def test_a_withdrawal_recorded_by_both_sides_is_one_line() -> None:
    # the person's withdrawal and the provincial feed's can both land when they race
    app = transfer(("submitted", date(2026, 11, 2)), ("withdrawn", date(2026, 11, 3)), ("withdrawn", date(2026, 11, 3)))
    labels = [entry.label for entry in progress.timeline(app)]
    assert labels == ["已提交", "已撤回"]


@pytest.mark.parametrize("kind", ["experience_certificate", "kinship_certificate", "no_criminal_record",
                                  "political_review"])
def test_every_certificate_kind_is_due_three_working_days_after_acceptance(kind: str) -> None:
    app = transfer(("submitted", date(2026, 11, 19)), ("accepted", date(2026, 11, 20)))  # Friday
    app.kind = kind
    step = progress.next_step(app, CALENDAR, today=date(2026, 11, 26))
    assert step is not None and step.label == "存档机构出具证明"
    assert step.due_on == "2026-11-25" and step.overdue is True  # Mon, Tue, Wed
