from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from auth.guards import current_principal
from bff.domain import audit
from bff.domain.uploads import services
from bff.domain.uploads.schemas import DocumentCreate, DocumentRead
from bff.lib.deps import Db
from bff.lib.errors import error_responses
from bff.lib.openapi import answered_as
from bff.lib.ratelimit import rate_limit


class DocumentController(Controller):
    """Material uploads, for persons and units alike; each document is visible to its uploader only."""

    path = "/api/documents"
    tags = ["documents"]

    @post("/", operation_id="createDocument", summary="Start a document (one letter: a PDF or several photos)",
          responses=error_responses(400, 429))
    async def create(self, request: Request[Any, Any, Any], db: Db, data: JSONBody[DocumentCreate]) -> DocumentRead:
        document = await services.create(db, current_principal(request), data.material)
        return services.view(document)

    @get("/{document_id:str}", operation_id="getDocument", summary="One of my documents")
    async def read(self, request: Request[Any, Any, Any], db: Db, document_id: FromPath[str]) -> DocumentRead:
        return services.view(await services.load_own(db, current_principal(request), document_id))

    @put("/{document_id:str}/files/{file_id:str}", operation_id="uploadDocumentFile",
         summary="Upload one file as the raw request body; retrying with the same file id is safe",
         request_max_body_size=None, guards=[rate_limit("upload", "upload_address")],
         responses=error_responses(400, 404, 409, 413, 422, 429))
    async def upload(
        self, request: Request[Any, Any, Any], db: Db, document_id: FromPath[str], file_id: FromPath[str],
        name: Annotated[str, QueryParameter(max_length=300, description="the file's name on the device")] = "",
    ) -> Response[DocumentRead]:
        principal = current_principal(request)
        await services.load_own(db, principal, document_id)  # 404 before reading anything
        data = await services.read_limited(request.stream(), request.headers.get("content-length"))
        document, created = await services.add_file(db, request.app.state.files, principal, document_id, file_id,
                                                    name, data)
        return Response(services.view(document), status_code=201 if created else 200)

    @delete("/{document_id:str}/files/{file_id:str}", operation_id="deleteDocumentFile", status_code=200,
            summary="Remove one file (a page) before the document is submitted", responses=error_responses(404, 409))
    async def remove_file(self, request: Request[Any, Any, Any], db: Db, document_id: FromPath[str],
                          file_id: FromPath[str]) -> DocumentRead:
        document = await services.remove_file(db, request.app.state.files, current_principal(request), document_id,
                                              file_id)
        return services.view(document)

    @delete("/{document_id:str}", operation_id="deleteDocument", summary="Delete a document not yet submitted",
            responses=error_responses(404, 409))
    async def remove(self, request: Request[Any, Any, Any], db: Db, document_id: FromPath[str]) -> None:
        await services.remove(db, request.app.state.files, current_principal(request), document_id)

    @get("/{document_id:str}/files/{file_id:str}", operation_id="downloadDocumentFile",
         summary="The portal's sanitised copy of one file (always as an attachment)",
         media_type="application/octet-stream",
         operation_class=answered_as("application/pdf", "image/jpeg", "image/png"))  # the display copy's type
    async def download(self, request: Request[Any, Any, Any], db: Db, document_id: FromPath[str],
                       file_id: FromPath[str]) -> Response[bytes]:
        data, stored = await services.download(db, request.app.state.files, current_principal(request), document_id,
                                               file_id)
        await audit.record_request(request, audit.Entry("document.download", "ok", "document",
                                                        str(stored.document_id)))
        return Response(data, media_type=stored.content_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        })
