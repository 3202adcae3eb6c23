"""Serving the built PWA: files from web/dist, and index.html for the app's own routes (history mode)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import File

from auth.guards import PUBLIC

NOT_SPA = ("api/", "auth/", "v/", ".well-known/", "schema", "healthz")
NO_CACHE = {"Cache-Control": "no-cache"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
NOT_BUILT = "<!doctype html><meta charset=utf-8><title>档案服务</title><p>网页应用尚未构建，请运行 make run。</p>"


def spa_handler(dist: Path) -> HTTPRouteHandler:
    root = dist.resolve()

    @get(["/", "/{path:path}"], opt=PUBLIC, include_in_schema=False)
    async def spa(path: FromPath[str] = "/") -> Response[str] | File:
        """Files are streamed (no blocking read on the event loop); unknown paths get the app shell."""
        relative = path.lstrip("/")
        if relative.startswith(NOT_SPA):
            raise NotFoundException()
        candidate = (root / relative).resolve()
        if relative and candidate.is_relative_to(root) and candidate.is_file():
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            headers = IMMUTABLE if relative.startswith("assets/") else NO_CACHE
            return File(candidate, media_type=media_type, headers=headers, content_disposition_type="inline")
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, media_type="text/html", status_code=503)
        return File(index, media_type="text/html", headers=NO_CACHE, content_disposition_type="inline")

    return spa
