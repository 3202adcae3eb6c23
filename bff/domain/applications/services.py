"""Applications: validation, the one-transaction submit (application + first event + outbox row), and views."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from litestar.stores.base import Store
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from auth.sessions import Principal
from bff.db.models import (
    Application,
    Certificate,
    LetterRequest,
    OutboxMessage,
    Rating,
    Reminder,
    StatusEvent,
)
from bff.domain import audit
from bff.domain.applications import progress, transfers
from bff.domain.applications.schemas import (
    CERTIFICATE_KINDS,
    DELIVERY_NAMES,
    KIND_NAMES,
    ApplicationCreate,
    ApplicationDetail,
    ApplicationSummary,
    CertificateInfo,
    PostAddress,
    RatingCreate,
    RatingRead,
    RelativeCreate,
    ReviewCreate,
    ReviewReply,
    TransferInfo,
)
from bff.domain.certificates import services as certificates
from bff.domain.materials import services as materials
from bff.domain.materials.schemas import MaterialChoice, UnitRef
from bff.lib import codes, divisions, validation
from bff.lib.clock import CHINA, iso_china, today_in_china, utcnow
from bff.lib.errors import ApiError, not_found
from bff.lib.files import FileStore
from bff.lib.holders import holder_of
from bff.lib.masking import mask_name, mask_phone
from bff.lib.shortcodes import short_code
from bff.lib.workdays import WorkingCalendar
from bff.provincial.client import ProvincialApi, ProvincialRejected, ProvincialUnavailable
from bff.provincial.leases import lease_outbox
from bff.provincial.schemas import Agency, Archive

KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
OUTAGE_NOTICE = "省级系统暂时无法连接，恢复后将自动转送"
PENDING_NOTICE = "正在转送至省级系统"
DEAD_NOTICE = "转送遇到问题，工作人员正在处理，无需重复申请"


@dataclass(frozen=True)
class Submitted:
    application: Application
    created: bool


def validate(body: ApplicationCreate) -> ApplicationCreate:
    """Every typed field (SPEC §6), all problems told at once, each naming its field."""
    with validation.Checks() as check:
        purpose = body.purpose.strip()
        if body.kind in CERTIFICATE_KINDS:
            if body.kind != "political_review":
                purpose = check(validation.text, body.purpose, "purpose", "证明用途", 100)
            if body.transfer is not None:
                check.add("transfer", "申请证明时不填写转递信息")
        elif body.transfer is None:
            check.add("transfer", "请选择转入机构和拟存档性质")
        phone = check(validation.mobile, body.phone, "phone")
        post = _check_post(check, body)
        relative = _check_relative(check, body)
        review = _check_review(check, body)
    return ApplicationCreate(kind=body.kind, purpose=purpose, phone=phone, delivery=body.delivery,
                             materials=body.materials, transfer=body.transfer, post_address=post,
                             relative=relative, review=review)


def _check_post(check: validation.Checks, body: ApplicationCreate) -> PostAddress | None:
    if body.kind == "archive_transfer" and body.delivery != "electronic":
        check.add("delivery", "档案转递不选择证明领取方式")
    if body.kind == "political_review" and body.delivery != "electronic":
        check.add("delivery", "政审回复函通过分享链接交给政审单位，无需选择邮寄或窗口领取")
    if body.delivery != "post":
        if body.post_address is not None:
            check.add("post_address", "只有邮寄纸质证明才填写邮寄地址")
        return None
    post = body.post_address
    if post is None:
        check.add("post_address", "请填写邮寄地址")
        return None
    return PostAddress(
        recipient=check(validation.text, post.recipient, "post_address.recipient", "收件人", 50),
        phone=check(validation.mobile, post.phone, "post_address.phone"),
        region_code=check(validation.region_code, post.region_code, "post_address.region_code"),
        address=check(validation.text, post.address, "post_address.address", "详细地址", 200),
        postcode=check(validation.postcode, post.postcode, "post_address.postcode"),
    )


def _check_relative(check: validation.Checks, body: ApplicationCreate) -> RelativeCreate | None:
    if body.kind != "kinship_certificate":
        if body.relative is not None:
            check.add("relative", "只有亲属关系证明才填写亲属")
        return None
    if body.relative is None:
        check.add("relative", "请填写要证明的亲属")
        return None
    return RelativeCreate(
        relation=check(validation.code, body.relative.relation, codes.GB_T_4761, "relative.relation",
                       label="亲属关系"),
        name=check(validation.text, body.relative.name, "relative.name", "亲属姓名", 50),
    )


def _check_review(check: validation.Checks, body: ApplicationCreate) -> ReviewCreate | None:
    if body.kind != "political_review":
        if body.review is not None:
            check.add("review", "只有政审材料才填写政审单位")
        return None
    if body.review is None:
        check.add("review", "请填写政审单位")
        return None
    review = body.review
    phone = review.contact_phone.strip()
    if re.fullmatch(r"1[0-9]{10}", phone):
        phone = check(validation.mobile, phone, "review.contact_phone")
    else:
        phone = check(validation.landline, phone, "review.contact_phone")
    return ReviewCreate(
        purpose=review.purpose,
        unit=UnitRef(name=check(validation.text, review.unit.name, "review.unit.name", "政审单位名称", 300),
                     uscc=check(validation.uscc, review.unit.uscc, "review.unit.uscc")),
        contact_name=check(validation.text, review.contact_name, "review.contact_name", "联系人", 50),
        contact_phone=phone,
    )



def check_key(key: str | None) -> str:
    if not key or not KEY.match(key):
        raise ApiError(400, "idempotency_key_required", "请求缺少有效的幂等键（Idempotency-Key），请刷新页面后重试")
    return key


def _hash(body: ApplicationCreate) -> str:
    return hashlib.sha256(msgspec.json.encode(body)).hexdigest()


def reference_no() -> str:
    today = utcnow().astimezone(CHINA).strftime("%Y%m%d")
    return "SQ" + today + short_code(8)


IN_FLIGHT_SECONDS = 60


@contextlib.asynccontextmanager
async def in_flight(store: Store, owner: str, key: str) -> AsyncIterator[None]:
    """Marks a submit as being written, so that the same key meanwhile gets 409 rather than waiting."""
    marker = "submitting:" + hashlib.sha256(f"{owner}:{key}".encode()).hexdigest()
    if await store.exists(marker):
        raise ApiError(409, "in_progress", "该申请正在提交中，请稍候刷新“我的申请”查看，无需重复提交")
    await store.set(marker, b"1", expires_in=IN_FLIGHT_SECONDS)
    try:
        yield
    finally:
        await store.delete(marker)


async def existing(db: AsyncSession, owner: str, key: str, body: ApplicationCreate) -> Application | None:
    """The application this key already made (a replay), or None; 422 if the key came with another body."""
    return await replayed(db, owner, key, _hash(body))


async def replayed(db: AsyncSession, owner: str, key: str, request_hash: str) -> Application | None:
    found = await db.scalar(
        select(Application).where(Application.owner_sub == owner, Application.idempotency_key == key)
    )
    if found is not None and found.request_hash != request_hash:
        raise ApiError(422, "idempotency_mismatch", "同一申请已提交过不同的内容，请刷新页面后重新填写")
    return found


async def submit(db: AsyncSession, files: FileStore, principal: Principal, key: str, body: ApplicationCreate,
                 archive: Archive | None, target: Agency | None = None) -> Submitted:
    """Writes the application, its first events, its material and (when complete) its outbox row in one
    transaction. A transfer needs the archive (where it is now) and the receiving agency from the directory."""
    request_hash = _hash(body)
    found = await replayed(db, principal.sub, key, request_hash)
    if found is not None:
        return Submitted(found, created=False)
    transfer = None
    if body.transfer is not None:
        if archive is None:
            raise ApiError(503, "provincial_unavailable", "暂时无法查到您的存档信息，请稍后再试")
        transfers.route(archive, target)
        assert target is not None
        transfer = transfers.with_route(transfers.transfer_details(body.transfer, target, "person"), archive)
    review = msgspec.to_builtins(body.review) if body.review else None
    needs = materials.needs_for(body.kind, archive, transfer, review["unit"] if review else None)
    if archive is None and body.materials:
        raise ApiError(503, "provincial_unavailable", "暂时无法核对所需材料，请稍后再试")
    choices = materials.check_choices(needs, body.materials, complete=archive is not None)
    now = utcnow()
    application = Application(
        id=uuid.uuid4(), reference_no=reference_no(), owner_sub=principal.sub, idempotency_key=key,
        request_hash=request_hash, kind=body.kind, status="submitted", holder_key=holder_of(principal),
        initiated_by="person", agency_code=archive.agency.code if archive else None,
        agency_name=archive.agency.name if archive else None,
        archive_no=archive.archive_no if archive else None,
        details={
            "purpose": body.purpose, "phone": body.phone, "delivery": body.delivery, "needs": needs,
            "needs_known": archive is not None, "transfer": transfer,
            "post_address": msgspec.to_builtins(body.post_address) if body.post_address else None,
            "relative": msgspec.to_builtins(body.relative) if body.relative else None, "review": review,
            "applicant": {"name": principal.name, "id_type": principal.id_type, "id_number": principal.id_number},
        },
        created_at=now, updated_at=now,
    )
    try:
        db.add(application)
        db.add(StatusEvent(application_id=application.id, status="submitted", note=None, source="portal",
                           occurred_at=now))
        await db.flush()  # a request with the same key that committed since the check above fails here
        await materials.apply_choices(db, files, application, principal, choices, now)
        await materials.settle(db, application, now)
        await audit.record_in(db, audit.Entry("application.submit", "ok", "application", str(application.id),
                                              {"kind": body.kind, "status": application.status}))
        await db.commit()
    except IntegrityError:
        await db.rollback()
        found = await replayed(db, principal.sub, key, request_hash)
        if found is None:
            raise
        return Submitted(found, created=False)
    return Submitted(application, created=True)


async def add_materials(db: AsyncSession, files: FileStore, principal: Principal, app: Application,
                        choices: list[MaterialChoice]) -> None:
    """Meets what is still missing (an upload instead of a unit's letter, or a new request)."""
    if app.status not in ("awaiting_unit", "awaiting_material"):
        raise ApiError(409, "not_waiting", "该申请已转送，不能再更改材料")
    checked = materials.check_choices(app.details.get("needs", []), choices, complete=False)
    now = utcnow()
    await materials.apply_choices(db, files, app, principal, checked, now)
    await materials.settle(db, app, now)
    await db.commit()


async def confirm(db: AsyncSession, files: FileStore, principal: Principal, app: Application,
                  choices: list[MaterialChoice], archive: Archive) -> None:
    """The holder agrees to a transfer a unit started for them; their own archive decides what else is needed."""
    if app.status != "awaiting_confirmation":
        raise ApiError(409, "not_awaiting_confirmation", "该申请无需确认或已确认")
    if archive.agency.code == app.details["transfer"]["target_agency_code"]:
        raise ApiError(422, "same_agency", "您的档案已在该机构存放，无需转递")
    needs = materials.needs_for(app.kind, archive, app.details["transfer"])
    have = [n for n in needs if n["role"] == "new_unit"]
    rest = [n for n in needs if n["role"] != "new_unit"]
    checked = materials.check_choices(rest, choices, complete=True)
    now = utcnow()
    app.details = {**app.details, "needs": have + rest, "phone": principal.phone or "",
                   "transfer": transfers.with_route(app.details["transfer"], archive),
                   "applicant": {"name": principal.name, "id_type": principal.id_type,
                                 "id_number": principal.id_number}}
    app.agency_code, app.agency_name, app.archive_no = archive.agency.code, archive.agency.name, archive.archive_no
    await materials.event(db, app, "confirmed", None, now)
    await materials.apply_choices(db, files, app, principal, checked, now)
    await materials.settle(db, app, now)
    await audit.record_in(db, audit.Entry("application.confirm", "ok", "application", str(app.id),
                                          {"status": app.status}))
    await db.commit()


async def cancel_unconfirmed(db: AsyncSession, app: Application) -> None:
    if app.status != "awaiting_confirmation":
        raise ApiError(409, "not_awaiting_confirmation", "该申请无需确认或已确认")
    now = utcnow()
    app.status, app.updated_at = "cancelled", now
    await materials.event(db, app, "cancelled", "本人未同意转递", now)
    await db.commit()


async def withdraw(db: AsyncSession, provincial: ProvincialApi, app: Application) -> None:
    """撤回: only before the agency accepts it; the provincial system withdraws it too when it has it (or may)."""
    if app.status not in ("submitted", "awaiting_unit", "awaiting_material"):
        raise ApiError(409, "not_withdrawable", "存档机构已受理或申请已结束，不能撤回；如有疑问请联系存档机构")
    owner = "withdraw-" + secrets.token_hex(6)
    row = await db.scalar(select(OutboxMessage).where(OutboxMessage.application_id == app.id,
                                                      OutboxMessage.kind == "submit"))
    held = row.id if row is not None and row.done_at is None else None
    if row is not None and held is not None:
        # hold the forwarding row, so the relay cannot send it while it is being withdrawn
        if not await lease_outbox(db, row.id, owner, 120.0):
            raise ApiError(409, "in_progress", "申请正在转送至省级系统，请稍候再撤回")
        await db.refresh(row)
    if app.forwarded_at is not None or (row is not None and row.attempts > 0):
        try:
            await provincial.withdraw(str(app.id))
        except (ProvincialRejected, ProvincialUnavailable) as exc:
            await db.rollback()
            if held is not None:  # let the relay go on forwarding it
                await db.execute(update(OutboxMessage).where(OutboxMessage.id == held,
                                                             OutboxMessage.lease_owner == owner)
                                 .values(lease_until=None, lease_owner=None))
                await db.commit()
            if isinstance(exc, ProvincialRejected) and exc.status == 409:
                raise ApiError(409, "not_withdrawable", "存档机构已受理您的申请，不能撤回") from None
            raise ApiError(503, "provincial_unavailable", "省级档案系统暂时无法办理撤回，请稍后再试") from None
    now = utcnow()
    if row is not None and row.done_at is None:
        row.done_at, row.lease_until, row.last_error = now, None, "withdrawn"
    # the poller may have brought the provincial system's own 'withdrawn' meanwhile: one line, not two
    await db.refresh(app, with_for_update=True)
    if app.status == "withdrawn":
        await db.commit()
        return
    for request in await db.scalars(select(LetterRequest).where(LetterRequest.application_id == app.id,
                                                               LetterRequest.state == "open")):
        request.state, request.decided_at = "withdrawn", now
    app.status, app.updated_at = "withdrawn", now
    await materials.event(db, app, "withdrawn", None, now, actor="applicant")
    await audit.record_in(db, audit.Entry("application.withdraw", "ok", "application", str(app.id)))
    await db.commit()


async def reissue(db: AsyncSession, provincial: ProvincialApi, issuer: certificates.Issuer,
                  app: Application) -> None:
    """补发: the certificate in force is replaced by a new one (new id, QR and date), issued from the provincial
    system's result as it stands now; the old one then verifies as superseded."""
    if app.kind == "political_review":
        raise ApiError(409, "not_reissuable", "政审回复函不能补发；如需重新出具，请重新申请")
    current = certificates.check_reissue(certificates.current_of(await certificates.certificates_of(db, app.id)))
    try:
        result = await provincial.certificate_result(str(app.id))
    except ProvincialUnavailable:
        raise ApiError(503, "provincial_unavailable", "省级档案系统暂时无法连接，请稍后再申请补发") from None
    except ProvincialRejected:
        raise ApiError(409, "not_reissuable", "存档机构已不再出具该证明，不能补发；如有疑问请联系存档机构") from None
    await certificates.issue(db, issuer, app, result, reissue=True)
    now = utcnow()
    app.updated_at = now
    await materials.event(db, app, "certificate_reissued", f"原证明 {current.certificate_no} 已作废", now,
                          actor="applicant")
    await audit.record_in(db, audit.Entry("certificate.reissue", "ok", "application", str(app.id),
                                          {"superseded": current.certificate_no}))
    await db.commit()


async def rate(db: AsyncSession, app: Application, body: RatingCreate) -> None:
    """好差评, once, after the application ended."""
    if app.status not in progress.RATEABLE:
        raise ApiError(409, "not_ended", "申请办结后才能评价")
    if await db.get(Rating, app.id) is not None:
        raise ApiError(409, "already_rated", "您已评价过此申请")
    with validation.Checks() as check:
        if not 1 <= body.score <= 5:
            check.add("score", "请选择 1 至 5 星")
        comment = check(validation.text, body.comment, "comment", "评价内容", 200, required=False)
    db.add(Rating(application_id=app.id, holder_key=app.holder_key, score=body.score, comment=comment,
                  created_at=utcnow()))
    await db.commit()


async def summaries_for(db: AsyncSession, principal: Principal, calendar: WorkingCalendar,
                        today: date | None = None) -> list[ApplicationSummary]:
    """「我的申请」: the lines of ``summary``, in one query of plain columns. The list shows no personal field, so
    neither ``details`` nor the events' encrypted columns are read (nor decrypted); of the events only when each
    application reached its current status (for the due date)."""
    today = today or today_in_china()
    # when the current status was reached: its latest event (by id), in the same query
    reached = (select(StatusEvent.occurred_at)
               .where(StatusEvent.application_id == Application.id, StatusEvent.status == Application.status)
               .order_by(StatusEvent.id.desc()).limit(1).correlate(Application).scalar_subquery())
    rows = (await db.execute(
        select(Application.id, Application.reference_no, Application.kind, Application.status,
               Application.created_at, Application.updated_at, reached.label("reached"))
        .where(Application.holder_key == holder_of(principal))
        .order_by(Application.created_at.desc()).limit(200)
    )).all()
    return [_summary(row, *progress.due(row.kind, row.status, row.reached, calendar, today)) for row in rows]


async def get_for(db: AsyncSession, principal: Principal, application_id: str) -> Application:
    """The holder's application with its timeline; anyone else's is simply not found."""
    try:
        wanted = uuid.UUID(application_id)
    except ValueError:
        raise not_found() from None
    found = await db.scalar(
        select(Application).options(selectinload(Application.events))
        .where(Application.id == wanted, Application.holder_key == holder_of(principal))
        .execution_options(populate_existing=True)
    )
    if found is None:
        elsewhere = await db.scalar(select(Application.id).where(Application.id == wanted))
        raise not_found(("application", str(wanted)) if elsewhere is not None else None)
    return found


def summary(app: Application, calendar: WorkingCalendar, today: date | None = None) -> ApplicationSummary:
    """One line of 「我的申请」 (``app.events`` loaded): its status and when the awaited step is due."""
    step = progress.next_step(app, calendar, today or today_in_china())
    return _summary(app, step.due_on if step else None, bool(step and step.overdue))


def _summary(app: Any, due_on: str | None, overdue: bool) -> ApplicationSummary:
    """The line from an application or a row of its columns (id, reference_no, kind, status, created_at, updated_at)."""
    return ApplicationSummary(
        id=str(app.id), reference_no=app.reference_no, kind=app.kind, kind_name=KIND_NAMES.get(app.kind, app.kind),
        status=app.status, status_label=progress.status_label(app.kind, app.status),
        submitted_at=iso_china(app.created_at), updated_at=iso_china(app.updated_at), next_due_on=due_on,
        overdue=overdue,
    )


def transfer_info(app: Application, directory: dict[str, Agency]) -> TransferInfo | None:
    transfer = app.details.get("transfer")
    if not transfer:
        return None
    unit = transfer.get("unit")
    target = directory.get(transfer["target_agency_code"])
    current = directory.get(app.agency_code or "")
    started_by = {"unit": unit["name"] if unit else None, "window": "拟接收机构窗口"}.get(app.initiated_by)
    return TransferInfo(target_agency_name=transfer["target_agency_name"],
                        target_agency_address=target.address if target else None,
                        target_agency_phone=target.phone if target else None,
                        from_agency_name=app.agency_name, from_agency_phone=current.phone if current else None,
                        flow_name=codes.ACC74D.get(str(transfer.get("flow"))),
                        target_nature_name=codes.ACC749.get(transfer["target_nature"], ""),
                        unit_name=unit["name"] if unit else None, started_by=started_by)


STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已被撤销"}


def certificate_info(app: Application, issued: list[Certificate], today: date) -> CertificateInfo | None:
    current = certificates.current_of(issued)
    if current is None:
        return None
    state = certificates.state_of(current, today)
    assert state != "superseded"
    return CertificateInfo(
        certificate_no=current.certificate_no, issued_on=current.issued_on, expires_on=current.expires_on or "",
        state=state, state_label=STATE_LABELS[state],  # type: ignore[arg-type]
        revoked_reason=current.revoked_reason,
        download_url=None if current.kind == "political_review" or state == "revoked"
        else f"/api/applications/{app.id}/certificate",
        can_reissue=certificates.reissuable(current) and app.kind != "political_review",
        reissued=len(issued) > 1,
    )


async def review_reply(db: AsyncSession, app: Application, issued: list[Certificate],
                       base_url: str) -> ReviewReply | None:
    current = certificates.current_of(issued)
    if current is None or current.kind != "political_review":
        return None
    share = await certificates.share_of(db, current)
    if share is None:
        return None
    unit = ((app.details.get("review") or {}).get("unit") or {}).get("name", "政审单位")
    return ReviewReply(unit_name=unit, share_url=f"{base_url}/s/{share.id}", access_code=share.access_code,
                       expires_on=share.expires_at.astimezone(CHINA).date().isoformat(),
                       opened=share.opened_at is not None)


def _relative_name(details: dict[str, Any]) -> str | None:
    relative = details.get("relative")
    if not relative:
        return None
    return f"{codes.GB_T_4761.get(relative['relation'], '')} {relative['name']}"


def _post_address(details: dict[str, Any]) -> str | None:
    post = details.get("post_address")
    if not post:
        return None
    region = divisions.full_name(post["region_code"]) or ""
    return f"{region}{post['address'][:6]}…（{mask_name(post['recipient'])}收）"


async def detail(db: AsyncSession, app: Application, base_url: str, calendar: WorkingCalendar,
                 directory: list[Agency], today: date | None = None) -> ApplicationDetail:
    today = today or today_in_china()
    base = summary(app, calendar, today)
    notice: str | None = None
    if app.forwarded_at is None and app.status == "submitted":
        outbox = await db.scalar(
            select(OutboxMessage).where(OutboxMessage.application_id == app.id, OutboxMessage.kind == "submit")
        )
        if outbox is not None and outbox.dead_at is not None:
            notice = DEAD_NOTICE
        elif outbox is not None and outbox.last_error_kind == "unavailable":
            notice = OUTAGE_NOTICE
        else:
            notice = PENDING_NOTICE
    issued = await certificates.certificates_of(db, app.id)
    rating = await db.get(Rating, app.id)
    agencies = {a.code: a for a in directory}
    transfer = transfer_info(app, agencies)
    current = agencies.get(app.agency_code or "")
    phones = {"current_phone": transfer.from_agency_phone if transfer else (current.phone if current else None),
              "receiving_phone": transfer.target_agency_phone if transfer else None}
    details = app.details
    return ApplicationDetail(
        **msgspec.structs.asdict(base),
        purpose=str(details.get("purpose", "")),
        delivery=str(details.get("delivery", "")),
        delivery_name=DELIVERY_NAMES.get(str(details.get("delivery")), ""),
        phone_masked=mask_phone(str(details.get("phone", ""))),
        agency_name=app.agency_name,
        notice=notice,
        timeline=progress.timeline(app),
        certificate=certificate_info(app, issued, today),
        review_reply=await review_reply(db, app, issued, base_url),
        relative_name=_relative_name(details),
        review_unit_name=((details.get("review") or {}).get("unit") or {}).get("name"),
        post_address_masked=_post_address(details),
        started_by_unit=(details.get("applied_by_unit") or {}).get("name") if app.initiated_by == "unit" else None,
        materials=await materials.states(db, app, base_url, utcnow()),
        transfer=transfer,
        can_confirm=app.status == "awaiting_confirmation",
        next_step=progress.next_step(app, calendar, today),
        upcoming=progress.upcoming(app),
        reminder=progress.reminder_info(await db.get(Reminder, app.id), app),
        outcome=progress.outcome(app, phones),
        can_withdraw=app.status in ("submitted", "awaiting_unit", "awaiting_material"),
        can_rate=app.status in progress.RATEABLE and rating is None,
        rating=RatingRead(score=rating.score, comment=rating.comment, rated_at=iso_china(rating.created_at))
        if rating is not None else None,
    )
