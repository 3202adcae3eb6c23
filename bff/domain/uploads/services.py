"""Documents (material such as a 单位介绍信): stream in, check, store under random names, show, attach, purge.

A document is one PDF or several photos of one paper letter. Each uploaded file is checked by its content
(``content.py``); the portal shows a sanitised copy, while the provincial system receives the PDF as uploaded
(a seal's signature must stay intact) or the photos made into one PDF.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import anyio.to_thread
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from auth.sessions import Principal
from bff.db.models import Application, ApplicationDocument, Document, DocumentFile
from bff.domain.uploads import content
from bff.domain.uploads.schemas import MATERIAL_NAMES, DocumentRead, FileRead
from bff.lib.clock import utcnow
from bff.lib.errors import ApiError, not_found
from bff.lib.files import FileMissing, FileStore, forget
from bff.lib.holders import holder_key

log = logging.getLogger("bff.uploads")

MAX_FILES_PER_DOCUMENT = 20
MAX_DOCUMENT_BYTES = 30 * 1024 * 1024
MAX_APPLICATION_BYTES = 40 * 1024 * 1024
MAX_DRAFT_BYTES_PER_OWNER = 60 * 1024 * 1024
MAX_DRAFTS_PER_OWNER = 20
DRAFT_LIFETIME = timedelta(days=1)
FILE_ID = re.compile(r"^[A-Za-z0-9_-]{8,36}$")


def too_large() -> ApiError:
    return ApiError(413, "file_too_large", "单个文件不能超过10MB，请压缩或分页拍摄后再上传")


async def read_limited(stream: AsyncIterator[bytes], declared: str | None) -> bytes:
    """The request body, refused as soon as it passes the limit (a declared length is checked first)."""
    if declared is not None and declared.isdigit() and int(declared) > content.MAX_FILE_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > content.MAX_FILE_BYTES:
            raise too_large()
        chunks.append(chunk)
    if size == 0:
        raise ApiError(422, "empty_file", "文件是空的，请重新选择")
    return b"".join(chunks)


def _storage_key(extension: str) -> str:
    day = utcnow().strftime("%Y/%m/%d")
    return f"uploads/{day}/{secrets.token_hex(16)}.{extension}"


def view(document: Document) -> DocumentRead:
    files = [
        FileRead(id=f.file_id, name=f.name, kind="pdf" if f.kind == "pdf" else "image", content_type=f.content_type,
                 size=f.size, pages=f.pages, download_url=f"/api/documents/{document.id}/files/{f.file_id}")
        for f in document.files
    ]
    return DocumentRead(
        id=str(document.id), material=document.material, material_name=MATERIAL_NAMES[document.material],
        state="attached" if document.state == "attached" else "draft", files=files,
        pages=sum(f.pages for f in document.files), size=sum(f.size for f in document.files),
    )


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found() from None


async def load_own(db: AsyncSession, principal: Principal, document_id: str, *, lock: bool = False) -> Document:
    """The principal's own document with its files; anyone else's is simply not found."""
    query = (select(Document).options(selectinload(Document.files))
             .where(Document.id == _parse_id(document_id), Document.owner_sub == principal.sub))
    if lock:
        query = query.with_for_update()
    found = await db.scalar(query)
    if found is None:
        raise await _not_found(db, document_id)
    return found


async def _not_found(db: AsyncSession, document_id: str) -> Exception:
    """404, naming the document when it exists but is someone else's (the audit trail records the attempt)."""
    wanted = _parse_id(document_id)
    elsewhere = await db.scalar(select(Document.id).where(Document.id == wanted))
    return not_found(("document", str(wanted)) if elsewhere is not None else None)


async def create(db: AsyncSession, principal: Principal, material: str) -> Document:
    drafts = await db.scalar(select(func.count()).select_from(Document)
                             .where(Document.owner_sub == principal.sub, Document.state == "draft"))
    if (drafts or 0) >= MAX_DRAFTS_PER_OWNER:
        raise ApiError(429, "too_many_drafts", "未提交的材料过多，请先提交或删除已上传的材料")
    document = Document(id=uuid.uuid4(), owner_sub=principal.sub, material=material, state="draft",
                        created_at=utcnow())
    db.add(document)
    await db.commit()
    return await load_own(db, principal, str(document.id))


def _editable(document: Document) -> None:
    if document.state != "draft":
        raise ApiError(409, "document_attached", "这份材料已随申请提交，不能再修改")


async def _draft_bytes(db: AsyncSession, owner: str) -> int:
    total = await db.scalar(
        select(func.coalesce(func.sum(DocumentFile.size), 0)).join(Document)
        .where(Document.owner_sub == owner, Document.state == "draft")
    )
    return int(total or 0)


async def add_file(db: AsyncSession, files: FileStore, principal: Principal, document_id: str, file_id: str,
                   name: str, data: bytes) -> tuple[Document, bool]:
    """Checks and stores one file; the same ``file_id`` with the same bytes again is a replay (nothing new)."""
    if not FILE_ID.match(file_id):
        raise ApiError(400, "bad_file_id", "文件标识不正确，请刷新页面后重试")
    document = await load_own(db, principal, document_id)
    upload_sha = hashlib.sha256(data).hexdigest()
    for existing in document.files:
        if existing.file_id == file_id:
            if existing.upload_sha256 != upload_sha:
                raise ApiError(422, "idempotency_mismatch", "该文件标识已用于另一个文件，请刷新页面后重试")
            return document, False
    _editable(document)
    try:
        checked = await anyio.to_thread.run_sync(content.check, data)
    except content.ContentRefused as exc:
        raise ApiError(422, exc.code, exc.message) from None
    if checked.kind == "pdf" and document.files:
        raise ApiError(422, "mixed_document",
                       "一份材料只能是一个PDF文件，或同一封信的多张照片；请删除已有文件后再上传PDF")
    if any(f.kind == "pdf" for f in document.files):
        raise ApiError(422, "mixed_document", "这份材料已是一个PDF文件，不能再添加照片；如需更换，请先删除")
    if len(document.files) >= MAX_FILES_PER_DOCUMENT:
        raise ApiError(422, "too_many_pages", f"一份材料最多{MAX_FILES_PER_DOCUMENT}页")
    size = len(checked.original)  # what the person uploaded (and what the provincial system gets)
    if sum(f.size for f in document.files) + size > MAX_DOCUMENT_BYTES:
        raise ApiError(422, "document_too_large", "这份材料的文件总大小不能超过30MB")
    if await _draft_bytes(db, principal.sub) + size > MAX_DRAFT_BYTES_PER_OWNER:
        raise ApiError(422, "quota_exceeded", "您未提交的材料已超过60MB，请先提交或删除部分材料")

    display_key = _storage_key(checked.extension)
    await files.put(display_key, checked.display, checked.content_type)
    original_key = display_key
    if checked.original != checked.display:
        original_key = _storage_key(checked.extension)
        await files.put(original_key, checked.original, "application/pdf")
    db.add(DocumentFile(
        document_id=document.id, file_id=file_id, kind=checked.kind, content_type=checked.content_type,
        name=content.safe_filename(name, checked.extension), size=size, upload_sha256=upload_sha,
        pages=checked.pages, original_key=original_key, display_key=display_key, created_at=utcnow(),
    ))
    try:
        await db.commit()
    except IntegrityError:  # the same file_id raced in from a retry: keep the first
        await db.rollback()
        await forget(files, {display_key, original_key})
        return await load_own(db, principal, document_id), False
    db.expire_all()
    return await load_own(db, principal, document_id), True


async def remove_file(db: AsyncSession, files: FileStore, principal: Principal, document_id: str,
                      file_id: str) -> Document:
    document = await load_own(db, principal, document_id)
    _editable(document)
    target = next((f for f in document.files if f.file_id == file_id), None)
    if target is None:
        raise not_found()
    keys = {target.display_key, target.original_key}
    await db.delete(target)
    await db.commit()
    await forget(files, keys)
    db.expire_all()
    return await load_own(db, principal, document_id)


async def remove(db: AsyncSession, files: FileStore, principal: Principal, document_id: str) -> None:
    document = await load_own(db, principal, document_id)
    _editable(document)
    keys = {k for f in document.files for k in (f.display_key, f.original_key)}
    await db.delete(document)
    await db.commit()
    await forget(files, keys)


async def readable(db: AsyncSession, principal: Principal, document_id: str) -> Document:
    """A document its uploader may read, or the holder of an application it is attached to."""
    wanted = _parse_id(document_id)
    found = await db.scalar(select(Document).options(selectinload(Document.files)).where(Document.id == wanted))
    if found is None:
        raise not_found()
    if found.owner_sub == principal.sub:
        return found
    if principal.role == "person" and principal.id_type and principal.id_number:
        attached = await db.scalar(
            select(ApplicationDocument.id).join(Application, Application.id == ApplicationDocument.application_id)
            .where(ApplicationDocument.document_id == wanted,
                   Application.holder_key == holder_key(principal.id_type, principal.id_number))
        )
        if attached is not None:
            return found
    raise not_found(("document", str(wanted)))


async def download(db: AsyncSession, files: FileStore, principal: Principal, document_id: str,
                   file_id: str) -> tuple[bytes, DocumentFile]:
    document = await readable(db, principal, document_id)
    target = next((f for f in document.files if f.file_id == file_id), None)
    if target is None:
        raise not_found()
    try:
        return await files.get(target.display_key), target
    except FileMissing:
        log.error("stored upload missing", extra={"event": {"document_id": str(document.id)}})
        raise not_found() from None


async def usable(db: AsyncSession, principal: Principal, document_id: str, material: str) -> Document:
    """A document the principal may attach for ``material``: theirs, of that material, with at least one file."""
    document = await load_own(db, principal, document_id, lock=True)
    if document.state == "attached" and document.forward_key is None:  # its originals passed their retention
        raise ApiError(422, "document_expired", "这份材料已超过保存期限，请重新上传")
    if document.material != material:
        raise ApiError(422, "wrong_material", f"所选文件不是{MATERIAL_NAMES.get(material, '所需材料')}，请重新上传")
    if not document.files:
        raise ApiError(422, "empty_document", f"请先上传{MATERIAL_NAMES.get(material, '材料')}")
    return document


def document_bytes(document: Document) -> int:
    return sum(f.size for f in document.files)


async def seal(db: AsyncSession, files: FileStore, document: Document) -> None:
    """Marks a document attached and fixes what will be forwarded: the PDF as uploaded, or the photos as one PDF."""
    if document.state == "attached" and document.forward_key:
        return
    if len(document.files) == 1 and document.files[0].kind == "pdf":
        key = document.files[0].original_key
        data = await files.get(key)
    else:
        images = [await files.get(f.display_key) for f in document.files]
        try:
            data = await anyio.to_thread.run_sync(content.images_to_pdf, images)
        except content.ContentRefused as exc:
            raise ApiError(422, exc.code, exc.message) from None
        key = _storage_key("pdf")
        await files.put(key, data, "application/pdf")
    document.forward_key = key
    document.forward_sha256 = hashlib.sha256(data).hexdigest()
    document.state = "attached"
    document.attached_at = utcnow()


async def purge_stale(db: AsyncSession, files: FileStore, now: datetime | None = None, *,
                      lifetime: timedelta = DRAFT_LIFETIME, limit: int = 500) -> int:
    """Deletes drafts never attached to a submitted application within ``lifetime`` (a day unless the retention
    settings say otherwise), at most ``limit`` a call; returns how many. Called by the retention purge
    (``bff.domain.retention``). Only ids and storage keys are read, and a draft being attached meanwhile is
    locked (PostgreSQL) or no longer a draft, so it is kept."""
    cutoff = (now or utcnow()) - lifetime
    ids = list(await db.scalars(
        select(Document.id).where(Document.state == "draft", Document.created_at < cutoff)
        .limit(limit).with_for_update(skip_locked=True)
    ))
    if not ids:
        return 0
    keys = {k for row in await db.execute(select(DocumentFile.display_key, DocumentFile.original_key)
                                          .where(DocumentFile.document_id.in_(ids))) for k in row}
    await db.execute(delete(DocumentFile).where(DocumentFile.document_id.in_(ids)))
    await db.execute(delete(Document).where(Document.id.in_(ids), Document.state == "draft"))
    await db.commit()
    await forget(files, keys)
    log.info("purged stale uploads", extra={"event": {"documents": len(ids)}})
    return len(ids)


async def readable_or_none(db: AsyncSession, principal: Principal, document_id: str) -> Document | None:
    try:
        return await readable(db, principal, document_id)
    except ApiError:
        return None
