from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from auth.guards import current_principal, require_employer
from bff.domain import audit
from bff.domain.agencies import agency_by_code
from bff.domain.applications.services import check_key
from bff.domain.employer import services
from bff.domain.employer.schemas import (
    Fulfilment,
    NewHireTransfer,
    Refusal,
    UnitApplication,
    UnitApplicationList,
    UnitCertificateApplication,
    UnitRequest,
    UnitRequestList,
)
from bff.domain.events import publish_application_change, publish_unit_change
from bff.lib.deps import Db
from bff.lib.errors import ApiError, FieldError, error_responses
from bff.lib.ratelimit import rate_limit
from bff.provincial.client import ProvincialUnavailable


def _changed(request: Request[Any, Any, Any], apps: list[Any]) -> None:
    channels = request.app.state.channels
    for app in apps:
        publish_application_change(channels, app.holder_key, str(app.id), app.status)
    principal = current_principal(request)
    if principal.uscc:
        publish_unit_change(channels, principal.uscc)
    request.app.state.relay_wakeup.set()


class UnitController(Controller):
    """What a unit's HR (单位经办人) does; everything is scoped to the unit's 统一社会信用代码."""

    path = "/api/unit"
    tags = ["unit"]
    guards = [require_employer]

    @get("/requests", operation_id="listUnitRequests", summary="Letter requests naming the unit")
    async def requests(self, request: Request[Any, Any, Any], db: Db) -> UnitRequestList:
        items = await services.list_requests(db, current_principal(request))
        await audit.record_request(request, audit.Entry("unit.requests.list", "ok", detail={"count": len(items)}))
        return UnitRequestList(items=items)

    @get("/requests/{code:str}", operation_id="getUnitRequest", summary="One request, by its short code",
         responses=error_responses(404))
    async def one(self, request: Request[Any, Any, Any], db: Db, code: FromPath[str]) -> UnitRequest:
        found = await services.get_request(db, current_principal(request), code)
        await audit.record_request(request, audit.Entry("unit.request.view", "ok", "letter_request", found.code))
        return found

    @post("/requests/fulfil", operation_id="fulfilUnitRequests", status_code=200,
          summary="Upload one letter for one or several requests", responses=error_responses(400, 404, 409, 422))
    async def fulfil(self, request: Request[Any, Any, Any], db: Db, data: JSONBody[Fulfilment]) -> UnitRequestList:
        principal = current_principal(request)
        apps = await services.fulfil(db, request.app.state.files, principal, data.codes, data.document_id)
        _changed(request, apps)
        items = [await services.get_request(db, principal, c) for c in data.codes]
        return UnitRequestList(items=items)

    @post("/requests/{code:str}/decline", operation_id="declineUnitRequest", status_code=200,
          summary="Decline a request, with the reason the applicant will read",
          responses=error_responses(400, 404, 409, 422))
    async def decline(self, request: Request[Any, Any, Any], db: Db, code: FromPath[str],
                      data: JSONBody[Refusal]) -> UnitRequest:
        principal = current_principal(request)
        app = await services.decline(db, principal, code, data.reason)
        _changed(request, [app])
        return await services.get_request(db, principal, code)

    @post("/transfers", operation_id="startUnitTransfer",
          summary="Start a transfer into the unit's collective storage for a new hire (they confirm it)",
          guards=[rate_limit("submit_unit", "submit_address")], responses=error_responses(400, 409, 422, 429, 503))
    async def start_transfer(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[NewHireTransfer],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
    ) -> Response[UnitApplication]:
        principal = current_principal(request)
        key = check_key(idempotency_key)
        body = services.check_hire(data)
        agency = await agency_by_code(request.app.state.provincial, request.app.state.store, body.target_agency_code)
        if agency is None:
            raise ApiError(422, "validation_error", "请从机构目录中选择转入的存档机构",
                           [FieldError("target_agency_code", "不在机构目录中")])
        app, created = await services.start_transfer(db, request.app.state.files, principal, key, body, agency)
        if created:
            _changed(request, [app])
        return Response(services.unit_application(app), status_code=201 if created else 200)

    @post("/applications", operation_id="applyForEmployee",
          summary="Apply for an employee's certificate or 政审材料 (archive held by the unit, 单位委托)",
          guards=[rate_limit("submit_unit", "submit_address")],
          responses=error_responses(400, 403, 409, 422, 429, 503))
    async def apply_for_employee(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[UnitCertificateApplication],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
    ) -> Response[UnitApplication]:
        principal = current_principal(request)
        key = check_key(idempotency_key)
        body, fields = services.check_certificate(data)
        try:
            archive = await request.app.state.provincial.lookup_archive(body.id_type, body.id_number)
        except ProvincialUnavailable:
            raise ApiError(503, "provincial_unavailable", "省级档案系统暂时无法连接，请稍后再试") from None
        app, created = await services.apply_for_employee(db, request.app.state.files, principal, key, body, fields,
                                                         archive)
        if created:
            _changed(request, [app])
        return Response(services.unit_application(app), status_code=201 if created else 200)

    @get("/applications", operation_id="listUnitApplications", summary="Applications the unit started")
    async def applications(self, request: Request[Any, Any, Any], db: Db) -> UnitApplicationList:
        items = await services.list_applications(db, current_principal(request))
        await audit.record_request(request, audit.Entry("unit.applications.list", "ok",
                                                        detail={"count": len(items)}))
        return UnitApplicationList(items=items)
