"""The BFF's provincial client (files and the agency directory) against the running sandbox, over real HTTP."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from auth.oidc import OidcClient
from auth.service_tokens import ServiceTokenProvider
from bff.provincial.client import HttpProvincialClient, ProvincialRejected, ProvincialUnavailable
from bff.settings import OidcSettings
from tests.sandbox.helpers import LiveServer, certificate_body, pdf_bytes


@pytest.fixture
async def client(live_provincial: LiveServer, live_sso: LiveServer) -> AsyncIterator[HttpProvincialClient]:
    settings = OidcSettings(
        issuer=live_sso.url, client_id="portal", client_secret="portal-dev-secret", scopes="openid", http_timeout=5
    )
    async with httpx.AsyncClient() as http:
        oidc = OidcClient(settings, http, "http://127.0.0.1:8000/auth/callback")
        yield HttpProvincialClient(
            f"{live_provincial.url}/api", http, ServiceTokenProvider(oidc, "provincial-api"), 5.0
        )
        await set_fault(live_provincial.url, "none")


async def set_fault(base: str, mode: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(f"{base}/sandbox/faults", json={"mode": mode, "delay_seconds": 0})
        response.raise_for_status()


async def _put_count(client: HttpProvincialClient, application_id: str) -> list[int]:
    base = client.base_url.removesuffix("/api")
    async with httpx.AsyncClient() as http:
        files = (await http.get(f"{base}/sandbox/applications/{application_id}/files")).json()["files"]
    return [int(f["put_count"]) for f in files]


async def test_put_file_and_list(client: HttpProvincialClient) -> None:
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    stored = await client.put_file(application_id, file_id, "unit_letter", data)
    assert (stored.file_id, stored.material, stored.size) == (file_id, "unit_letter", len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.content_type == "application/pdf"
    assert stored.received_at
    assert await _put_count(client, application_id) == [1]

    assert await client.put_file(application_id, file_id, "unit_letter", data) == stored
    assert await _put_count(client, application_id) == [2]
    assert await client.list_files(application_id) == [stored]
    assert await client.list_files(str(uuid.uuid4())) == []

    with pytest.raises(ProvincialRejected) as mismatch:
        await client.put_file(application_id, file_id, "unit_letter", pdf_bytes())
    rejected = mismatch.value
    assert (rejected.status, rejected.code, rejected.field) == (422, "idempotency_mismatch", "file_id")
    with pytest.raises(ProvincialRejected) as not_pdf:
        await client.put_file(application_id, str(uuid.uuid4()), "unit_letter", b"hello")
    assert (not_pdf.value.status, not_pdf.value.field) == (422, "file")
    assert "PDF" in not_pdf.value.message
    with pytest.raises(ProvincialRejected) as bad_material:
        await client.put_file(application_id, str(uuid.uuid4()), "photo", pdf_bytes())
    assert bad_material.value.field == "X-Material"


async def test_uploaded_files_carry_an_application(client: HttpProvincialClient) -> None:
    body = certificate_body("lina")
    data = pdf_bytes()
    stored = await client.put_file(body["application_id"], "letter", "unit_letter", data)
    body["materials"] = [{"file_id": stored.file_id, "material": stored.material, "sha256": stored.sha256}]
    result = await client.submit_application(body["application_id"], body)
    assert result.status == "submitted"


async def test_list_agencies(client: HttpProvincialClient) -> None:
    everything = await client.list_agencies()
    assert len(everything) >= 16
    zhejiang = await client.list_agencies(province="浙江")
    assert zhejiang and {a.province for a in zhejiang} == {"浙江省"}
    assert [a.code for a in await client.list_agencies(province="浙江省", q="西湖")] == ["33010601"]
    assert await client.list_agencies(q="不存在的机构") == []


async def test_down_is_unavailable(client: HttpProvincialClient) -> None:
    await set_fault(client.base_url.removesuffix("/api"), "down")
    with pytest.raises(ProvincialUnavailable):
        await client.put_file(str(uuid.uuid4()), "f", "unit_letter", pdf_bytes())
    with pytest.raises(ProvincialUnavailable):
        await client.list_files(str(uuid.uuid4()))
    with pytest.raises(ProvincialUnavailable):
        await client.list_agencies()
