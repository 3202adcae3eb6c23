"""Who is signed in, as the PWA needs to show it."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, get

from auth.guards import current_principal
from bff.lib.masking import mask_id_number


class Me(msgspec.Struct):
    role: Literal["person", "employer"]
    name: str
    id_number_masked: str | None
    unit_name: str | None


class MeController(Controller):
    path = "/api/me"
    tags = ["me"]

    @get("/", operation_id="getMe", summary="The signed-in person or unit")
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        p = current_principal(request)
        if p.role == "employer":
            return Me(role="employer", name=p.agent_name or p.name, id_number_masked=None, unit_name=p.name)
        return Me(role="person", name=p.name, id_number_masked=mask_id_number(p.id_number) if p.id_number else None,
                  unit_name=None)
