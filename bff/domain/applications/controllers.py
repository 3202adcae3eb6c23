from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from auth.guards import current_principal, require_person
from bff.db.models import Application
from bff.domain import audit
from bff.domain.agencies import agency_by_code, known_agencies
from bff.domain.applications import services, transfers
from bff.domain.applications.schemas import (
    ApplicationCreate,
    ApplicationDetail,
    ApplicationKind,
    ApplicationList,
    Confirmation,
    RatingCreate,
    TargetNature,
    TransferRoute,
)
from bff.domain.archives.services import cached_archive, fetch_archive
from bff.domain.certificates.services import certificate_pdf_for
from bff.domain.events import publish_application_change, publish_unit_change
from bff.domain.materials import services as materials
from bff.domain.materials.schemas import MaterialsUpdate, Requirements, UnitRef
from bff.lib.deps import Db
from bff.lib.errors import ApiError, error_responses
from bff.lib.ratelimit import rate_limit
from bff.provincial.client import ProvincialApi
from bff.provincial.schemas import Archive


def _base(request: Request[Any, Any, Any]) -> str:
    base: str = request.app.state.settings.server.public_base_url
    return base


async def _archive(request: Request[Any, Any, Any]) -> Archive:
    return await fetch_archive(request.app.state.provincial, request.app.state.store, current_principal(request))


async def _detail(request: Request[Any, Any, Any], db: Db, application: Application) -> ApplicationDetail:
    state = request.app.state
    return await services.detail(db, application, _base(request), state.calendar,
                                 await known_agencies(state.provincial, state.store))


def _notify(request: Request[Any, Any, Any], application: Application, usccs: set[str]) -> None:
    """Other open windows of the holder, and the units concerned, hear of the change at once."""
    channels = request.app.state.channels
    publish_application_change(channels, application.holder_key, str(application.id), application.status)
    for uscc in usccs - {""}:
        publish_unit_change(channels, uscc)


class ApplicationController(Controller):
    path = "/api/applications"
    tags = ["applications"]
    guards = [require_person]

    @post("/", operation_id="submitApplication", summary="Submit an application (idempotent by Idempotency-Key)",
          guards=[rate_limit("submit", "submit_address")], responses=error_responses(400, 409, 422, 429))
    async def submit(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[ApplicationCreate],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
    ) -> Response[ApplicationDetail]:
        principal = current_principal(request)
        key = services.check_key(idempotency_key)
        body = services.validate(data)
        replay = await services.existing(db, principal.sub, key, body)
        if replay is not None:
            found = await services.get_for(db, principal, str(replay.id))
            return Response(await _detail(request, db, found), status_code=200)
        store = request.app.state.store
        target = None
        if body.transfer is not None:
            target = await agency_by_code(request.app.state.provincial, store, body.transfer.target_agency_code)
        async with services.in_flight(store, principal.sub, key):
            archive = await cached_archive(store, principal)
            if archive is None:
                provincial: ProvincialApi = request.app.state.provincial
                try:
                    archive = await fetch_archive(provincial, store, principal)
                except ApiError as exc:
                    if exc.code != "provincial_unavailable":
                        raise
                    archive = None  # the relay looks it up before forwarding
            result = await services.submit(db, request.app.state.files, principal, key, body, archive, target)
        if result.created:
            request.app.state.relay_wakeup.set()
        application = await services.get_for(db, principal, str(result.application.id))
        if result.created:
            _notify(request, application, {c.ask_unit.uscc for c in body.materials if c.ask_unit})
        return Response(await _detail(request, db, application), status_code=201 if result.created else 200)

    @get("/requirements", operation_id="getRequirements",
         summary="The material an application of this kind needs, all at once (一次性告知)",
         responses=error_responses(404, 422, 503))
    async def requirements(
        self, request: Request[Any, Any, Any], kind: FromQuery[ApplicationKind],
        target_nature: FromQuery[TargetNature | None] = None,
        unit_name: Annotated[str | None, QueryParameter(max_length=300)] = None,
        unit_uscc: Annotated[str | None, QueryParameter(max_length=30)] = None,
    ) -> Requirements:
        """For a transfer, the 拟存档性质 (and the new employer when it is 单位委托) decide the letters too."""
        transfer = None
        if kind == "archive_transfer":
            unit = UnitRef(name=unit_name or "", uscc=unit_uscc or "") if target_nature == "1" else None
            if unit is not None and (unit.name or unit.uscc):
                unit = materials.check_unit(unit, "unit")
            transfer = {"target_nature": target_nature or "2",
                        "unit": {"name": unit.name, "uscc": unit.uscc} if unit else None}
        return materials.requirements(materials.needs_for(kind, await _archive(request), transfer))

    @get("/transfer-route", operation_id="getTransferRoute",
         summary="From the agency holding my archive to the one chosen, with the 接转流向",
         responses=error_responses(404, 422, 503))
    async def transfer_route(
        self, request: Request[Any, Any, Any],
        target_agency_code: Annotated[str, QueryParameter(min_length=1, max_length=8)],
    ) -> TransferRoute:
        state = request.app.state
        target = await agency_by_code(state.provincial, state.store, target_agency_code.strip())
        return transfers.route(await _archive(request), target)

    @get("/", operation_id="listApplications", summary="我的申请")
    async def list(self, request: Request[Any, Any, Any], db: Db) -> ApplicationList:
        return ApplicationList(items=await services.summaries_for(db, current_principal(request),
                                                                  request.app.state.calendar))

    @get("/{application_id:str}", operation_id="getApplication", summary="One application with its timeline")
    async def detail(self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str]) -> ApplicationDetail:
        application = await services.get_for(db, current_principal(request), application_id)
        await audit.record_request(request, audit.Entry("application.view", "ok", "application", str(application.id)))
        return await _detail(request, db, application)

    @post("/{application_id:str}/materials", operation_id="addApplicationMaterials", status_code=200,
          summary="Provide material still missing: upload it, or ask a unit (again)",
          responses=error_responses(400, 404, 409, 422))
    async def add_materials(self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str],
                            data: JSONBody[MaterialsUpdate]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        await services.add_materials(db, request.app.state.files, principal, application, data.materials)
        request.app.state.relay_wakeup.set()
        application = await services.get_for(db, principal, application_id)
        _notify(request, application, {c.ask_unit.uscc for c in data.materials if c.ask_unit})
        return await _detail(request, db, application)

    @post("/{application_id:str}/confirm", operation_id="confirmApplication", status_code=200,
          summary="Agree to a transfer the new employer started", responses=error_responses(400, 404, 409, 422, 503))
    async def confirm(self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str],
                      data: JSONBody[Confirmation]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        archive = await _archive(request)
        await services.confirm(db, request.app.state.files, principal, application, data.materials, archive)
        request.app.state.relay_wakeup.set()
        application = await services.get_for(db, principal, application_id)
        _notify(request, application, {c.ask_unit.uscc for c in data.materials if c.ask_unit}
                | {application.unit_uscc or ""})
        return await _detail(request, db, application)

    @post("/{application_id:str}/decline", operation_id="declineApplication", status_code=200,
          summary="Refuse a transfer the new employer started", responses=error_responses(404, 409))
    async def decline(self, request: Request[Any, Any, Any], db: Db,
                      application_id: FromPath[str]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        await services.cancel_unconfirmed(db, application)
        application = await services.get_for(db, principal, application_id)
        _notify(request, application, {application.unit_uscc or ""})
        return await _detail(request, db, application)

    @post("/{application_id:str}/withdraw", operation_id="withdrawApplication", status_code=200,
          summary="撤回 an application the agency has not yet accepted", responses=error_responses(404, 409, 503))
    async def withdraw(self, request: Request[Any, Any, Any], db: Db,
                       application_id: FromPath[str]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        await services.withdraw(db, request.app.state.provincial, application)
        application = await services.get_for(db, principal, application_id)
        _notify(request, application, {application.unit_uscc or ""})
        return await _detail(request, db, application)

    @post("/{application_id:str}/rating", operation_id="rateApplication", status_code=200,
          summary="好差评: rate a finished application once (1–5 and a comment)",
          responses=error_responses(404, 409, 422))
    async def rate(self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str],
                   data: JSONBody[RatingCreate]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        await services.rate(db, application, data)
        return await _detail(request, db, await services.get_for(db, principal, application_id))

    @post("/{application_id:str}/reissue", operation_id="reissueCertificate", status_code=200,
          summary="补发: a new e-certificate that supersedes the one in force",
          responses=error_responses(404, 409, 503))
    async def reissue(self, request: Request[Any, Any, Any], db: Db,
                      application_id: FromPath[str]) -> ApplicationDetail:
        principal = current_principal(request)
        application = await services.get_for(db, principal, application_id)
        await services.reissue(db, request.app.state.provincial, request.app.state.issuer, application)
        application = await services.get_for(db, principal, application_id)
        _notify(request, application, set())
        return await _detail(request, db, application)

    @get("/{application_id:str}/certificate", operation_id="downloadCertificate",
         summary="The signed e-certificate (PDF)", media_type="application/pdf")
    async def certificate(
        self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str]
    ) -> Response[bytes]:
        application = await services.get_for(db, current_principal(request), application_id)
        pdf, certificate_no = await certificate_pdf_for(db, request.app.state.files, application)
        await audit.record_request(request, audit.Entry("certificate.download", "ok", "certificate", certificate_no,
                                                        {"application": str(application.id)}))
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{certificate_no}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })
