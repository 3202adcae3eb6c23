from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from auth.guards import current_principal, require_person
from bff.domain.applications import services
from bff.domain.applications.schemas import ApplicationCreate, ApplicationDetail, ApplicationList
from bff.domain.archives.services import cached_archive, fetch_archive
from bff.domain.certificates.services import certificate_pdf_for
from bff.lib.deps import Db
from bff.lib.errors import ApiError, error_responses
from bff.provincial.client import ProvincialApi


class ApplicationController(Controller):
    path = "/api/applications"
    tags = ["applications"]
    guards = [require_person]

    @post("/", operation_id="submitApplication", summary="Submit an application (idempotent by Idempotency-Key)",
          responses=error_responses(400, 409, 422))
    async def submit(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[ApplicationCreate],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
    ) -> Response[ApplicationDetail]:
        principal = current_principal(request)
        key = services.check_key(idempotency_key)
        body = services.validate(data)
        replay = await services.existing(db, principal.sub, key, body)
        if replay is not None:
            found = await services.get_for(db, principal.sub, str(replay.id))
            return Response(await services.detail(db, found), status_code=200)
        store = request.app.state.store
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
            result = await services.submit(db, principal, key, body, archive)
        if result.created:
            request.app.state.relay_wakeup.set()
        application = await services.get_for(db, principal.sub, str(result.application.id))
        return Response(await services.detail(db, application), status_code=201 if result.created else 200)

    @get("/", operation_id="listApplications", summary="我的申请")
    async def list(self, request: Request[Any, Any, Any], db: Db) -> ApplicationList:
        rows = await services.list_for(db, current_principal(request).sub)
        return ApplicationList(items=[services.summary(a) for a in rows])

    @get("/{application_id:str}", operation_id="getApplication", summary="One application with its timeline")
    async def detail(self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str]) -> ApplicationDetail:
        application = await services.get_for(db, current_principal(request).sub, application_id)
        return await services.detail(db, application)

    @get("/{application_id:str}/certificate", operation_id="downloadCertificate",
         summary="The signed e-certificate (PDF)", media_type="application/pdf")
    async def certificate(
        self, request: Request[Any, Any, Any], db: Db, application_id: FromPath[str]
    ) -> Response[bytes]:
        application = await services.get_for(db, current_principal(request).sub, application_id)
        pdf, certificate_no = await certificate_pdf_for(db, request.app.state.files, application)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{certificate_no}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })
