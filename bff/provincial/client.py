"""The provincial system behind one interface; the HTTP client is its implementation."""

from __future__ import annotations

import logging
from typing import Any, Protocol, TypeVar

import httpx
import msgspec

from auth.oidc import OidcError
from auth.service_tokens import ServiceTokenProvider
from bff.provincial.schemas import Archive, CertificateResult, StatusChanges, SubmitResult

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


class HttpProvincialClient:
    def __init__(self, base_url: str, http: httpx.AsyncClient, tokens: ServiceTokenProvider, timeout: float) -> None:
        self.base_url = base_url
        self.http = http
        self.tokens = tokens
        self.timeout = timeout

    async def _request(self, method: str, path: str, *, json: Any = None,
                       headers: dict[str, str] | None = None, timeout: float | None = None) -> httpx.Response:
        for attempt in (1, 2):
            try:
                token = await self.tokens.token()
            except OidcError as exc:
                raise ProvincialUnavailable("no service token") from exc
            try:
                response = await self.http.request(
                    method, f"{self.base_url}{path}", json=json,
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
