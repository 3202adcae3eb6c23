"""``/api/…``: the contract the BFF depends on (docs/provincial-api.md)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from sandbox.common import now_china
from sandbox.provincial.auth import service_token_guard
from sandbox.provincial.errors import ApiError
from sandbox.provincial.faults import FaultsDep
from sandbox.provincial.schemas import (
    MATERIAL_NAMES,
    AgencyList,
    ApplicationDetail,
    ApplicationIn,
    ApplicationState,
    Archive,
    ArchiveLookup,
    CertificateResult,
    ErrorBody,
    FileList,
    Reminders,
    StatusChanges,
    StoredFile,
)
from sandbox.provincial.service import (
    agency_of,
    archive_of,
    certificate_result,
    change_out,
    detail_out,
    file_out,
    not_found,
    reminders,
    state_out,
    withdraw,
)
from sandbox.provincial.store import StoreDep
from sandbox.provincial.validation import check_file_path_ids, check_id, is_sha256, validate_application
from sandbox.seed import AGENCIES, person_by_id

log = logging.getLogger("sandbox.provincial")

MAX_FILE_BYTES: Final = 20 * 1024 * 1024  # 20 MiB
# a body over the limit is still read (and thrown away) up to this much, so the client gets its 413 answer
# instead of a connection reset in the middle of sending
_DRAIN_LIMIT: Final = 4 * MAX_FILE_BYTES


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    described = {
        400: "bad_request: malformed JSON or an unknown field",
        401: "unauthorized: missing, expired or forged service token",
        404: "archive_not_found / application_not_found",
        409: "not_ready: the application is not finished / no_result: the kind has no result document"
        " / invalid_transition: the step does not follow the current status",
        413: "too_large: the file is over 20 MiB",
        415: "unsupported_media_type: the file is not sent as application/pdf",
        422: "validation_error (field names it) / idempotency_mismatch",
        503: "unavailable: the system is down",
    }
    return {c: ResponseSpec(data_container=ErrorBody, description=described[c]) for c in (401, 503, *codes)}


def canonical(data: ApplicationIn) -> dict[str, Any]:
    """The body as stored and hashed: every field, except ``materials`` when empty and the optional objects when
    null (so an application hashes as it did before those fields existed)."""
    body: dict[str, Any] = msgspec.to_builtins(data)
    if not body.get("materials"):
        body.pop("materials", None)
    for optional in ("transfer", "post_address", "relative", "review", "applied_by_unit"):
        if body.get(optional) is None:
            body.pop(optional, None)
    return body


def body_hash(data: JSONBody[ApplicationIn]) -> str:
    """A hash of the body's meaning (materials included): key order and whitespace do not change it."""
    encoded = msgspec.json.encode(canonical(data), order="sorted")
    return hashlib.sha256(encoded).hexdigest()


@post("/archives/lookup", operation_id="lookupArchive", status_code=200, responses=_errors(400, 404, 422))
async def lookup_archive(data: JSONBody[ArchiveLookup]) -> Archive:
    """The person's archive (存档信息), by 证件类型 and 证件号码."""
    check_id(data.id_type, data.id_number)
    person = person_by_id(data.id_type, data.id_number)
    archive = archive_of(person) if person else None
    if archive is None:
        raise ApiError(404, "archive_not_found", "没有查到该证件的存档信息")
    return archive


@get("/agencies", operation_id="listAgencies", responses=_errors())
async def list_agencies(province: FromQuery[str | None] = None, q: FromQuery[str | None] = None) -> AgencyList:
    """The agency directory; ``province`` matches the province name (e.g. 浙江 or 浙江省), ``q`` the name."""
    found = [
        a
        for a in AGENCIES
        if (not province or a.province.startswith(province.strip())) and (not q or q.strip() in a.name)
    ]
    return AgencyList(agencies=found)


@post("/applications", operation_id="submitApplication", status_code=201, responses=_errors(400, 422))
async def submit_application(
    data: JSONBody[ApplicationIn],
    store: StoreDep,
    faults: FaultsDep,
    idempotency_key: Annotated[
        str | None, HeaderParameter(name="Idempotency-Key", description="the application_id (required)")
    ] = None,
) -> Response[ApplicationState]:
    """Store an application: 201 when new, 200 with the same answer when the same key and body come again."""
    key = (idempotency_key or "").strip()
    if not key:
        raise ApiError(400, "bad_request", "缺少 Idempotency-Key 请求头", "Idempotency-Key")
    if key != data.application_id:
        raise ApiError(422, "validation_error", "申请标识与 Idempotency-Key 不一致", "application_id")
    validate_application(data, store.files(data.application_id))
    agency = agency_of(data.agency_code)
    outcome = store.submit(key, canonical(data), body_hash(data), agency.region_code)
    if outcome.mismatch or outcome.record is None:
        raise ApiError(422, "idempotency_mismatch", "同一个 Idempotency-Key 已用于内容不同的申请", "Idempotency-Key")
    log.info(
        "application %s %s case_no=%s",
        "stored" if outcome.created else "resubmitted",
        data.application_id,
        outcome.record.case_no,
    )
    if faults.mode == "timeout_after_commit" and faults.delay_seconds > 0:
        await asyncio.sleep(faults.delay_seconds)
    return Response(state_out(outcome.record), status_code=201 if outcome.created else 200)


@get("/applications/{application_id:str}", operation_id="getApplication", responses=_errors(404))
async def get_application(application_id: FromPath[str], store: StoreDep) -> ApplicationDetail:
    """Where an application stands and what it is: what a client checks after a timeout before it sends again,
    and how it learns about a transfer taken at the receiving agency's window (``origin`` ``window``)."""
    record = store.get(application_id)
    if record is None:
        raise not_found()
    return detail_out(record)


@post(
    "/applications/{application_id:str}/withdraw",
    operation_id="withdrawApplication",
    status_code=200,
    responses=_errors(404, 409),
)
async def withdraw_application(application_id: FromPath[str], store: StoreDep) -> ApplicationDetail:
    """The person withdraws (撤回) an application still ``submitted``; again when already ``withdrawn``: the same
    200; once accepted or moved on: 409 ``invalid_transition``."""
    return detail_out(withdraw(store, application_id))


@get("/reminders", operation_id="listReminders", responses=_errors())
async def list_reminders(store: StoreDep) -> Reminders:
    """业务未办理提醒: every step now past its time limit in working days (the whole current state)."""
    as_of = now_china()
    return Reminders(reminders=reminders(store, as_of.date()), as_of=as_of.isoformat())


@get("/status-changes", operation_id="listStatusChanges", responses=_errors(400))
async def list_status_changes(
    store: StoreDep,
    after: Annotated[int, QueryParameter(ge=0, description="the last seq already seen")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> StatusChanges:
    """Status changes after the cursor, oldest first; ``last_seq`` is the cursor to send next time."""
    changes = store.changes(after, limit)
    return StatusChanges(changes=[change_out(c) for c in changes], last_seq=changes[-1].seq if changes else after)


@get(
    "/applications/{application_id:str}/result",
    operation_id="getApplicationResult",
    responses=_errors(404, 409),
)
async def get_result(application_id: FromPath[str], store: StoreDep) -> CertificateResult:
    """What a finished certificate states; 409 ``not_ready`` until it is 已办结 (``no_result`` for a transfer)."""
    record = store.get(application_id)
    if record is None:
        raise not_found()
    return certificate_result(record)


async def _read_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body, at most ``MAX_FILE_BYTES`` (413 ``too_large`` otherwise)."""
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > _DRAIN_LIMIT:
        raise ApiError(413, "too_large", "文件不能超过 20 MB", "file", headers={"Connection": "close"})
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > _DRAIN_LIMIT:
            break
        if total <= MAX_FILE_BYTES:
            chunks.append(chunk)
    if total > MAX_FILE_BYTES:
        raise ApiError(413, "too_large", "文件不能超过 20 MB", "file")
    return b"".join(chunks)


@put(
    "/applications/{application_id:str}/files/{file_id:str}",
    operation_id="putApplicationFile",
    status_code=201,
    request_max_body_size=None,  # _read_body enforces the limit and answers in our error shape
    responses=_errors(400, 413, 415, 422),
)
async def put_file(
    request: Request[Any, Any, Any],
    application_id: FromPath[str],
    file_id: FromPath[str],
    store: StoreDep,
    faults: FaultsDep,
    material: Annotated[
        str | None, HeaderParameter(name="X-Material", description="unit_letter 单位介绍信 | review_letter 政审函")
    ] = None,
    content_sha256: Annotated[
        str | None, HeaderParameter(name="X-Content-SHA256", description="hex SHA-256 of the body")
    ] = None,
) -> Response[StoredFile]:
    """Store one material file (the raw PDF as the body), before or after the application that lists it.

    Idempotent by (application_id, file_id): 201 when new, 200 with the same answer when the same bytes come
    again, 422 ``idempotency_mismatch`` when other bytes (or another material) come under the same ids."""
    data = await _read_body(request)  # read first: an early answer would cut a large upload off mid-way
    check_file_path_ids(application_id, file_id)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/pdf":
        raise ApiError(415, "unsupported_media_type", "文件须为 PDF，以 application/pdf 上传", "Content-Type")
    kind = (material or "").strip()
    if not kind:
        raise ApiError(400, "bad_request", "缺少 X-Material 请求头", "X-Material")
    if kind not in MATERIAL_NAMES:
        raise ApiError(
            422, "validation_error", "材料类型应为 unit_letter（单位介绍信）或 review_letter（政审函）", "X-Material"
        )
    claimed = (content_sha256 or "").strip().lower()
    if not claimed:
        raise ApiError(400, "bad_request", "缺少 X-Content-SHA256 请求头", "X-Content-SHA256")
    if not is_sha256(claimed):
        raise ApiError(422, "validation_error", "X-Content-SHA256 应为 64 位十六进制的 SHA-256", "X-Content-SHA256")
    if not data:
        raise ApiError(422, "validation_error", "文件是空的", "file")
    if not data.startswith(b"%PDF-"):
        raise ApiError(422, "validation_error", "文件不是 PDF 文件", "file")
    actual = hashlib.sha256(data).hexdigest()
    if actual != claimed:
        raise ApiError(
            422,
            "validation_error",
            "文件内容与 X-Content-SHA256 不符，可能在传输中损坏，请重新上传",
            "X-Content-SHA256",
        )
    outcome = await asyncio.to_thread(store.put_file, application_id, file_id, kind, actual, content_type, data)
    if outcome.mismatch or outcome.record is None:
        raise ApiError(422, "idempotency_mismatch", "该文件标识已用于内容不同的文件", "file_id")
    log.info(
        "file %s %s/%s (%s, %d bytes)",
        "stored" if outcome.created else "re-sent",
        application_id,
        file_id,
        kind,
        outcome.record.size,
    )
    if faults.mode == "timeout_after_commit" and faults.delay_seconds > 0:
        await asyncio.sleep(faults.delay_seconds)
    return Response(file_out(outcome.record), status_code=201 if outcome.created else 200)


@get("/applications/{application_id:str}/files", operation_id="listApplicationFiles", responses=_errors())
async def list_files(application_id: FromPath[str], store: StoreDep) -> FileList:
    """The files PUT under an application id (empty when none, whether or not the application exists yet)."""
    return FileList(files=[file_out(f) for f in store.files(application_id)])


api_router = Router(
    path="/api",
    route_handlers=[
        lookup_archive,
        list_agencies,
        submit_application,
        get_application,
        withdraw_application,
        list_reminders,
        list_status_changes,
        get_result,
        put_file,
        list_files,
    ],
    guards=[service_token_guard],
    security=[{"serviceToken": []}],
    tags=["provincial"],
)
