"""Applications: validation, the one-transaction submit (application + first event + outbox row), and views."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
from litestar.stores.base import Store
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from auth.sessions import Principal
from bff.db.models import Application, Certificate, OutboxMessage, StatusEvent
from bff.domain.applications.schemas import (
    DELIVERY_NAMES,
    KIND_NAMES,
    STATUS_LABELS,
    ApplicationCreate,
    ApplicationDetail,
    ApplicationSummary,
    CertificateInfo,
    TimelineEntry,
    TransferInfo,
)
from bff.domain.materials import services as materials
from bff.domain.materials.schemas import MaterialChoice
from bff.lib.clock import CHINA, iso_china, utcnow
from bff.lib.errors import ApiError, FieldError, not_found
from bff.lib.files import FileStore
from bff.lib.holders import holder_key
from bff.lib.masking import mask_phone
from bff.provincial.schemas import Archive

MOBILE = re.compile(r"^1[3-9]\d{9}$")
KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
OUTAGE_NOTICE = "省级系统暂时无法连接，恢复后将自动转送"
PENDING_NOTICE = "正在转送至省级系统"
DEAD_NOTICE = "转送遇到问题，工作人员正在处理，无需重复申请"


@dataclass(frozen=True)
class Submitted:
    application: Application
    created: bool


def validate(body: ApplicationCreate) -> ApplicationCreate:
    errors: list[FieldError] = []
    purpose = body.purpose.strip()
    if not purpose:
        errors.append(FieldError("purpose", "请填写证明用途"))
    elif len(purpose) > 100:
        errors.append(FieldError("purpose", "证明用途不能超过100个字"))
    phone = body.phone.strip()
    if not MOBILE.match(phone):
        errors.append(FieldError("phone", "请填写正确的11位手机号码"))
    if errors:
        raise ApiError(422, "validation_error", "；".join(e.message for e in errors), errors)
    return ApplicationCreate(kind=body.kind, purpose=purpose, phone=phone, delivery=body.delivery,
                             materials=body.materials)


def holder_of(principal: Principal) -> str:
    if principal.role != "person" or not principal.id_type or not principal.id_number:
        raise not_found()
    return holder_key(principal.id_type, principal.id_number)


def check_key(key: str | None) -> str:
    if not key or not KEY.match(key):
        raise ApiError(400, "idempotency_key_required", "请求缺少有效的幂等键（Idempotency-Key），请刷新页面后重试")
    return key


def _hash(body: ApplicationCreate) -> str:
    return hashlib.sha256(msgspec.json.encode(body)).hexdigest()


def reference_no() -> str:
    today = utcnow().astimezone(CHINA).strftime("%Y%m%d")
    return "SQ" + today + "".join(secrets.choice(REF_ALPHABET) for _ in range(8))


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
    return await _existing(db, owner, key, _hash(body))


async def _existing(db: AsyncSession, owner: str, key: str, request_hash: str) -> Application | None:
    found = await db.scalar(
        select(Application).where(Application.owner_sub == owner, Application.idempotency_key == key)
    )
    if found is not None and found.request_hash != request_hash:
        raise ApiError(422, "idempotency_mismatch", "同一申请已提交过不同的内容，请刷新页面后重新填写")
    return found


async def submit(db: AsyncSession, files: FileStore, principal: Principal, key: str, body: ApplicationCreate,
                 archive: Archive | None) -> Submitted:
    """Writes the application, its first events, its material and (when complete) its outbox row in one
    transaction."""
    request_hash = _hash(body)
    found = await _existing(db, principal.sub, key, request_hash)
    if found is not None:
        return Submitted(found, created=False)
    needs = materials.needs_for(body.kind, archive)
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
            "needs_known": archive is not None,
            "applicant": {"name": principal.name, "id_type": principal.id_type, "id_number": principal.id_number},
        },
        created_at=now, updated_at=now,
    )
    db.add(application)
    db.add(StatusEvent(application_id=application.id, status="submitted", note=None, source="portal", occurred_at=now))
    await db.flush()
    await materials.apply_choices(db, files, application, principal, choices, now)
    await materials.settle(db, application, now)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        found = await _existing(db, principal.sub, key, request_hash)
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
                   "applicant": {"name": principal.name, "id_type": principal.id_type,
                                 "id_number": principal.id_number}}
    app.agency_code, app.agency_name, app.archive_no = archive.agency.code, archive.agency.name, archive.archive_no
    materials.event(db, app, "confirmed", None, now)
    await materials.apply_choices(db, files, app, principal, checked, now)
    await materials.settle(db, app, now)
    await db.commit()


async def cancel_unconfirmed(db: AsyncSession, app: Application) -> None:
    if app.status != "awaiting_confirmation":
        raise ApiError(409, "not_awaiting_confirmation", "该申请无需确认或已确认")
    now = utcnow()
    app.status, app.updated_at = "cancelled", now
    materials.event(db, app, "cancelled", "本人未同意转递", now)
    await db.commit()


async def list_for(db: AsyncSession, principal: Principal) -> list[Application]:
    rows = await db.scalars(
        select(Application).where(Application.holder_key == holder_of(principal))
        .order_by(Application.created_at.desc()).limit(200)
    )
    return list(rows)


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
        raise not_found()
    return found


def summary(app: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=str(app.id), reference_no=app.reference_no, kind=app.kind, kind_name=KIND_NAMES.get(app.kind, app.kind),
        status=app.status, status_label=STATUS_LABELS[app.status], submitted_at=iso_china(app.created_at),
        updated_at=iso_china(app.updated_at),
    )


def transfer_info(app: Application) -> TransferInfo | None:
    transfer = app.details.get("transfer")
    if not transfer:
        return None
    unit = transfer.get("unit")
    return TransferInfo(target_agency_name=transfer["target_agency_name"],
                        target_nature_name=NATURE_NAMES.get(transfer["target_nature"], ""),
                        unit_name=unit["name"] if unit else None,
                        started_by=unit["name"] if unit and app.initiated_by == "unit" else None)


NATURE_NAMES = {"1": "单位委托", "2": "个人委托", "3": "单纯存档"}


async def detail(db: AsyncSession, app: Application, base_url: str) -> ApplicationDetail:
    base = summary(app)
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
    certificate = await db.scalar(select(Certificate).where(Certificate.application_id == app.id))
    details = app.details
    return ApplicationDetail(
        **msgspec.structs.asdict(base),
        purpose=str(details.get("purpose", "")),
        delivery=str(details.get("delivery", "")),
        delivery_name=DELIVERY_NAMES.get(str(details.get("delivery")), ""),
        phone_masked=mask_phone(str(details.get("phone", ""))),
        agency_name=app.agency_name,
        notice=notice,
        timeline=[
            TimelineEntry(status=e.status, label=STATUS_LABELS.get(e.status, e.status), note=e.note,
                          at=iso_china(e.occurred_at))
            for e in app.events
        ],
        certificate=CertificateInfo(
            certificate_no=certificate.certificate_no, issued_on=certificate.issued_on,
            download_url=f"/api/applications/{app.id}/certificate",
        ) if certificate is not None and certificate.revoked_at is None else None,
        materials=await materials.states(db, app, base_url, utcnow()),
        transfer=transfer_info(app),
        can_confirm=app.status == "awaiting_confirmation",
    )
