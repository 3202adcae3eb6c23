"""``/sandbox/…`` helpers and ``/healthz``: demo and test hooks the real system does not have (no token)."""

from __future__ import annotations

from litestar import Router, get, post, put
from litestar.params import FromPath, JSONBody

from sandbox.provincial.faults import FaultsDep
from sandbox.provincial.schemas import Faults, RefuseIn, SandboxApplication
from sandbox.provincial.service import act, not_found, sandbox_view
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


@post("/applications/{application_id:str}/accept", operation_id="sandboxAccept", status_code=200)
async def accept(application_id: FromPath[str], store: StoreDep) -> SandboxApplication:
    """受理 (submitted → accepted)."""
    return sandbox_view(store, act(store, application_id, "accept"))


@post("/applications/{application_id:str}/complete", operation_id="sandboxComplete", status_code=200)
async def complete(application_id: FromPath[str], store: StoreDep) -> SandboxApplication:
    """办结 (accepted → completed): numbers the certificate and dates it today."""
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
    route_handlers=[get_faults, set_faults, get_application, accept, complete, refuse],
    tags=["sandbox"],
)
