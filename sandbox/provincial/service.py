"""What the API, the sandbox helpers and the console share: building answers and moving applications."""

from __future__ import annotations

from typing import Any

import msgspec

from sandbox.provincial.errors import ApiError
from sandbox.provincial.schemas import (
    STATUS_NAMES,
    Archive,
    CertificateResult,
    Holder,
    SandboxApplication,
    SandboxFile,
    StatusChange,
    StoredFile,
)
from sandbox.provincial.store import Action, Change, FileRecord, NotFoundError, Record, Store, TransitionError
from sandbox.seed import ARCHIVE_STATUS_NAMES, NATURE_NAMES, Agency, Person, agency_by_code, person_by_id

_ACTION_NAMES = {"accept": "受理", "complete": "办结", "refuse": "不予办理"}


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
        status=change.status,  # type: ignore[arg-type]
        reason=change.reason,
        occurred_at=change.occurred_at,
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
    }


def act(store: Store, application_id: str, action: Action, reason: str | None = None) -> Record:
    """Accept, complete or refuse, in the enforced order (409 with a Chinese message otherwise)."""
    if action == "refuse" and not (reason or "").strip():
        raise ApiError(422, "validation_error", "请填写不予办理原因", "reason")
    if reason is not None and len(reason) > 200:
        raise ApiError(422, "validation_error", "不予办理原因不能超过 200 个字", "reason")
    current = store.get(application_id)
    if current is None:
        raise not_found()
    # only a certificate has a result document; a transfer is simply 办结
    result = _result_snapshot(current) if action == "complete" and current.kind == "archive_certificate" else None
    try:
        return store.transition(application_id, action, reason.strip() if reason else None, result)
    except NotFoundError as exc:
        raise not_found() from exc
    except TransitionError as exc:
        raise ApiError(
            409,
            "invalid_transition",
            f"申请当前为「{STATUS_NAMES.get(exc.current, exc.current)}」，不能{_ACTION_NAMES[action]}",
        ) from exc


def certificate_result(record: Record) -> CertificateResult:
    if record.kind != "archive_certificate":
        raise ApiError(409, "no_result", "档案转递没有证明结果，办结即表示档案已入库")
    if record.status != "completed" or record.result is None or not record.certificate_no:
        raise ApiError(409, "not_ready", f"申请尚未办结（当前为「{STATUS_NAMES.get(record.status)}」），还没有证明结果")
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
    )


def sandbox_view(store: Store, record: Record) -> SandboxApplication:
    return SandboxApplication(
        application_id=record.application_id,
        case_no=record.case_no,
        reference_no=record.reference_no,
        kind=record.kind,
        status=record.status,  # type: ignore[arg-type]
        status_name=STATUS_NAMES.get(record.status, record.status),
        reason=record.reason,
        received_at=record.received_at,
        updated_at=record.updated_at,
        submit_count=record.submit_count,
        certificate_no=record.certificate_no,
        issued_on=record.issued_on,
        application=record.body,
        history=[change_out(c) for c in store.history(record.application_id)],
        files=[sandbox_file_out(f) for f in store.files(record.application_id)],
    )
