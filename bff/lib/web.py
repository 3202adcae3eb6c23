"""Serving the built PWA: files from web/dist, and index.html for the app's own routes (history mode)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from auth.guards import PUBLIC

NOT_SPA = ("api/", "auth/", "v/", ".well-known/", "schema", "healthz")
NO_CACHE = {"Cache-Control": "no-cache"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


def spa_handler(dist: Path) -> HTTPRouteHandler:
    root = dist.resolve()

    @get(["/", "/{path:path}"], opt=PUBLIC, include_in_schema=False, sync_to_thread=False)
    def spa(path: FromPath[str] = "/") -> Response[bytes]:
        relative = path.lstrip("/")
        if relative.startswith(NOT_SPA):
            raise NotFoundException()
        candidate = (root / relative).resolve() if relative else root / "index.html"
        if relative and candidate.is_file() and candidate.is_relative_to(root):
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            headers = IMMUTABLE if relative.startswith("assets/") else NO_CACHE
            return Response(candidate.read_bytes(), media_type=media_type, headers=headers)
        index = root / "index.html"
        if not index.is_file():
            return Response(b"<!doctype html><meta charset=utf-8><p>\xe7\xbd\x91\xe9\xa1\xb5\xe5\xba\x94\xe7\x94\xa8"
                            b"\xe5\xb0\x9a\xe6\x9c\xaa\xe6\x9e\x84\xe5\xbb\xba (make run)</p>",
                            media_type="text/html", status_code=503)
        return Response(index.read_bytes(), media_type="text/html", headers=NO_CACHE)

    return spa
