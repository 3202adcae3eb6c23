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


PERSONS: dict[str, dict[str, str]] = {
    "zhangwei": {"name": "张伟", "id_number": "110105199805120012", "phone": "13800138000"},
    "lina": {"name": "李娜", "id_number": "330106199503080024", "phone": "13905712345"},
    "wangfang": {"name": "王芳", "id_number": "32010219921120004X", "phone": "13813845678"},
    "chenchen": {"name": "陈晨", "id_number": "330108199706150822", "phone": "13758120622"},
    "sunhao": {"name": "孙浩", "id_number": "52010319940922071X", "phone": "18685123071"},
    "zhaolei": {"name": "赵磊", "id_number": "520102199607040051", "phone": "15885123456"},
}
ARCHIVES: dict[str, tuple[str, str]] = {  # username -> (archive_no, agency_code)
    "zhangwei": ("11010500001234", "11010501"),
    "lina": ("33010000004321", "33010001"),
    "wangfang": ("32010200000568", "32010201"),
    "chenchen": ("33010000005678", "33010001"),
    "sunhao": ("52010000000912", "52010001"),
    "zhaolei": ("52010000000789", "52010001"),
}
YUNQI = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}
JINLING = {"name": "南京金陵软件有限公司", "uscc": "91320102MA1MBP6W7H"}


def certificate_body(username: str, **overrides: Any) -> dict[str, Any]:
    """A 存档证明 application for a seeded person (no materials unless given)."""
    archive_no, agency_code = ARCHIVES[username]
    return application_body(
        applicant={**PERSONS[username], "id_type": "01"}, archive_no=archive_no, agency_code=agency_code, **overrides
    )


def transfer_flow(agency_code: str, target_agency_code: str) -> str:
    """接转流向 ACC74D from two agency codes (a seeded agency's region code is its code's first 6 digits):
    1 地市内 (the same first 4 digits), 2 省内 (the first 2), 3 省外."""
    if agency_code[:4] == target_agency_code[:4]:
        return "1"
    return "2" if agency_code[:2] == target_agency_code[:2] else "3"


def transfer_body(username: str, target_agency_code: str, target_nature: str = "2", **overrides: Any) -> dict[str, Any]:
    """A 档案转递 application for a seeded person, with the right ``flow``; ``transfer`` keys in ``overrides``
    replace the defaults."""
    transfer: dict[str, Any] = {
        "target_agency_code": target_agency_code,
        "target_nature": target_nature,
        "unit": dict(YUNQI) if target_nature == "1" else None,
        "initiated_by": "person",
        "flow": transfer_flow(ARCHIVES[username][1], target_agency_code),
        **overrides.pop("transfer", {}),
    }
    body = certificate_body(username, kind="archive_transfer", transfer=transfer, **overrides)
    del body["delivery"], body["purpose"]
    return body


def pdf_bytes(note: str = "") -> bytes:
    """A small, unique PDF-looking file (what the sandbox checks is the %PDF- header)."""
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n% " + (note or secrets.token_hex(8)).encode() + b"\n"
        b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def file_headers(material: str, data: bytes, content_type: str = "application/pdf") -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "X-Material": material,
        "X-Content-SHA256": hashlib.sha256(data).hexdigest(),
    }
