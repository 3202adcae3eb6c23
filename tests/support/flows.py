"""Steps a person or a unit's HR takes through the API, shared by the integration tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until


def signed_in(stack: Stack, who: str = "zhangwei", role: str = "person") -> Browser:
    browser = Browser()
    landing = browser.sign_in(stack.portal, who, role)
    assert landing.status_code == 303, landing.text[:500]
    assert landing.headers["location"] == "/"
    assert browser.session_cookie()
    return browser


def hr(stack: Stack, who: str = "yunqi-hr") -> Browser:
    return signed_in(stack, who, role="employer")


def submit(stack: Stack, browser: Browser, key: str | None = None, **changes: Any) -> httpx.Response:
    body = {"kind": "archive_certificate", "purpose": "办理落户", "phone": "13800138000", "delivery": "electronic"}
    body.update(changes)
    return browser.post(f"{stack.portal}/api/applications", json=body,
                        headers={"Idempotency-Key": key or str(uuid.uuid4()), **same_origin(stack.portal)})


def detail(stack: Stack, browser: Browser, app_id: str) -> dict[str, Any]:
    r = browser.get(f"{stack.portal}/api/applications/{app_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def issued(stack: Stack, browser: Browser, app_id: str, timeout: float = 60) -> dict[str, Any]:
    """Once the application is at the provincial system, a clerk accepts and completes it; returns its detail
    with the certificate issued."""
    wait_until(lambda: stack.sandbox_application(app_id) is not None, timeout=30)
    stack.clerk(app_id, "accept")
    stack.clerk(app_id, "complete")
    return dict(wait_until(lambda: (d := detail(stack, browser, app_id))["certificate"] is not None and d,
                           timeout=timeout))


def download(stack: Stack, browser: Browser, shown: dict[str, Any]) -> bytes:
    """The certificate's PDF, as the person downloads it."""
    r = browser.get(f"{stack.portal}{shown['certificate']['download_url']}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    return bytes(r.content)


def timeline(stack: Stack, browser: Browser, app_id: str) -> list[str]:
    return [e["label"] for e in detail(stack, browser, app_id)["timeline"]]


def new_document(stack: Stack, browser: Browser, material: str = "unit_letter") -> str:
    r = browser.post(f"{stack.portal}/api/documents", json={"material": material}, headers=same_origin(stack.portal))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put_file(stack: Stack, browser: Browser, document_id: str, data: bytes, name: str = "letter.pdf",
             file_id: str | None = None) -> httpx.Response:
    return browser.request(
        "PUT", f"{stack.portal}/api/documents/{document_id}/files/{file_id or uuid.uuid4()}",
        params={"name": name}, content=data,
        headers={"Content-Type": "application/octet-stream", **same_origin(stack.portal)},
    )


def uploaded(stack: Stack, browser: Browser, *files: bytes, material: str = "unit_letter") -> str:
    """A document holding ``files``; returns its id."""
    document_id = new_document(stack, browser, material)
    for data in files:
        r = put_file(stack, browser, document_id, data)
        assert r.status_code == 201, r.text
    return document_id


def post(stack: Stack, browser: Browser, path: str, body: Any, **headers: str) -> httpx.Response:
    return browser.post(f"{stack.portal}{path}", json=body, headers={**same_origin(stack.portal), **headers})
