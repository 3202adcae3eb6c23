"""Helpers for the sandbox tests: PKCE, a real loopback server in a thread, and application bodies."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar

REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
CLIENT = ("portal", "portal-dev-secret")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class LiveServer:
    """Serves an app with uvicorn on a free loopback port, in a thread (real HTTP, as in production)."""

    def __init__(self, factory: Callable[[int], Litestar], data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = factory(self.port)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def application_body(**overrides: Any) -> dict[str, Any]:
    """A valid 存档证明 application for 张伟 (seeded), with fresh ids."""
    application_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "application_id": application_id,
        "reference_no": "SQ20261121" + secrets.token_hex(4).upper(),
        "kind": "archive_certificate",
        "applicant": {"name": "张伟", "id_type": "01", "id_number": "110105199805120012", "phone": "13800138000"},
        "archive_no": "11010500001234",
        "agency_code": "11010501",
        "delivery": "electronic",
        "purpose": "办理落户",
        "submitted_at": "2026-11-21T10:00:00+08:00",
    }
    applicant_overrides = overrides.pop("applicant", {})
    body.update(overrides)
    body["applicant"] = {**body["applicant"], **applicant_overrides}
    return body
