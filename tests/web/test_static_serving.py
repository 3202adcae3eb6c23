"""The BFF serves the PWA's precompressed files (web/scripts/compress.mjs) and tells the app shell whether the
browser is signed out (bff/lib/web.py, web/src/lib/sessionHint.ts)."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx
from litestar import Litestar

from tests.support.inprocess import inprocess_app

SHELL = b"<!doctype html><title>shell</title>" + b" " * 600
SCRIPT = b"console.log('app')" + b";" * 600


def dist(base: Path) -> Path:
    root = base / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(SHELL)
    (root / "index.html.gz").write_bytes(gzip.compress(SHELL))
    (root / "assets" / "app.js").write_bytes(SCRIPT)
    (root / "assets" / "app.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "assets" / "app.js.br").write_bytes(b"not really brotli")
    return root


def fetch(app: Litestar, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (not decoded)."""
    async def go() -> tuple[httpx.Response, bytes]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            async with http.stream("GET", path, headers=headers) as response:
                return response, b"".join([chunk async for chunk in response.aiter_raw()])

    return asyncio.run(go())


def test_compressed_twins_are_served_to_browsers_that_take_them(tmp_path: Path) -> None:
    app = inprocess_app(tmp_path, WEB_DIST=str(dist(tmp_path)))

    response, body = fetch(app, "/assets/app.js", **{"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["content-encoding"] == "br"
    assert body == b"not really brotli"
    assert response.headers["content-type"].startswith("text/javascript")
    assert "immutable" in response.headers["cache-control"]
    assert "Accept-Encoding" in response.headers["vary"]

    response, body = fetch(app, "/assets/app.js", **{"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SCRIPT

    response, body = fetch(app, "/assets/app.js", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert body == SCRIPT


def test_the_shell_says_whether_the_browser_is_signed_out(tmp_path: Path) -> None:
    app = inprocess_app(tmp_path, WEB_DIST=str(dist(tmp_path)))

    response, body = fetch(app, "/applications", **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert gzip.decompress(body) == SHELL
    assert response.headers["content-type"].startswith("text/html")
    hint = response.headers["set-cookie"]
    assert hint.startswith("__Host-portal_signed_out=1;")
    assert "httponly" not in hint.lower() and "secure" in hint.lower()

    # a session cookie that names no session is no session: still signed out
    response, _ = fetch(app, "/", Cookie="__Host-portal_session=forged")
    assert response.headers["set-cookie"].startswith("__Host-portal_signed_out=1;")
