from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from auth.guards import PUBLIC
from bff.domain.verification.page import render_verification_page
from bff.domain.verification.services import verify
from bff.lib.deps import Db

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
}


class VerificationController(Controller):
    path = "/"
    tags = ["verification"]
    opt = PUBLIC

    @get("/v/{token:str}", operation_id="verifyCertificatePage", summary="Public verification page (no sign-in)",
         media_type="text/html")
    async def page(self, request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
        view = await verify(db, request.app.state.token_keys, token)
        return Response(render_verification_page(view), media_type="text/html", headers=PAGE_HEADERS)

    @get("/.well-known/jwks.json", operation_id="jwks", summary="Public keys of the QR tokens")
    async def jwks(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        return Response(request.app.state.token_keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
