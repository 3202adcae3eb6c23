"""``/api/…``: the contract the BFF depends on (docs/provincial-api.md)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Annotated

import msgspec
from litestar import Response, Router, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from sandbox.provincial.auth import service_token_guard
from sandbox.provincial.errors import ApiError
from sandbox.provincial.faults import FaultsDep
from sandbox.provincial.schemas import (
    AgencyList,
    ApplicationIn,
    ApplicationState,
    Archive,
    ArchiveLookup,
    CertificateResult,
    ErrorBody,
    StatusChanges,
)
from sandbox.provincial.service import agency_of, archive_of, certificate_result, change_out, not_found
from sandbox.provincial.store import Record, StoreDep
from sandbox.provincial.validation import check_id, validate_application
from sandbox.seed import AGENCIES, person_by_id

log = logging.getLogger("sandbox.provincial")


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    described = {
        400: "bad_request: malformed JSON or an unknown field",
        401: "unauthorized: missing, expired or forged service token",
        404: "archive_not_found / application_not_found",
        409: "not_ready: the application is not finished",
        422: "validation_error (field names it) / idempotency_mismatch",
        503: "unavailable: the system is down",
    }
    return {c: ResponseSpec(data_container=ErrorBody, description=described[c]) for c in (401, 503, *codes)}


def _state(record: Record) -> ApplicationState:
    return ApplicationState(
        application_id=record.application_id,
        case_no=record.case_no,
        status=record.status,  # type: ignore[arg-type]
        received_at=record.received_at,
    )


def body_hash(data: JSONBody[ApplicationIn]) -> str:
    """A hash of the body's meaning: key order and whitespace do not change it."""
    canonical = msgspec.json.encode(msgspec.to_builtins(data), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


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
    validate_application(data)
    agency = agency_of(data.agency_code)
    outcome = store.submit(key, msgspec.to_builtins(data), body_hash(data), agency.region_code)
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
    return Response(_state(outcome.record), status_code=201 if outcome.created else 200)


@get("/applications/{application_id:str}", operation_id="getApplication", responses=_errors(404))
async def get_application(application_id: FromPath[str], store: StoreDep) -> ApplicationState:
    """Where an application stands: what a client checks after a timeout, before it sends again."""
    record = store.get(application_id)
    if record is None:
        raise not_found()
    return _state(record)


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
    """What a finished certificate states; 409 ``not_ready`` until the application is 已办结."""
    record = store.get(application_id)
    if record is None:
        raise not_found()
    return certificate_result(record)


api_router = Router(
    path="/api",
    route_handlers=[
        lookup_archive,
        list_agencies,
        submit_application,
        get_application,
        list_status_changes,
        get_result,
    ],
    guards=[service_token_guard],
    security=[{"serviceToken": []}],
    tags=["provincial"],
)
