"""Where an application stands: who acted at each step, the step now awaited with its working-day due date
(SPEC §3, §4), the provincial reminder, and, when it ended otherwise than asked, why and what to do next."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bff.db.models import Application, Reminder, StatusEvent
from bff.domain.applications.schemas import (
    CERTIFICATE_KINDS,
    KIND_STATUS_LABELS,
    STATUS_LABELS,
    NextStep,
    Outcome,
    ReminderInfo,
    TimelineEntry,
)
from bff.lib.clock import CHINA, iso_china
from bff.lib.workdays import WorkingCalendar

# the normal path of each kind, as the person sees it
PATHS: dict[str, tuple[str, ...]] = {
    "archive_transfer": ("submitted", "accepted", "letter_issued", "sent", "received", "completed"),
    **{kind: ("submitted", "accepted", "completed") for kind in CERTIFICATE_KINDS},
}
ENDED = frozenset({"completed", "certificate_issued", "refused", "cannot_receive", "cannot_send", "returned",
                   "return_confirmed", "withdrawn", "cancelled", "revoked"})
# ended as the provincial system decided (a rating is about the service given)
RATEABLE = ENDED - {"withdrawn", "cancelled"}


@dataclass(frozen=True)
class Step:
    """The step awaited after ``status``: what it is, who takes it, and its time limit in working days."""

    label: str
    actor: str
    working_days: int | None


AWAITED: dict[tuple[str, str], Step] = {
    ("archive_transfer", "accepted"): Step("拟接收机构出具调档函", "receiving_agency", 3),
    ("archive_transfer", "letter_issued"): Step("原存档机构转出档案", "current_agency", 10),
    ("archive_transfer", "sent"): Step("拟接收机构收到档案", "receiving_agency", None),
    ("archive_transfer", "received"): Step("拟接收机构办理入库", "receiving_agency", 5),
    **{(kind, "accepted"): Step("存档机构出具证明", "current_agency", 3) for kind in CERTIFICATE_KINDS},
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "cannot_receive": ("档案无法接收", "档案仍由原存档机构保管。您可以按上面的原因准备后重新申请转递，"
                                   "或先联系拟接收机构{receiving_phone}了解接收条件。"),
    "cannot_send": ("档案无法转出", "档案仍由原存档机构保管。请联系原存档机构{current_phone}了解详情，"
                                "问题解决后可以重新申请转递。"),
    "returned": ("档案已退档", "拟接收机构已把档案退回原存档机构，待原存档机构确认。您可以联系拟接收机构"
                             "{receiving_phone}了解原因，问题解决后可以重新申请转递。"),
    "return_confirmed": ("档案已退回原存档机构", "原存档机构已确认档案退回，档案由其继续保管。"
                                         "如仍需转递，可以重新申请。"),
    "refused": ("不予办理", "您可以按上面的原因补充后重新申请，或联系存档机构{current_phone}咨询。"),
    "withdrawn": ("已撤回", "申请已撤回，存档机构不会再办理。如需办理，可以重新申请。"),
    "cancelled": ("已取消", "该申请未办理。如需办理，可以重新申请。"),
    "revoked": ("证明已被撤销", "存档机构已撤销该证明，核验时将显示为已撤销。如有疑问请联系存档机构{current_phone}；"
                          "如仍需要证明，可以重新申请。"),
}

TRACKING_NAMES = {"confidential": "机要编号", "courier": "邮件号"}


def status_label(kind: str, status: str) -> str:
    return KIND_STATUS_LABELS.get((kind, status)) or STATUS_LABELS.get(status, status)


def _agencies(app: Application) -> dict[str, str | None]:
    transfer: dict[str, Any] = app.details.get("transfer") or {}
    return {"current_agency": app.agency_name, "receiving_agency": transfer.get("target_agency_name")}


def actor_name(app: Application, event: StatusEvent) -> str | None:
    if event.actor in ("current_agency", "receiving_agency"):
        return _agencies(app)[event.actor]
    if event.actor == "applicant" or event.status in ("confirmed", "letter_requested", "withdrawn"):
        return "本人"
    if event.status == "submitted":
        if app.initiated_by == "window":
            return _agencies(app)["receiving_agency"]
        transfer = app.details.get("transfer") or {}
        unit = transfer.get("unit") or {}
        if app.initiated_by == "unit":
            unit = unit or app.details.get("applied_by_unit") or {}
            return str(unit.get("name") or "单位")
        return "本人"
    if event.status == "started_by_unit":
        unit = (app.details.get("transfer") or {}).get("unit") or {}
        return str(unit.get("name") or "单位")
    if event.status in ("forwarded", "certificate_issued"):
        return "档案服务平台"
    return None


def _lines(event: StatusEvent) -> list[str]:
    extra = event.extra or {}
    lines: list[str] = []
    dispatch = extra.get("dispatch")
    if isinstance(dispatch, dict):
        lines.append(f"转递方式：{dispatch.get('method_name', '')}")
        lines.append(f"{TRACKING_NAMES.get(str(dispatch.get('method')), '运单号')}：{dispatch.get('tracking_no', '')}")
    if extra.get("letter_no"):
        lines.append(f"调档函编号：{extra['letter_no']}")
    return lines


def timeline(app: Application) -> list[TimelineEntry]:
    """One line per event; a withdrawal is one line even when the person's and the provincial feed's both landed."""
    entries: list[TimelineEntry] = []
    for e in app.events:
        if e.status == "withdrawn" and any(entry.status == "withdrawn" for entry in entries):
            continue
        entries.append(TimelineEntry(status=e.status, label=status_label(app.kind, e.status), note=e.note,
                                     at=iso_china(e.occurred_at), actor_name=actor_name(app, e), lines=_lines(e)))
    return entries


def _reached_at(app: Application) -> datetime | None:
    """When the current status was reached (the latest event of that status)."""
    for event in reversed(app.events):
        if event.status == app.status:
            return event.occurred_at
    return None


@functools.lru_cache(maxsize=4096)
def _due_on(calendar: WorkingCalendar, started: date, working_days: int) -> date:
    """Due dates repeat across requests and people (the same day reached, the same time limit): counted once."""
    return calendar.add_working_days(started, working_days)


def due(kind: str, status: str, reached_at: datetime | None, calendar: WorkingCalendar,
        today: date) -> tuple[str | None, bool]:
    """(due date, overdue) of the step awaited after ``status``, reached at ``reached_at`` (the latest event of
    that status): for ``next_step``, and for 「我的申请」 which needs no more than that."""
    step = AWAITED.get((kind, status))
    if status in ENDED or step is None or step.working_days is None or reached_at is None:
        return None, False
    on = _due_on(calendar, reached_at.astimezone(CHINA).date(), step.working_days)
    return on.isoformat(), today > on


def next_step(app: Application, calendar: WorkingCalendar, today: date) -> NextStep | None:
    if app.status in ENDED:
        return None
    if app.status == "submitted":
        if app.forwarded_at is None:
            return NextStep(label="转送至省级档案系统", actor_name="档案服务平台", due_on=None, overdue=False)
        who = "receiving_agency" if app.kind == "archive_transfer" else "current_agency"
        return NextStep(label="存档机构受理申请", actor_name=_agencies(app)[who] or "存档机构", due_on=None,
                        overdue=False)
    step = AWAITED.get((app.kind, app.status))
    if step is None:
        return None
    due_on, overdue = due(app.kind, app.status, _reached_at(app), calendar, today)
    return NextStep(label=step.label, actor_name=_agencies(app)[step.actor] or "存档机构", due_on=due_on,
                    overdue=overdue)


def upcoming(app: Application) -> list[str]:
    """The labels of the normal path's steps still to come after the one awaited now."""
    if app.status in ENDED:
        return []
    path = PATHS.get(app.kind, ())
    # before forwarding (waiting for material) everything after 已提交 is still to come
    later = path[path.index(app.status) + 2:] if app.status in path else path[1:]
    return [status_label(app.kind, s) for s in later]


def reminder_info(reminder: Reminder | None, app: Application) -> ReminderInfo | None:
    if reminder is None or app.status in ENDED:
        return None
    due = reminder.due_on
    return ReminderInfo(message=reminder.message, due_on=f"{due[:4]}-{due[4:6]}-{due[6:8]}",
                        overdue_days=reminder.overdue_days)


def outcome(app: Application, phones: dict[str, str | None]) -> Outcome | None:
    found = OUTCOMES.get(app.status)
    if found is None:
        return None
    title, advice = found
    reason = next((e.note for e in reversed(app.events) if e.status == app.status), None)
    if app.status == "return_confirmed":
        reason = next((e.note for e in reversed(app.events) if e.status == "returned"), None)
    fill = {k: f"（电话 {v}）" if v else "" for k, v in phones.items()}
    return Outcome(status=app.status, title=title, reason=reason, advice=advice.format(**fill))

