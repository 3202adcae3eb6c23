"""Switchable faults, and a load meter (how many calls the portal makes at once: the drills check that
forwarding stays bounded after an outage). ``down`` and ``error`` answer every ``/api/`` call at once; ``slow``
delays them; ``timeout_after_commit`` is applied by the submit handler itself, after the application is stored.
The console, ``/sandbox/…`` and ``/healthz`` are never affected, so a fault can always be switched off."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TypeAlias

from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.params import SkipValidation
from litestar.types import ASGIApp, Receive, Scope, Send

from sandbox.provincial.schemas import ErrorBody, FaultMode, Faults, Load, to_json_text


@dataclass(slots=True)
class FaultSwitch:
    mode: FaultMode = "none"
    delay_seconds: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    served: int = 0

    def load(self) -> Load:
        return Load(in_flight=self.in_flight, max_in_flight=self.max_in_flight, served=self.served)

    def reset_load(self) -> None:
        self.max_in_flight, self.served = self.in_flight, 0

    def snapshot(self) -> Faults:
        return Faults(mode=self.mode, delay_seconds=self.delay_seconds)

    def set(self, faults: Faults) -> None:
        self.mode, self.delay_seconds = faults.mode, faults.delay_seconds


_CANNED = {
    "down": (503, ErrorBody(code="unavailable", message="省级系统暂时无法提供服务，请稍后再试")),
    "error": (500, ErrorBody(code="internal_error", message="省级系统内部错误")),
}


class FaultMiddleware:
    def __init__(self, app: ASGIApp, switch: FaultSwitch) -> None:
        self.app = app
        self.switch = switch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        switch = self.switch
        switch.in_flight += 1
        switch.served += 1
        switch.max_in_flight = max(switch.max_in_flight, switch.in_flight)
        try:
            mode = switch.mode
            if mode in _CANNED:
                status, body = _CANNED[mode]
                await _send_json(send, status, to_json_text(body).encode())
                return
            if mode == "slow" and switch.delay_seconds > 0:
                await asyncio.sleep(switch.delay_seconds)
            await self.app(scope, receive, send)
        finally:
            switch.in_flight -= 1


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"30"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


FaultsDep: TypeAlias = NamedDependency[SkipValidation[FaultSwitch]]
