"""What the API, the sandbox helpers and the console share: building answers and moving applications."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from sandbox.common import now_china
from sandbox.provincial.errors import ApiError
from sandbox.provincial.schemas import (
    CERTIFICATE_KINDS,
    KIND_NAMES,
    RELATION_NAMES,
    REVIEW_PURPOSE_NAMES,
    STATUS_NAMES,
    ActionIn,
    Actor,
    Applicant,
    ApplicationDetail,
    ApplicationState,
    Archive,
    CertificateResult,
    Dispatch,
    Holder,
    Reminder,
    ReminderStep,
    SandboxApplication,
    SandboxFile,
    StatusChange,
    StoredFile,
    TransferOut,
    WindowTransferIn,
    status_name,
)
from sandbox.provincial.store import (
    ACTIONS,
    Action,
    Change,
    FileRecord,
    NotFoundError,
    Record,
    Store,
    TooEarlyError,
    TransitionError,
    acting_agency,
    steps_for,
)
from sandbox.provincial.validation import (
    REASON_NAMES,
    check_dispatch,
    check_letter_no,
    check_occurred_at,
    check_reason,
    check_window_transfer,
    transfer_flow,
)
from sandbox.provincial.workdays import add_workdays, china_date, workdays_between
from sandbox.seed import (
    ARCHIVE_STATUS_NAMES,
    NATURE_NAMES,
    Agency,
    Person,
    agency_by_code,
    archive_record,
    person_by_id,
)

log = logging.getLogger("sandbox.provincial")

# what each step is called, for messages and the console
ACTION_NAMES: Final = {
    "accept": "受理",
    "complete": "办结",
    "refuse": "不予办理",
    "issue_letter": "出具调档函",
    "cannot_receive": "答复无法接收",
    "send": "转出档案",
    "cannot_send": "答复无法转出",
    "receive": "确认已收到档案",
    "return": "退档",
    "confirm_return": "退档确认",
    "withdraw": "撤回",
    "revoke": "撤销证明",
}
_TRANSFER_ACTION_NAMES: Final = {**ACTION_NAMES, "complete": "入库办结"}

# the normal path, one step at a time (auto-advance): kind -> status -> action
NORMAL_PATH: Final[dict[str, dict[str, Action]]] = {
    **{kind: {"submitted": "accept", "accepted": "complete"} for kind in CERTIFICATE_KINDS},
    "archive_transfer": {
        "submitted": "accept",
        "accepted": "issue_letter",
        "letter_issued": "send",
        "sent": "receive",
        "received": "complete",
    },
}


@dataclass(frozen=True, slots=True)
class TimeLimit:
    step: ReminderStep
    actor: Actor
    workdays: int
    task: str  # what must be done in time
    since: str  # after what


# (kind, status) -> the time limit running in that status (000 三(四); 附件4 辅助接口3)
TIME_LIMITS: Final[dict[tuple[str, str], TimeLimit]] = {
    ("archive_transfer", "accepted"): TimeLimit("letter", "receiving_agency", 3, "出具调档函或答复无法接收", "受理"),
    ("archive_transfer", "letter_issued"): TimeLimit(
        "dispatch", "current_agency", 10, "转出档案或答复无法转出", "调档函发出"
    ),
    ("archive_transfer", "received"): TimeLimit("filing", "receiving_agency", 5, "将档案入库或退档", "收到档案"),
    **{(kind, "accepted"): TimeLimit("result", "current_agency", 3, "办结或答复不予办理", "受理")
       for kind in CERTIFICATE_KINDS},
}


def action_name(kind: str, action: str) -> str:
    names = _TRANSFER_ACTION_NAMES if kind == "archive_transfer" else ACTION_NAMES
    return names.get(action, action)


def agency_of(code: str) -> Agency:
    agency = agency_by_code(code)
    if agency is None:  # the seed is broken; never happens with the shipped data
        raise ApiError(500, "internal_error", "机构目录中缺少该机构")
    return agency


def archive_of(person: Person) -> Archive | None:
    record = person.archive
    if record is None:
        return None
    return Archive(
        archive_no=record.archive_no,
        name=person.name,
        id_type=person.id_type,
        id_number=person.id_number,
        nature=record.nature,
        nature_name=NATURE_NAMES[record.nature],
        status=record.status,
        status_name=ARCHIVE_STATUS_NAMES[record.status],
        stored_since=record.stored_since,
        agency=agency_of(record.agency_code),
        unit=record.unit,
    )


def not_found() -> ApiError:
    return ApiError(404, "application_not_found", "没有找到该申请")


def change_out(change: Change) -> StatusChange:
    return StatusChange(
        seq=change.seq,
        application_id=change.application_id,
        case_no=change.case_no,
        kind=change.kind,  # type: ignore[arg-type]
        status=change.status,  # type: ignore[arg-type]
        actor=change.actor,  # type: ignore[arg-type]
        agency_code=change.agency_code,
        reason=change.reason,
        dispatch=msgspec.convert(change.dispatch, Dispatch) if change.dispatch else None,
        letter_no=change.letter_no,
        occurred_at=change.occurred_at,
    )


def state_out(record: Record) -> ApplicationState:
    """What submitting answers: the four fields of the state."""
    return ApplicationState(
        application_id=record.application_id,
        case_no=record.case_no,
        status=record.status,  # type: ignore[arg-type]
        received_at=record.received_at,
    )


def detail_out(record: Record) -> ApplicationDetail:
    """The state plus what the application is (``GET /api/applications/{id}``, withdraw)."""
    body = record.body
    transfer = record.transfer
    return ApplicationDetail(
        application_id=record.application_id,
        case_no=record.case_no,
        status=record.status,  # type: ignore[arg-type]
        received_at=record.received_at,
        kind=record.kind,  # type: ignore[arg-type]
        origin=record.origin,  # type: ignore[arg-type]
        reference_no=record.reference_no,
        applicant=msgspec.convert(body["applicant"], Applicant),
        archive_no=str(body["archive_no"]),
        agency_code=str(body["agency_code"]),
        transfer=msgspec.convert(transfer, TransferOut) if transfer else None,
    )


def file_out(record: FileRecord) -> StoredFile:
    return StoredFile(
        file_id=record.file_id,
        material=record.material,  # type: ignore[arg-type]
        sha256=record.sha256,
        size=record.size,
        content_type=record.content_type,
        received_at=record.received_at,
    )


def sandbox_file_out(record: FileRecord) -> SandboxFile:
    return SandboxFile(**msgspec.structs.asdict(file_out(record)), put_count=record.put_count)


def _result_snapshot(record: Record) -> dict[str, Any]:
    """What the certificate states about the archive, frozen when the application is completed."""
    applicant = record.body["applicant"]
    person = person_by_id(applicant["id_type"], applicant["id_number"])
    archive = archive_of(person) if person else None
    if archive is None:
        raise ApiError(409, "invalid_transition", "申请人已没有存档信息，无法办结")
    return {
        "archive_no": archive.archive_no,
        "nature": archive.nature,
        "nature_name": archive.nature_name,
        "stored_since": archive.stored_since,
        "agency": msgspec.to_builtins(archive.agency),
        "facts": _facts(record, archive.archive_no),
    }


def _facts(record: Record, archive_no: str) -> dict[str, Any]:
    """What the kind states from the archive's content; a fact the archive does not bear out cannot be
    certified (409: the clerk answers 不予办理 instead)."""
    content = archive_record(archive_no)
    if record.kind == "archive_certificate":
        return {}
    if content is None:
        raise ApiError(409, "invalid_transition", "档案中没有可供出具该证明的记载，请答复不予办理")
    periods = [msgspec.to_builtins(p) for p in content.periods]
    if record.kind == "experience_certificate":
        return {"periods": periods}
    if record.kind == "kinship_certificate":
        wanted = record.body.get("relative") or {}
        if not any(r.relation == wanted.get("relation") and r.name == wanted.get("name") for r in content.family):
            raise ApiError(409, "invalid_transition", "档案中没有该亲属关系的记载，无法出具，请答复不予办理")
        return {"relation": wanted["relation"], "relation_name": RELATION_NAMES[wanted["relation"]],
                "relative_name": wanted["name"]}
    if record.kind == "no_criminal_record":
        if content.criminal_record:
            raise ApiError(409, "invalid_transition",
                           "档案中有受到刑事处罚的记载，不能出具无犯罪记录证明，请答复不予办理")
        return {"criminal_record": False}
    review = record.body.get("review") or {}
    return {
        "review_unit": review.get("unit"), "purpose": review.get("purpose"),
        "purpose_name": REVIEW_PURPOSE_NAMES.get(review.get("purpose", ""), ""),
        "political_status": content.political_status, "education": content.education, "periods": periods,
        "rewards_and_punishments": content.rewards_and_punishments,
    }


def _invalid_transition(record: Record, action: str) -> ApiError:
    current = status_name(record.kind, record.status)
    if action not in steps_for(record.kind):
        kind = KIND_NAMES.get(record.kind, record.kind)
        message = f"{kind}没有「{action_name(record.kind, action)}」这一步（申请当前为「{current}」）"
    else:
        message = f"申请当前为「{current}」，不能{action_name(record.kind, action)}"
    return ApiError(409, "invalid_transition", message)


def act(
    store: Store,
    application_id: str,
    action: str,
    reason: str | None = None,
    *,
    method: str | None = None,
    tracking_no: str | None = None,
    letter_no: str | None = None,
    occurred_at: str | None = None,
) -> Record:
    """One step of an application, in the enforced order (409 naming the current status otherwise), with the
    record the step carries checked like the real system (422 naming the field). 404 first, then 409, then 422."""
    if action not in ACTIONS:
        raise ApiError(404, "not_found", f"没有「{action}」这个操作")
    current = store.get(application_id)
    if current is None:
        raise not_found()
    step = steps_for(current.kind).get(action)
    if step is None or current.status not in step.allowed_from:
        raise _invalid_transition(current, action)
    kept_reason = check_reason(action, reason) if action in REASON_NAMES else None
    dispatch = check_dispatch(method, tracking_no) if action == "send" else None
    number = check_letter_no(letter_no) if action == "issue_letter" else None
    occurred = check_occurred_at(occurred_at)
    # only a certificate has a result document; a transfer is simply 办结 (filed)
    result = _result_snapshot(current) if action == "complete" and current.kind in CERTIFICATE_KINDS else None
    step_action: Action = action  # type: ignore[assignment]
    try:
        return store.transition(
            application_id, step_action, kept_reason, result, letter_no=number, dispatch=dispatch, occurred=occurred
        )
    except NotFoundError as exc:
        raise not_found() from exc
    except TransitionError as exc:  # someone else moved it meanwhile
        moved = store.get(application_id) or current
        raise _invalid_transition(moved, action) from exc
    except TooEarlyError as exc:
        raise ApiError(
            422,
            "validation_error",
            f"发生时间不能早于上一步（{exc.previous[:19].replace('T', ' ')}）",
            "occurred_at",
        ) from exc


def act_with(store: Store, application_id: str, action: str, data: ActionIn) -> Record:
    return act(
        store,
        application_id,
        action,
        data.reason,
        method=data.method,
        tracking_no=data.tracking_no,
        letter_no=data.letter_no,
        occurred_at=data.occurred_at,
    )


def withdraw(store: Store, application_id: str) -> Record:
    """The person withdraws: from ``submitted`` only; withdrawing again answers the same."""
    record = store.get(application_id)
    if record is None:
        raise not_found()
    if record.status == "withdrawn":
        return record
    return act(store, application_id, "withdraw")


# --- transfers taken at the receiving agency's window ------------------------------------------------------

_REFERENCE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def create_window_transfer(store: Store, data: WindowTransferIn) -> Record:
    """The receiving agency takes a transfer at its window: stored ``accepted``, origin ``window``."""
    person, archive, current, target = check_window_transfer(data)
    occurred = check_occurred_at(data.occurred_at)
    moment = occurred or now_china()
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    unit = msgspec.to_builtins(data.unit) if data.target_nature == "1" and data.unit is not None else None
    body: dict[str, Any] = {
        "application_id": str(uuid.uuid4()),
        "reference_no": f"CK{moment:%Y%m%d}{suffix}",
        "kind": "archive_transfer",
        "applicant": {
            "name": person.name,
            "id_type": person.id_type,
            "id_number": person.id_number,
            "phone": (data.phone or "").strip() or person.phone,
        },
        "archive_no": archive.archive_no,
        "agency_code": archive.agency_code,
        "submitted_at": moment.isoformat(),
        "transfer": {
            "target_agency_code": target.code,
            "target_nature": data.target_nature,
            "unit": unit,
            "initiated_by": "window",
            "flow": transfer_flow(current.region_code, target.region_code),
        },
    }
    record = store.create_window(body, target.region_code, occurred)
    log.info("window transfer %s case_no=%s at %s", record.application_id, record.case_no, target.code)
    return record


# --- auto-advance (demo mode) --------------------------------------------------------------------------------


def advance_one(store: Store, record: Record) -> Record | None:
    """Move an open application one step along the normal path (None when it is not on that path)."""
    action = NORMAL_PATH.get(record.kind, {}).get(record.status)
    if action is None:
        return None
    extra: dict[str, str] = {}
    if action == "send":
        extra = {"method": "courier", "tracking_no": f"SF{secrets.randbelow(10**12):012d}"}
    return act(store, record.application_id, action, **extra)


def advance_all(store: Store) -> int:
    """One auto-advance tick: each open application moves one step; how many moved."""
    moved = 0
    for record in store.open_applications():
        try:
            if advance_one(store, record) is not None:
                moved += 1
        except ApiError as exc:  # e.g. a clerk moved it meanwhile; the next tick tries again
            log.info("auto-advance skipped %s: %s", record.application_id, exc.message)
    return moved


# --- reminders (业务未办理提醒) --------------------------------------------------------------------------------


def _date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class RunningLimit:
    limit: TimeLimit
    agency_code: str
    started_on: dt.date
    due_on: dt.date


def running_limit(record: Record) -> RunningLimit | None:
    """The time limit running in the application's current status: due on the N-th working day after the day
    the step started (that day not counted)."""
    limit = TIME_LIMITS.get((record.kind, record.status))
    if limit is None:
        return None
    started = china_date(record.status_since or record.updated_at)
    agency_code = acting_agency(record.body, limit.actor) or ""
    return RunningLimit(limit, agency_code, started, add_workdays(started, limit.workdays))


def _agency_name(code: str) -> str:
    agency = agency_by_code(code)
    return agency.name if agency else code


def limit_text(running: RunningLimit) -> str:
    limit = running.limit
    return (
        f"{_agency_name(running.agency_code)}应于{_date_text(running.due_on)}前{limit.task}"
        f"（{limit.since}后 {limit.workdays} 个工作日内）"
    )


def reminder_for(record: Record, today: dt.date) -> Reminder | None:
    """The step now running past its time limit, or None. Overdue from the day after ``due_on``;
    ``overdue_days`` counts the working days after ``due_on`` up to today, at least 1."""
    running = running_limit(record)
    if running is None or today <= running.due_on:
        return None
    late = max(1, workdays_between(running.due_on, today))
    step: ReminderStep = running.limit.step
    return Reminder(
        application_id=record.application_id,
        case_no=record.case_no,
        kind=record.kind,  # type: ignore[arg-type]
        step=step,
        agency_code=running.agency_code,
        started_on=f"{running.started_on:%Y%m%d}",
        due_on=f"{running.due_on:%Y%m%d}",
        overdue_days=late,
        message=f"{limit_text(running)}，已超期 {late} 个工作日",
    )


def reminders(store: Store, today: dt.date) -> list[Reminder]:
    """Every step past its time limit now, oldest application first."""
    found = (reminder_for(r, today) for r in store.open_applications())
    return [r for r in found if r is not None]


def certificate_result(record: Record) -> CertificateResult:
    if record.kind not in CERTIFICATE_KINDS:
        raise ApiError(409, "no_result", "档案转递没有证明结果，办结即表示档案已入库")
    if record.status != "completed" or record.result is None or not record.certificate_no:
        current = STATUS_NAMES.get(record.status, record.status)
        raise ApiError(409, "not_ready", f"申请尚未办结（当前为「{current}」），还没有证明结果")
    applicant = record.body["applicant"]
    snapshot = record.result
    return CertificateResult(
        application_id=record.application_id,
        kind=record.kind,
        certificate_no=record.certificate_no,
        issued_on=record.issued_on or "",
        holder=Holder(name=applicant["name"], id_type=applicant["id_type"], id_number=applicant["id_number"]),
        archive_no=snapshot["archive_no"],
        nature=snapshot["nature"],
        nature_name=snapshot["nature_name"],
        stored_since=snapshot["stored_since"],
        agency=msgspec.convert(snapshot["agency"], Agency),
        facts=snapshot.get("facts") or {},
    )


def sandbox_view(store: Store, record: Record) -> SandboxApplication:
    return SandboxApplication(
        application_id=record.application_id,
        case_no=record.case_no,
        reference_no=record.reference_no,
        kind=record.kind,
        origin=record.origin,  # type: ignore[arg-type]
        status=record.status,  # type: ignore[arg-type]
        status_name=status_name(record.kind, record.status),
        reason=record.reason,
        received_at=record.received_at,
        updated_at=record.updated_at,
        status_since=record.status_since,
        submit_count=record.submit_count,
        certificate_no=record.certificate_no,
        issued_on=record.issued_on,
        application=record.body,
        history=[change_out(c) for c in store.history(record.application_id)],
        files=[sandbox_file_out(f) for f in store.files(record.application_id)],
    )
