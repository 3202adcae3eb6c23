"""JSON logs, one object a line, each with the request id; no request bodies, no personal data."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


# paths whose second part is a credential (a certificate's token, a share link): logged without it
_SECRET_PATHS = re.compile(r"^/(v|V|s)/[^/]+")


def _loggable(path: str) -> str:
    return _SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/{{secret}}", path)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(..., ensure_ascii=False) builds one per call


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Every request writes one (the access line), so the time stamp is formatted once
    per second and the encoder made once."""

    _second = -1
    _stamp = ""

    def _ts(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
            self._second = second
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._ts(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "message": record.getMessage(),
        }
        for key in ("http", "event"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str) -> None:
    # Every request logs its access line: skip what LogRecord would look up for it that no line here shows (the
    # thread, process and multiprocessing names; the logging HOWTO's "Optimization" section).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


access_log = logging.getLogger("bff.access")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives each request an id (``X-Request-ID``), logs one access line without query strings."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                path = _loggable(scope.get("path", ""))
                method = scope.get("method")
                # makeRecord + handle is what .info() does, less the walk up the stack for the caller's file and
                # line, which no formatter here prints
                access_log.handle(access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None,
                    extra={"http": {"method": method, "path": path, "status": status,
                                    "ms": round((time.perf_counter() - started) * 1000, 1)}},
                ))
            request_id_var.reset(token)

    return middleware
