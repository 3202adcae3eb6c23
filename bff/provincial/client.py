"""The provincial system behind one interface; the HTTP client is its implementation."""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

import httpx
import msgspec

from auth.oidc import OidcError
from auth.service_tokens import ServiceTokenProvider
from bff.provincial.schemas import (
    Agency,
    AgencyList,
    Archive,
    CertificateResult,
    ProvincialApplication,
    ProvincialFile,
    ProvincialFileList,
    ProvincialReminder,
    ReminderList,
    StatusChanges,
    SubmitResult,
)

log = logging.getLogger("bff.provincial")
T = TypeVar("T")


class ProvincialUnavailable(Exception):
    """Not reached, or it failed on its side: worth trying again later."""


class ProvincialTimeout(ProvincialUnavailable):
    """Sent, but no answer in time: the request may or may not have been stored."""


class ProvincialRejected(Exception):
    """It answered with a 4xx: trying again will not help."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class ProvincialApi(Protocol):
    async def lookup_archive(self, id_type: str, id_number: str) -> Archive | None: ...
    async def submit_application(self, key: str, payload: dict[str, Any]) -> SubmitResult: ...
    async def find_application(self, application_id: str) -> SubmitResult | None: ...
    async def status_changes(self, after: int, limit: int) -> StatusChanges: ...
    async def certificate_result(self, application_id: str) -> CertificateResult: ...
    async def put_file(self, application_id: str, file_id: str, material: str, data: bytes) -> ProvincialFile: ...
    async def list_files(self, application_id: str) -> list[ProvincialFile]: ...
    async def list_agencies(self, province: str | None = None, q: str | None = None) -> list[Agency]: ...
    async def get_application(self, application_id: str) -> ProvincialApplication | None: ...
    async def withdraw(self, application_id: str) -> ProvincialApplication | None: ...
    async def reminders(self) -> list[ProvincialReminder]: ...


class HttpProvincialClient:
    def __init__(self, base_url: str, http: httpx.AsyncClient, tokens: ServiceTokenProvider, timeout: float) -> None:
        self.base_url = base_url
        self.http = http
        self.tokens = tokens
        self.timeout = timeout

    async def _request(self, method: str, path: str, *, json: Any = None,
                       headers: dict[str, str] | None = None, timeout: float | None = None,
                       content: bytes | None = None) -> httpx.Response:
        for attempt in (1, 2):
            try:
                token = await self.tokens.token()
            except OidcError as exc:
                raise ProvincialUnavailable("no service token") from exc
            try:
                response = await self.http.request(
                    method, f"{self.base_url}{path}", json=json, content=content,
                    headers={"Authorization": f"Bearer {token}", **(headers or {})},
                    timeout=timeout or self.timeout,
                )
            except httpx.TimeoutException as exc:
                raise ProvincialTimeout(f"{method} {path} timed out") from exc
            except httpx.HTTPError as exc:
                raise ProvincialUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate()
                continue
            if response.status_code >= 500 or response.status_code == 401:
                raise ProvincialUnavailable(f"{method} {path} answered {response.status_code}")
            return response
        raise ProvincialUnavailable("unreachable")  # pragma: no cover - the loop always returns or raises

    @staticmethod
    def _rejected(response: httpx.Response) -> ProvincialRejected:
        try:
            body = response.json()
        except ValueError:
            body = {}
        return ProvincialRejected(response.status_code, str(body.get("code", "rejected")),
                                  str(body.get("message", "")), body.get("field"))

    @staticmethod
    def _decode(response: httpx.Response, type_: type[T]) -> T:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except msgspec.ValidationError as exc:
            raise ProvincialUnavailable(f"unexpected answer: {exc}") from exc

    async def lookup_archive(self, id_type: str, id_number: str) -> Archive | None:
        response = await self._request("POST", "/archives/lookup", json={"id_type": id_type, "id_number": id_number})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, Archive)

    async def submit_application(self, key: str, payload: dict[str, Any]) -> SubmitResult:
        response = await self._request("POST", "/applications", json=payload, headers={"Idempotency-Key": key})
        if response.status_code not in (200, 201):
            raise self._rejected(response)
        return self._decode(response, SubmitResult)

    async def find_application(self, application_id: str) -> SubmitResult | None:
        response = await self._request("GET", f"/applications/{application_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, SubmitResult)

    async def status_changes(self, after: int, limit: int) -> StatusChanges:
        response = await self._request("GET", f"/status-changes?after={after}&limit={limit}")
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, StatusChanges)

    async def certificate_result(self, application_id: str) -> CertificateResult:
        response = await self._request("GET", f"/applications/{application_id}/result")
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, CertificateResult)

    async def put_file(self, application_id: str, file_id: str, material: str, data: bytes) -> ProvincialFile:
        """PUT one material file (raw PDF). Idempotent by (application_id, file_id): 201 new, 200 the same bytes
        again. After a ProvincialTimeout the file may or may not be stored: call list_files before sending again."""
        headers = {"Content-Type": "application/pdf", "X-Material": material,
                   "X-Content-SHA256": hashlib.sha256(data).hexdigest()}
        path = f"/applications/{quote(application_id, safe='')}/files/{quote(file_id, safe='')}"
        response = await self._request("PUT", path, content=data, headers=headers,
                                       timeout=max(self.timeout, 60.0))
        if response.status_code not in (200, 201):
            raise self._rejected(response)
        return self._decode(response, ProvincialFile)

    async def list_files(self, application_id: str) -> list[ProvincialFile]:
        response = await self._request("GET", f"/applications/{quote(application_id, safe='')}/files")
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, ProvincialFileList).files

    async def list_agencies(self, province: str | None = None, q: str | None = None) -> list[Agency]:
        params = {k: v for k, v in (("province", province), ("q", q)) if v}
        query = f"?{urlencode(params)}" if params else ""
        response = await self._request("GET", f"/agencies{query}")
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, AgencyList).agencies

    async def get_application(self, application_id: str) -> ProvincialApplication | None:
        """Everything it holds about one application (how a window-started transfer becomes known)."""
        response = await self._request("GET", f"/applications/{quote(application_id, safe='')}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, ProvincialApplication)

    async def withdraw(self, application_id: str) -> ProvincialApplication | None:
        """Withdraw a not yet accepted application; None when it never arrived there (409 once accepted)."""
        response = await self._request("POST", f"/applications/{quote(application_id, safe='')}/withdraw")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, ProvincialApplication)

    async def reminders(self) -> list[ProvincialReminder]:
        response = await self._request("GET", "/reminders")
        if response.status_code != 200:
            raise self._rejected(response)
        return self._decode(response, ReminderList).reminders
