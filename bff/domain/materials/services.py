"""What material an application needs (SPEC §5), how each need is met (an upload, or a request to a unit),
and when the application is complete enough to go to the provincial system."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from auth.sessions import Principal
from bff.db.models import Application, ApplicationDocument, Document, LetterRequest, OutboxMessage, StatusEvent
from bff.domain.materials.schemas import (
    MATERIAL_STATE_LABELS,
    REQUEST_STATE_LABELS,
    ROLE_NAMES,
    LetterRequestInfo,
    MaterialChoice,
    MaterialNeed,
    MaterialState,
    Requirements,
    UnitRef,
)
from bff.domain.notifications import services as notifications
from bff.domain.uploads import services as uploads
from bff.domain.uploads.schemas import MATERIAL_NAMES
from bff.lib import validation
from bff.lib.clock import iso_china
from bff.lib.errors import ApiError, FieldError
from bff.lib.files import FileStore
from bff.lib.shortcodes import short_code
from bff.provincial.schemas import Archive

REQUEST_LIFETIME = timedelta(days=7)
WAITING = ("awaiting_unit", "awaiting_material", "awaiting_confirmation")
Need = dict[str, Any]  # {"material", "role", "unit": {"name", "uscc"} | None}, kept in Application.details


def needs_for(kind: str, archive: Archive | None, transfer: dict[str, Any] | None = None,
              review_unit: dict[str, str] | None = None) -> list[Need]:
    """SPEC §5: a 单位介绍信 from each unit concerned (nothing for 个人委托 / 单纯存档), and for 政审 the reviewing
    unit's 政审函."""
    needs: list[Need] = []
    if kind == "political_review":
        needs.append({"material": "review_letter", "role": "review_unit", "unit": review_unit})
    current_unit = {"name": archive.unit.name, "uscc": archive.unit.uscc} if archive and archive.unit else None
    if kind == "archive_transfer" and transfer and transfer.get("target_nature") == "1":
        needs.append({"material": "unit_letter", "role": "new_unit", "unit": transfer.get("unit")})
    if archive is not None and archive.nature == "1":
        needs.append({"material": "unit_letter", "role": "current_unit", "unit": current_unit})
    return needs


def need_view(need: Need) -> MaterialNeed:
    unit = need.get("unit")
    unit_name = unit["name"] if unit else "相关单位"
    role_name = ROLE_NAMES[need["role"]]
    if need["role"] == "review_unit":
        return MaterialNeed(material=need["material"], material_name=MATERIAL_NAMES[need["material"]],
                            role=need["role"], role_name=role_name,
                            unit=UnitRef(name=unit["name"], uscc=unit["uscc"]) if unit else None,
                            hint=f"请上传{role_name}（{unit_name}）出具的政审函（盖章的 PDF 或照片）。")
    hint = (f"您的档案为单位委托存档，需提供{role_name}（{unit_name}）出具的单位介绍信"
            if need["role"] == "current_unit"
            else f"转入单位委托存档，需提供{role_name}（{unit_name}）出具的单位介绍信")
    return MaterialNeed(material=need["material"], material_name=MATERIAL_NAMES[need["material"]], role=need["role"],
                        role_name=role_name, unit=UnitRef(name=unit["name"], uscc=unit["uscc"]) if unit else None,
                        hint=hint + "：可自行上传，也可请单位经办人在线上传。")


def requirements(needs: list[Need]) -> Requirements:
    if not needs:
        return Requirements(materials=[], notice="本项业务无需提交材料。")
    names = "、".join(f"{ROLE_NAMES[n['role']]}的{MATERIAL_NAMES[n['material']]}" for n in needs)
    return Requirements(materials=[need_view(n) for n in needs], notice=f"本项业务需提交：{names}。请一次备齐。")


def check_unit(unit: UnitRef, field: str) -> UnitRef:
    """The unit's name and its 统一社会信用代码 (GB 32100 check character), both problems told at once."""
    with validation.Checks() as check:
        name = check(validation.text, unit.name, field + ".name", "单位名称", 300)
        code = check(validation.uscc, unit.uscc, field + ".uscc")
    return UnitRef(name=name, uscc=code)


def check_choices(needs: list[Need], choices: list[MaterialChoice], *, complete: bool) -> list[MaterialChoice]:
    """Each choice meets one need in one way; with ``complete`` every need must be met (told all at once)."""
    wanted = {(n["material"], n["role"]) for n in needs}
    seen: set[tuple[str, str]] = set()
    checked: list[MaterialChoice] = []
    for i, choice in enumerate(choices):
        field = f"materials[{i}]"
        key = (choice.material, choice.role)
        if key not in wanted or key in seen:
            raise ApiError(422, "validation_error", "提交的材料与本项业务所需材料不符，请刷新页面后重试",
                           [FieldError(field, "不需要此材料")])
        if (choice.document_id is None) == (choice.ask_unit is None):
            raise ApiError(422, "validation_error", "请为每项材料选择“自行上传”或“请单位上传”",
                           [FieldError(field, "请选择提供方式")])
        if choice.material == "review_letter" and choice.document_id is None:
            raise ApiError(422, "validation_error", "政审函请本人上传",
                           [FieldError(field, "请上传政审单位出具的政审函")])
        seen.add(key)
        unit = check_unit(choice.ask_unit, field + ".ask_unit") if choice.ask_unit else None
        checked.append(MaterialChoice(material=choice.material, role=choice.role, document_id=choice.document_id,
                                      ask_unit=unit))
    missing = [n for n in needs if (n["material"], n["role"]) not in seen]
    if complete and missing:
        names = "、".join(f"{ROLE_NAMES[n['role']]}的{MATERIAL_NAMES[n['material']]}" for n in missing)
        raise ApiError(422, "materials_missing", f"还缺少：{names}。请上传或请单位上传后再提交。",
                       [FieldError("materials", "材料不全")])
    return checked


def _code() -> str:
    return short_code(8)


async def event(db: AsyncSession, app: Application, status: str, note: str | None, now: datetime,
                actor: str | None = None) -> StatusEvent:
    """A portal-side timeline line; the holder is told of it when it is worth a message."""
    added = StatusEvent(application_id=app.id, status=status, note=note, source="portal", occurred_at=now,
                        actor=actor)
    db.add(added)
    await notifications.queue(db, app, added)
    return added


async def _open_requests(db: AsyncSession, app: Application, material: str, role: str) -> list[LetterRequest]:
    return list(await db.scalars(select(LetterRequest).where(
        LetterRequest.application_id == app.id, LetterRequest.material == material, LetterRequest.role == role,
        LetterRequest.state == "open")))


async def attach(db: AsyncSession, files: FileStore, app: Application, document: Document, material: str,
                 role: str, by: str, now: datetime) -> None:
    """Puts a document on the application for one need (replacing an earlier one not yet forwarded)."""
    others = await db.scalars(
        select(Document).options(selectinload(Document.files)).join(
            ApplicationDocument, ApplicationDocument.document_id == Document.id)
        .where(ApplicationDocument.application_id == app.id,
               (ApplicationDocument.material != material) | (ApplicationDocument.role != role))
    )
    total = sum(uploads.document_bytes(d) for d in others) + uploads.document_bytes(document)
    if total > uploads.MAX_APPLICATION_BYTES:
        raise ApiError(422, "application_too_large", "一份申请的材料总大小不能超过40MB，请压缩后重新上传")
    await uploads.seal(db, files, document)
    existing = await db.scalar(select(ApplicationDocument).where(
        ApplicationDocument.application_id == app.id, ApplicationDocument.material == material,
        ApplicationDocument.role == role))
    if existing is None:
        db.add(ApplicationDocument(application_id=app.id, document_id=document.id, material=material, role=role,
                                   attached_by=by, created_at=now))
    else:
        existing.document_id, existing.attached_by, existing.forwarded_at = document.id, by, None
    for request in await _open_requests(db, app, material, role):
        request.state, request.decided_at = "withdrawn", now


async def ask(db: AsyncSession, app: Application, material: str, role: str, unit: UnitRef,
              now: datetime) -> LetterRequest:
    for old in await _open_requests(db, app, material, role):
        old.state, old.decided_at = "withdrawn", now
    request = LetterRequest(id=uuid.uuid4(), code=_code(), application_id=app.id, material=material, role=role,
                            unit_uscc=unit.uscc, unit_name=unit.name, state="open", created_at=now,
                            expires_at=now + REQUEST_LIFETIME)
    db.add(request)
    await event(db, app, "letter_requested", f"已请{unit.name}上传{MATERIAL_NAMES[material]}", now)
    return request


async def apply_choices(db: AsyncSession, files: FileStore, app: Application, principal: Principal,
                        choices: list[MaterialChoice], now: datetime) -> None:
    for choice in choices:
        if choice.document_id is not None:
            document = await uploads.usable(db, principal, choice.document_id, choice.material)
            await attach(db, files, app, document, choice.material, choice.role, "person", now)
            await event(db, app, "material_attached", f"{MATERIAL_NAMES[choice.material]}已上传", now)
        elif choice.ask_unit is not None:
            await ask(db, app, choice.material, choice.role, choice.ask_unit, now)


async def missing_needs(db: AsyncSession, app: Application) -> list[Need]:
    attached = {(a.material, a.role) for a in await db.scalars(
        select(ApplicationDocument).where(ApplicationDocument.application_id == app.id))}
    return [n for n in app.details.get("needs", []) if (n["material"], n["role"]) not in attached]


async def settle(db: AsyncSession, app: Application, now: datetime) -> bool:
    """Sets the status from what is still missing; when nothing is, queues the application for forwarding."""
    app.updated_at = now
    if not await missing_needs(db, app):
        app.status = "submitted"
        await enqueue_submit(db, app, now)
        return True
    open_request = await db.scalar(select(LetterRequest.id).where(
        LetterRequest.application_id == app.id, LetterRequest.state == "open", LetterRequest.expires_at > now))
    app.status = "awaiting_unit" if open_request is not None else "awaiting_material"
    return False


async def enqueue_submit(db: AsyncSession, app: Application, now: datetime) -> None:
    row = await db.scalar(select(OutboxMessage).where(OutboxMessage.application_id == app.id,
                                                      OutboxMessage.kind == "submit"))
    if row is None:
        db.add(OutboxMessage(application_id=app.id, kind="submit", attempts=0, next_attempt_at=now, created_at=now))
    else:
        row.done_at = row.dead_at = row.lease_until = None
        row.next_attempt_at, row.created_at, row.attempts = now, now, 0


def request_info(request: LetterRequest, base_url: str, now: datetime) -> LetterRequestInfo:
    state = "expired" if request.state == "open" and request.expires_at <= now else request.state
    return LetterRequestInfo(
        code=request.code, link=f"{base_url}/unit/requests/{request.code}", unit_name=request.unit_name,
        uscc=request.unit_uscc, state=state,  # type: ignore[arg-type]
        state_label=REQUEST_STATE_LABELS[state], reason=request.reason, requested_at=iso_china(request.created_at),
        expires_at=iso_china(request.expires_at),
    )


async def states(db: AsyncSession, app: Application, base_url: str, now: datetime) -> list[MaterialState]:
    attached = {(a.material, a.role): a for a in await db.scalars(
        select(ApplicationDocument).where(ApplicationDocument.application_id == app.id))}
    requests = list(await db.scalars(select(LetterRequest).where(LetterRequest.application_id == app.id)
                                     .order_by(LetterRequest.created_at.desc())))
    result: list[MaterialState] = []
    for need in app.details.get("needs", []):
        key = (need["material"], need["role"])
        latest = next((r for r in requests if (r.material, r.role) == key and r.state != "withdrawn"), None)
        info = request_info(latest, base_url, now) if latest else None
        document = None
        if key in attached:
            state = "attached"
            loaded = await db.scalar(select(Document).options(selectinload(Document.files))
                                     .where(Document.id == attached[key].document_id))
            document = uploads.view(loaded) if loaded else None
        elif info is not None and info.state in ("declined", "expired"):
            state = info.state
        elif info is not None and info.state == "open":
            state = "requested"
        else:
            state = "missing"
        view = need_view(need)
        result.append(MaterialState(
            material=view.material, material_name=view.material_name, role=view.role, role_name=view.role_name,
            state=state, state_label=MATERIAL_STATE_LABELS[state],  # type: ignore[arg-type]
            document=document, request=info,
        ))
    return result
