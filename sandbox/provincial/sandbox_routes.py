"""``/sandbox/…`` helpers and ``/healthz``: demo and test hooks the real system does not have (no token)."""

from __future__ import annotations

import asyncio

from litestar import Response, Router, get, post, put
from litestar.params import FromPath, JSONBody

from sandbox.provincial.errors import ApiError
from sandbox.provincial.faults import FaultsDep
from sandbox.provincial.schemas import Faults, RefuseIn, SandboxApplication, SandboxFileList
from sandbox.provincial.service import act, not_found, sandbox_file_out, sandbox_view
from sandbox.provincial.store import StoreDep


@get("/faults", operation_id="sandboxGetFaults")
async def get_faults(faults: FaultsDep) -> Faults:
    return faults.snapshot()


@put("/faults", operation_id="sandboxSetFaults")
async def set_faults(data: JSONBody[Faults], faults: FaultsDep) -> Faults:
    """Switch a fault on (``down``, ``slow``, ``error``, ``timeout_after_commit``) or off (``none``)."""
    faults.set(data)
    return faults.snapshot()


@get("/applications/{application_id:str}", operation_id="sandboxGetApplication")
async def get_application(application_id: FromPath[str], store: StoreDep) -> SandboxApplication:
    record = store.get(application_id)
    if record is None:
        raise not_found()
    return sandbox_view(store, record)


@get("/applications/{application_id:str}/files", operation_id="sandboxListFiles")
async def list_files(application_id: FromPath[str], store: StoreDep) -> SandboxFileList:
    """The files PUT under an application id, each with ``put_count`` (how many times it was PUT and accepted)."""
    return SandboxFileList(files=[sandbox_file_out(f) for f in store.files(application_id)])


@get(
    "/applications/{application_id:str}/files/{file_id:str}",
    operation_id="sandboxDownloadFile",
    media_type="application/pdf",
)
async def download_file(application_id: FromPath[str], file_id: FromPath[str], store: StoreDep) -> Response[bytes]:
    """The file's bytes as an attachment (the clerk console links here)."""
    record = store.file(application_id, file_id)
    if record is None:
        raise ApiError(404, "file_not_found", "没有找到该文件")
    data = await asyncio.to_thread(store.file_bytes, record)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{record.file_id}.pdf"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@post("/applications/{application_id:str}/accept", operation_id="sandboxAccept", status_code=200)
async def accept(application_id: FromPath[str], store: StoreDep) -> SandboxApplication:
    """受理 (submitted → accepted)."""
    return sandbox_view(store, act(store, application_id, "accept"))


@post("/applications/{application_id:str}/complete", operation_id="sandboxComplete", status_code=200)
async def complete(application_id: FromPath[str], store: StoreDep) -> SandboxApplication:
    """办结 (accepted → completed): a certificate is numbered and dated today; a transfer just ends."""
    return sandbox_view(store, act(store, application_id, "complete"))


@post("/applications/{application_id:str}/refuse", operation_id="sandboxRefuse", status_code=200)
async def refuse(application_id: FromPath[str], data: JSONBody[RefuseIn], store: StoreDep) -> SandboxApplication:
    """不予办理 with a reason (from submitted or accepted)."""
    return sandbox_view(store, act(store, application_id, "refuse", data.reason))


@get("/healthz", operation_id="healthz", tags=["sandbox"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


sandbox_router = Router(
    path="/sandbox",
    route_handlers=[get_faults, set_faults, get_application, list_files, download_file, accept, complete, refuse],
    tags=["sandbox"],
)
