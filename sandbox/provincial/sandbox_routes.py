"""``/sandbox/…`` helpers and ``/healthz``: demo and test hooks the real system does not have (no token)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.params import FromPath, JSONBody

from sandbox.provincial.auto_advance import AutoAdvanceDep
from sandbox.provincial.errors import ApiError, from_msgspec
from sandbox.provincial.faults import FaultsDep
from sandbox.provincial.schemas import (
    ActionIn,
    AutoAdvanceIn,
    AutoAdvanceState,
    Faults,
    Load,
    SandboxApplication,
    SandboxFileList,
    WindowTransferIn,
)
from sandbox.provincial.service import act_with, create_window_transfer, not_found, sandbox_file_out, sandbox_view
from sandbox.provincial.store import StoreDep


@get("/faults", operation_id="sandboxGetFaults")
async def get_faults(faults: FaultsDep) -> Faults:
    return faults.snapshot()


@put("/faults", operation_id="sandboxSetFaults")
async def set_faults(data: JSONBody[Faults], faults: FaultsDep) -> Faults:
    """Switch a fault on (``down``, ``slow``, ``error``, ``timeout_after_commit``) or off (``none``)."""
    faults.set(data)
    return faults.snapshot()


@get("/load", operation_id="sandboxGetLoad")
async def get_load(faults: FaultsDep) -> Load:
    """The calls to ``/api/`` being served now and the most at once since the last reset."""
    return faults.load()


@put("/load/reset", operation_id="sandboxResetLoad")
async def reset_load(faults: FaultsDep) -> Load:
    faults.reset_load()
    return faults.load()


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


def _action_body(raw: bytes) -> ActionIn:
    """The optional JSON body of an action: nothing, ``null`` or ``{"reason", "method", "tracking_no",
    "letter_no", "occurred_at"}``."""
    if not raw.strip():
        return ActionIn()
    try:
        data = msgspec.json.decode(raw, type=ActionIn | None)
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", "请求体不是有效的 JSON") from exc
    return data or ActionIn()


@post(
    "/applications/{application_id:str}/{action:str}",
    operation_id="sandboxAct",
    status_code=200,
    request_max_body_size=64 * 1024,
)
async def apply_action(
    request: Request[Any, Any, Any], application_id: FromPath[str], action: FromPath[str], store: StoreDep
) -> SandboxApplication:
    """A clerk's step (the console's actions): ``accept``, ``complete``, ``refuse`` (certificates); ``accept``,
    ``issue_letter``, ``cannot_receive``, ``send``, ``cannot_send``, ``receive``, ``complete`` (入库), ``return``,
    ``confirm_return`` (transfers). Body (optional) ``{"reason", "method", "tracking_no", "letter_no",
    "occurred_at"}``: 404 unknown application or action, 409 ``invalid_transition``, 422 ``validation_error``."""
    data = _action_body(await request.body())
    if action == "withdraw":  # the person's, through the API (POST /api/applications/{id}/withdraw)
        raise ApiError(404, "not_found", "撤回由申请人通过 POST /api/applications/{id}/withdraw 办理")
    return sandbox_view(store, act_with(store, application_id, action, data))


@post("/window-transfers", operation_id="sandboxWindowTransfer", status_code=201)
async def window_transfer(data: JSONBody[WindowTransferIn], store: StoreDep) -> SandboxApplication:
    """A transfer taken at the receiving agency's window for a seeded person: stored ``accepted`` (origin
    ``window``, ``initiated_by`` ``window``), with an ``accepted`` change by the receiving agency."""
    return sandbox_view(store, create_window_transfer(store, data))


@get("/auto-advance", operation_id="sandboxGetAutoAdvance")
async def get_auto_advance(auto_advance: AutoAdvanceDep) -> AutoAdvanceState:
    return auto_advance.snapshot()


@put("/auto-advance", operation_id="sandboxSetAutoAdvance")
async def set_auto_advance(data: JSONBody[AutoAdvanceIn], auto_advance: AutoAdvanceDep) -> AutoAdvanceState:
    """Demo mode on or off; ``interval_seconds`` 0.2–3600 (kept as it was when left out)."""
    auto_advance.set(data)
    return auto_advance.snapshot()


@get("/healthz", operation_id="healthz", tags=["sandbox"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


sandbox_router = Router(
    path="/sandbox",
    route_handlers=[
        get_faults,
        set_faults,
        get_load,
        reset_load,
        get_application,
        list_files,
        download_file,
        apply_action,
        window_transfer,
        get_auto_advance,
        set_auto_advance,
    ],
    tags=["sandbox"],
)
