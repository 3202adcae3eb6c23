"""The unit's side: requests naming the unit (upload one letter for several, or decline with a reason), and
transfers into the unit's collective storage for new hires. A unit is known by its 统一社会信用代码 and sees
nothing that does not name it."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.sessions import Principal
from bff.db.models import Application, Document, LetterRequest, StatusEvent
from bff.domain import audit
from bff.domain.applications import services as applications
from bff.domain.applications.progress import status_label
from bff.domain.applications.schemas import KIND_NAMES, ApplicationCreate
from bff.domain.employer.schemas import NewHireTransfer, UnitApplication, UnitCertificateApplication, UnitRequest
from bff.domain.materials import services as materials
from bff.domain.materials.schemas import REQUEST_STATE_LABELS, ROLE_NAMES
from bff.domain.uploads import services as uploads
from bff.domain.uploads.schemas import MATERIAL_NAMES
from bff.lib import codes, validation
from bff.lib.clock import iso_china, utcnow
from bff.lib.errors import ApiError, FieldError, not_found
from bff.lib.files import FileStore
from bff.lib.holders import holder_key
from bff.lib.masking import mask_id_number
from bff.lib.shortcodes import ALPHABET
from bff.provincial.schemas import Agency, Archive

REQUEST_CODE = re.compile(f"[{ALPHABET}]{{8}}")  # materials' short codes


def unit_of(principal: Principal) -> str:
    if principal.role != "employer" or not principal.uscc:
        raise not_found()
    return principal.uscc


def request_view(request: LetterRequest, app: Application, document: Document | None, now: datetime) -> UnitRequest:
    applicant = app.details.get("applicant", {})
    state = "expired" if request.state == "open" and request.expires_at <= now else request.state
    return UnitRequest(
        code=request.code, applicant_name=str(applicant.get("name", "")),
        applicant_id_masked=mask_id_number(str(applicant.get("id_number", ""))),
        service=KIND_NAMES.get(app.kind, app.kind), material_name=MATERIAL_NAMES[request.material],
        role_name=ROLE_NAMES.get(request.role, ""), requested_at=iso_china(request.created_at),
        expires_at=iso_china(request.expires_at), state=state,  # type: ignore[arg-type]
        state_label=REQUEST_STATE_LABELS[state], reason=request.reason,
        document=uploads.view(document) if document is not None else None,
    )


async def _with_documents(db: AsyncSession, rows: list[tuple[LetterRequest, Application]],
                          principal: Principal) -> list[UnitRequest]:
    now = utcnow()
    out = []
    for request, app in rows:
        document = None
        if request.document_id is not None:
            found = await uploads.readable_or_none(db, principal, str(request.document_id))
            document = found
        out.append(request_view(request, app, document, now))
    return out


async def list_requests(db: AsyncSession, principal: Principal) -> list[UnitRequest]:
    rows = await db.execute(
        select(LetterRequest, Application).join(Application, Application.id == LetterRequest.application_id)
        .where(LetterRequest.unit_uscc == unit_of(principal), LetterRequest.state != "withdrawn")
        .order_by(LetterRequest.created_at.desc()).limit(200)
    )
    return await _with_documents(db, [(r, a) for r, a in rows], principal)


async def _requests(db: AsyncSession, principal: Principal, codes: list[str], *,
                    lock: bool = False) -> list[tuple[LetterRequest, Application]]:
    wanted = {c.strip().upper() for c in codes}
    if not all(REQUEST_CODE.fullmatch(c) for c in wanted):  # not a code this portal made (nor NUL for PostgreSQL)
        raise not_found()
    query = (select(LetterRequest, Application).join(Application, Application.id == LetterRequest.application_id)
             .where(LetterRequest.code.in_(wanted), LetterRequest.unit_uscc == unit_of(principal)))
    if lock:
        query = query.with_for_update()
    rows = [(r, a) for r, a in await db.execute(query)]
    if len(rows) != len(wanted):
        missing = wanted - {r.code for r, _ in rows}
        another = await db.scalar(select(LetterRequest.code).where(LetterRequest.code.in_(missing)).limit(1))
        raise not_found(("letter_request", another) if another is not None else None)  # another unit's request
    return rows


async def get_request(db: AsyncSession, principal: Principal, code: str) -> UnitRequest:
    return (await _with_documents(db, await _requests(db, principal, [code]), principal))[0]


def _still_open(request: LetterRequest, now: datetime) -> None:
    if request.state != "open":
        raise ApiError(409, "request_closed", f"请求 {request.code} 已处理，无需再次操作")
    if request.expires_at <= now:
        raise ApiError(409, "request_expired", f"请求 {request.code} 已过期，请联系申请人重新发起")


async def fulfil(db: AsyncSession, files: FileStore, principal: Principal, codes: list[str],
                 document_id: str) -> list[Application]:
    """One letter for one or several requests, all in one transaction; each application that is now complete
    goes on to the provincial system."""
    now = utcnow()
    rows = await _requests(db, principal, codes, lock=True)
    for request, _ in rows:
        _still_open(request, now)
    document = await uploads.usable(db, principal, document_id, "unit_letter")
    for request, app in rows:
        request.state, request.document_id, request.decided_at = "fulfilled", document.id, now
        request.decided_by = principal.agent_name or principal.name
        await materials.attach(db, files, app, document, request.material, request.role, "unit", now)
        note = f"{request.unit_name}已上传{MATERIAL_NAMES[request.material]}"
        await materials.event(db, app, "material_attached", note, now)
        await materials.settle(db, app, now)
    await audit.record_in(db, audit.Entry("unit.letter.fulfil", "ok", "document", str(document.id), {
        "requests": sorted(r.code for r, _ in rows), "applications": sorted(str(a.id) for _, a in rows)}))
    await db.commit()
    return [app for _, app in rows]


async def decline(db: AsyncSession, principal: Principal, code: str, reason: str) -> Application:
    text = reason.strip()
    if not 2 <= len(text) <= 200:
        raise ApiError(422, "validation_error", "请填写不出具介绍信的原因（2至200个字）",
                       [FieldError("reason", "必填")])
    now = utcnow()
    [(request, app)] = await _requests(db, principal, [code], lock=True)
    _still_open(request, now)
    request.state, request.reason, request.decided_at = "declined", text, now
    request.decided_by = principal.agent_name or principal.name
    await materials.event(db, app, "letter_declined", f"{request.unit_name}：{text}", now)
    await materials.settle(db, app, now)
    await audit.record_in(db, audit.Entry("unit.letter.decline", "ok", "letter_request", request.code,
                                          {"application": str(app.id)}))
    await db.commit()
    return app


def check_hire(body: NewHireTransfer) -> NewHireTransfer:
    with validation.Checks() as check:
        name = check(validation.text, body.name, "name", "新员工姓名", 150)
        number = check(validation.id_number, body.id_number, "id_number", body.id_type)
    return NewHireTransfer(name=name, id_number=number, target_agency_code=body.target_agency_code.strip(),
                           document_id=body.document_id, id_type=body.id_type)


async def start_transfer(db: AsyncSession, files: FileStore, principal: Principal, key: str, body: NewHireTransfer,
                         agency: Agency) -> tuple[Application, bool]:
    """A transfer into the unit's collective storage; it waits for the hire to confirm it in their own portal."""
    uscc = unit_of(principal)
    request_hash = hashlib.sha256(msgspec.json.encode(body)).hexdigest()
    found = await applications.replayed(db, principal.sub, key, request_hash)
    if found is not None:
        return found, False
    document = await uploads.usable(db, principal, body.document_id, "unit_letter")
    now = utcnow()
    unit = {"name": principal.name, "uscc": uscc}
    transfer = {"target_agency_code": agency.code, "target_agency_name": agency.name,
                "target_region_code": agency.region_code, "target_nature": "1", "unit": unit, "initiated_by": "unit"}
    app = Application(
        id=uuid.uuid4(), reference_no=applications.reference_no(), owner_sub=principal.sub, idempotency_key=key,
        request_hash=request_hash, kind="archive_transfer", status="awaiting_confirmation",
        holder_key=holder_key(body.id_type, body.id_number), initiated_by="unit", unit_uscc=uscc,
        details={"purpose": "", "phone": "", "delivery": "electronic", "transfer": transfer,
                 "needs": materials.needs_for("archive_transfer", None, transfer),
                 "applicant": {"name": body.name, "id_type": body.id_type, "id_number": body.id_number}},
        created_at=now, updated_at=now,
    )
    try:  # a request with the same key that committed since the replay check fails at the flush
        db.add(app)
        await materials.event(db, app, "started_by_unit", f"{principal.name}发起转入单位集体户存档，等待本人确认", now)
        await db.flush()
        await materials.attach(db, files, app, document, "unit_letter", "new_unit", "unit", now)
        await audit.record_in(db, audit.Entry("unit.transfer.start", "ok", "application", str(app.id)))
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise ApiError(409, "in_progress", "该申请正在提交中，请稍候刷新查看") from None
    return app, True


def check_certificate(body: UnitCertificateApplication) -> tuple[UnitCertificateApplication, ApplicationCreate]:
    """The employee's identity and every field of the application, all problems at once."""
    with validation.Checks() as check:
        name = check(validation.text, body.name, "name", "员工姓名", 150)
        number = check(validation.id_number, body.id_number, "id_number", body.id_type)
    fields = applications.validate(ApplicationCreate(
        kind=body.kind, phone=body.phone, purpose=body.purpose, delivery=body.delivery,
        post_address=body.post_address, relative=body.relative, review=body.review))
    if body.kind == "political_review" and not body.review_letter_document_id:
        raise ApiError(422, "validation_error", "请上传政审单位出具的政审函",
                       [FieldError("review_letter_document_id", "请上传政审函")])
    if body.kind != "political_review" and body.review_letter_document_id:
        raise ApiError(422, "validation_error", "只有申请政审材料才上传政审函",
                       [FieldError("review_letter_document_id", "不需要政审函")])
    return msgspec.structs.replace(body, name=name, id_number=number), fields


async def apply_for_employee(db: AsyncSession, files: FileStore, principal: Principal, key: str,
                             body: UnitCertificateApplication, fields: ApplicationCreate,
                             archive: Archive | None) -> tuple[Application, bool]:
    """A certificate or 政审材料 for an employee whose archive the unit holds (单位委托, this unit named on the
    archive); it goes straight to the provincial system and appears in the employee's own list."""
    uscc = unit_of(principal)
    request_hash = hashlib.sha256(msgspec.json.encode(body)).hexdigest()
    found = await applications.replayed(db, principal.sub, key, request_hash)
    if found is not None:
        return found, False
    # A unit learns nothing of an archive it does not hold: no archive and another unit's (or a person's own)
    # archive get the same answer, and the name is compared only for the unit's own employees.
    if (archive is None or archive.nature != codes.UNIT_ENTRUSTED or archive.unit is None
            or archive.unit.uscc != uscc):
        raise ApiError(403, "not_unit_archive",
                       "该员工的档案不是由本单位委托存档（或证件号码有误），单位不能代为申请；请核对证件号码，或请员工本人申请")
    if archive.name != body.name:
        raise ApiError(422, "validation_error", "姓名与证件号码登记的姓名不一致", [FieldError("name", "姓名不一致")])
    letter = await uploads.usable(db, principal, body.letter_document_id, "unit_letter")
    review_letter = (await uploads.usable(db, principal, body.review_letter_document_id, "review_letter")
                     if body.review_letter_document_id else None)
    unit = {"name": principal.name, "uscc": uscc}
    review = msgspec.to_builtins(fields.review) if fields.review else None
    now = utcnow()
    app = Application(
        id=uuid.uuid4(), reference_no=applications.reference_no(), owner_sub=principal.sub, idempotency_key=key,
        request_hash=request_hash, kind=body.kind, status="submitted", holder_key=holder_key(body.id_type,
                                                                                               body.id_number),
        initiated_by="unit", unit_uscc=uscc, agency_code=archive.agency.code, agency_name=archive.agency.name,
        archive_no=archive.archive_no,
        details={"purpose": fields.purpose, "phone": fields.phone, "delivery": fields.delivery,
                 "needs": materials.needs_for(body.kind, archive, None, review["unit"] if review else None),
                 "needs_known": True, "applied_by_unit": unit,
                 "post_address": msgspec.to_builtins(fields.post_address) if fields.post_address else None,
                 "relative": msgspec.to_builtins(fields.relative) if fields.relative else None, "review": review,
                 "applicant": {"name": body.name, "id_type": body.id_type, "id_number": body.id_number}},
        created_at=now, updated_at=now,
    )
    try:  # a request with the same key that committed since the replay check fails at the flush
        db.add(app)
        db.add(StatusEvent(application_id=app.id, status="submitted", note=f"{principal.name}代为申请",
                           source="portal", occurred_at=now))
        await db.flush()
        await materials.attach(db, files, app, letter, "unit_letter", "current_unit", "unit", now)
        if review_letter is not None:
            await materials.attach(db, files, app, review_letter, "review_letter", "review_unit", "unit", now)
        await materials.settle(db, app, now)
        await audit.record_in(db, audit.Entry("unit.application.submit", "ok", "application", str(app.id),
                                              {"kind": body.kind}))
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise ApiError(409, "in_progress", "该申请正在提交中，请稍候刷新查看") from None
    return app, True


async def list_applications(db: AsyncSession, principal: Principal) -> list[UnitApplication]:
    rows = await db.scalars(select(Application).where(Application.unit_uscc == unit_of(principal))
                            .order_by(Application.created_at.desc()).limit(200))
    return [unit_application(a) for a in rows]


def unit_application(app: Application) -> UnitApplication:
    applicant = app.details.get("applicant", {})
    transfer = app.details.get("transfer") or {}
    return UnitApplication(
        id=str(app.id), reference_no=app.reference_no, kind_name=KIND_NAMES.get(app.kind, app.kind),
        status=app.status, status_label=status_label(app.kind, app.status),
        holder_name=str(applicant.get("name", "")),
        holder_id_masked=mask_id_number(str(applicant.get("id_number", ""))),
        target_agency_name=transfer.get("target_agency_name"), submitted_at=iso_china(app.created_at),
        updated_at=iso_china(app.updated_at),
    )
