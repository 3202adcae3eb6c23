"""Serving the built PWA: files from web/dist, and index.html for the app's own routes (history mode)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import File

from auth.guards import PUBLIC, session_of

NOT_SPA = ("api/", "auth/", "v/", ".well-known/", "schema", "healthz")
NO_CACHE = {"Cache-Control": "no-cache"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
# `web/scripts/compress.mjs` writes these beside each text file at build time (br first: smaller)
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
SIGNED_OUT_COOKIE = "__Host-portal_signed_out"
NOT_BUILT = "<!doctype html><meta charset=utf-8><title>档案服务</title><p>网页应用尚未构建，请运行 make run。</p>"


def spa_handler(dist: Path) -> HTTPRouteHandler:
    root = dist.resolve()

    @get(["/", "/{path:path}"], opt=PUBLIC, include_in_schema=False)
    async def spa(request: Request[Any, Any, Any], path: FromPath[str] = "/") -> Response[str] | File:
        """Files are streamed (no blocking read on the event loop); unknown paths get the app shell."""
        accepted = request.headers.get("accept-encoding", "")
        relative = path.lstrip("/")
        if relative.startswith(NOT_SPA):
            raise NotFoundException()
        candidate = (root / relative).resolve()
        if relative and candidate.is_relative_to(root) and candidate.is_file():
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            headers = IMMUTABLE if relative.startswith("assets/") else NO_CACHE
            return _file(candidate, media_type, headers, accepted)
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, media_type="text/html", status_code=503)
        shell = _file(index, "text/html", {**NO_CACHE, "Vary": "Accept-Encoding, Cookie"}, accepted)
        shell.cookies.append(await _signed_out_hint(request))
        return shell

    return spa


async def _signed_out_hint(request: Request[Any, Any, Any]) -> Cookie:
    """Tells the app whether this browser has a session (web/src/lib/sessionHint.ts): one signed out sees the
    sign-in screen without a `GET /api/me` that would answer 401. Readable by script; it holds no secret."""
    try:
        signed_in = await session_of(request) is not None
    except Exception:  # the store is down: the app asks /api/me and shows what that says
        signed_in = True
    if signed_in:
        return Cookie(key=SIGNED_OUT_COOKIE, value="", path="/", secure=True, samesite="lax", max_age=0)
    return Cookie(key=SIGNED_OUT_COOKIE, value="1", path="/", secure=True, samesite="lax")


def _file(path: Path, media_type: str, headers: dict[str, str], accepted: str) -> File:
    """The file, or its precompressed twin when the browser takes that encoding (a phone on a slow network
    fetches the framework in a third of the bytes)."""
    tokens = {token.split(";", 1)[0].strip() for token in accepted.lower().split(",")}
    headers = {"Vary": "Accept-Encoding", **headers}
    for encoding, suffix in PRECOMPRESSED:
        twin = path.with_name(path.name + suffix)
        if encoding in tokens and twin.is_file():
            return File(twin, media_type=media_type, filename=path.name, content_disposition_type="inline",
                        headers={**headers, "Content-Encoding": encoding})
    return File(path, media_type=media_type, headers=headers, content_disposition_type="inline")
