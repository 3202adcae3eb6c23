"""Public, sign-in-free routes: the verification pages (QR link, 核验码, PDF upload, ID-number check), the keys and
the status list an offline verifier needs, and the 政审回复函's share link."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body, FromPath, QueryParameter
from litestar.types.internal_types import PathParameterDefinition

from auth.guards import PUBLIC, session_of
from bff.domain import audit
from bff.domain.certificates import shares
from bff.domain.certificates.pdfcheck import check_pdf
from bff.domain.verification import services
from bff.domain.verification.page import (
    VerificationView,
    render_share_page,
    render_start_page,
    render_verification_page,
)
from bff.domain.verification.statuslist import signed_status_list
from bff.lib.clock import utcnow
from bff.lib.deps import Db
from bff.lib.openapi import page_responses
from bff.lib.ratelimit import RateLimited, hit, rate_limit, wait_text
from bff.lib.security import server_page_csp

log = logging.getLogger("bff.verification")
MAX_PDF = 10 * 1024 * 1024
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": server_page_csp(render_start_page()),  # every page shares one stylesheet
    "Referrer-Policy": "no-referrer",
}
STATUS_LIST_VALIDITY = dt.timedelta(hours=1)  # how long an offline verifier may rely on a downloaded list
STATUS_LIST_CACHE = dt.timedelta(seconds=30)  # how soon a revocation shows in it


def _operation_id(name: str) -> Callable[[Any, Any, list[str | PathParameterDefinition]], str]:
    """One id per path: the QR code's upper-case ``/V/`` form gets its own."""
    return lambda _handler, _method, parts: name + ("Upper" if "V" in parts else "")


def _token_page(view: VerificationView, ours: bool, token: str) -> bytes:
    """The page of a QR link. The same QR code scanned again gives the same page (views are frozen, equal views
    render equal pages, and what they hold is on the page anyway): rendered once, until its verdict changes. A
    made-up token gets the one "forged" page, so a flood of them does not push the real pages out."""
    return _our_page(view, token) if ours else _rendered(view)


@lru_cache(maxsize=4096)
def _our_page(view: VerificationView, token: str) -> bytes:
    return _rendered(_with_form(view, True, token))


@lru_cache(maxsize=64)
def _rendered(view: VerificationView) -> bytes:
    return render_verification_page(view).encode()


def _page(html: str | bytes, status: int = 200, limited: RateLimited | None = None) -> Response[Any]:
    headers = {**PAGE_HEADERS, "Retry-After": str(limited.retry_after)} if limited else PAGE_HEADERS
    return Response(html, media_type="text/html", status_code=status, headers=headers)


async def _over(request: Request[Any, Any, Any], name: str, key: str | None = None) -> RateLimited | None:
    """Count one hit of a limit (``bff.lib.ratelimit``); the audited refusal when over, for a handler that answers
    with its own page."""
    try:
        await hit(request, name, key)
    except RateLimited as exc:
        await audit.record_request(request, audit.denial_entry(request, 429, "too_many_requests", limit=name))
        return exc
    return None


def _limited_page(request: Request[Any, Any, Any], exc: RateLimited) -> Response[str]:
    """A limit's 429 as the page the verifier was on, saying how long to wait."""
    path = request.url.path
    html = (render_share_page(unit_name=None, action=path, message=exc.message) if path.startswith("/s/")
            else render_start_page(message=exc.message))
    response = _page(html, status=429, limited=exc)
    response.background = audit.denial_task(request, 429, "too_many_requests")
    return response


class _UncopiedHandler(HTTPRouteHandler):
    """The route handler of the page a QR code opens: Litestar hands each guard a shallow copy of the handler
    object, about 30 µs apiece (a sixth of the page's whole cost when its answer is cached); the guards here (the
    app's session guard and the rate limit) only read it, so they get the handler itself."""

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]  # made async by resolve_guards, as in Litestar


SHARE_GONE = "链接无效或已过期，请联系申请人"


class VerificationController(Controller):
    path = "/"
    tags = ["verification"]
    opt = PUBLIC
    exception_handlers = {RateLimited: _limited_page}

    @_UncopiedHandler(
        ["/v/{token:str}", "/V/{token:str}"], http_method=HttpMethod.GET,
        operation_id=_operation_id("verifyCertificatePage"), media_type="text/html",
        summary="Public verification page (no sign-in); /V/ is the QR code's upper-case form",
        guards=[rate_limit("public_page")], responses=page_responses(429))
    async def page(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        state = request.app.state
        view, ours = await services.page_view(state.db_sessions, state.verdicts, state.token_keys, token)
        return _page(_token_page(view, ours, token))

    @post(["/v/{token:str}/id", "/V/{token:str}/id"], operation_id=_operation_id("checkHolderId"), status_code=200,
          summary="Does the ID number on the paper match the certificate? (rate-limited)", media_type="text/html",
          responses=page_responses(422, 429))
    async def id_check(
        self, request: Request[Any, Any, Any], db: Db, token: FromPath[str],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        view, certificate = await services.by_token(db, request.app.state.token_keys, token)
        view = _with_form(view, certificate is not None, token)
        if certificate is None or view.id_check_action is None:
            return _page(render_verification_page(view))
        typed = "".join(str(data.get("id_number", "")).split()).upper()
        limited = (await _over(request, "id_check_address")
                   or await _over(request, "id_check_certificate", certificate.id))
        if limited:
            return _page(render_verification_page(_answer(view, "limited")), status=429, limited=limited)
        if len(typed) < 6:
            return _page(render_verification_page(_answer(view, "invalid")), status=422)
        answer = "match" if services.id_matches(certificate, typed) else "mismatch"
        await audit.record_request(request, audit.Entry("certificate.id_check", "ok", "certificate", certificate.id,
                                                        {"answer": answer}))
        return _page(render_verification_page(_answer(view, answer)))

    @get("/verify", operation_id="verifyStart", summary="Verify by 核验码, or choose a PDF to upload",
         media_type="text/html", responses=page_responses(404, 429))
    async def start(self, request: Request[Any, Any, Any], db: Db,
                    code: Annotated[str | None, QueryParameter(max_length=64)] = None) -> Response[str]:
        if code is None:
            return _page(render_start_page())
        await hit(request, "verify_code")  # over the limit: 429 by _limited_page
        normalised = services.normalise_code(code)
        view = await services.by_code(db, normalised) if normalised else None
        if view is None:
            return _page(render_start_page(message="没有找到该核验码对应的电子证明，请核对后重新输入"), status=404)
        return _page(render_verification_page(view))

    @post("/verify/pdf", operation_id="verifyPdf", status_code=200, media_type="text/html",
          summary="Check an uploaded e-certificate PDF (signature, changes, content hash)",
          request_max_body_size=MAX_PDF + 64 * 1024, guards=[rate_limit("verify_pdf")],
          responses=page_responses(413, 422, 429, 503))
    async def pdf(
        self, request: Request[Any, Any, Any], db: Db,
        data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[str]:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            return _page(render_start_page(message="请选择要检查的 PDF 文件"), status=422)
        content = await upload.read(MAX_PDF + 1)
        if len(content) > MAX_PDF:
            return _page(render_start_page(message="文件超过 10 MB，不是本平台签发的电子证明"), status=413)
        trust = request.app.state.verify_trust
        try:
            evidence = await anyio.to_thread.run_sync(lambda: check_pdf(content, trust.roots, trust.crls))
        except ValueError:  # our own CA material is broken: not the uploader's fault, and not a verdict
            log.exception("verification: the configured CA certificates or CRL cannot be read")
            return _page(render_start_page(message="暂时无法检查文件，请稍后再试或扫描证明上的二维码核验"), status=503)
        view = await services.by_pdf(db, request.app.state.token_keys, evidence)
        return _page(render_verification_page(view))

    @get("/.well-known/jwks.json", operation_id="jwks", summary="Public keys of the QR tokens, with validity periods")
    async def jwks(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        return Response(request.app.state.token_keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @get("/status/1", operation_id="statusList", media_type="application/vc+jwt",
         summary="Signed revocation list (W3C Bitstring Status List), for offline verifiers")
    async def status_list(self, request: Request[Any, Any, Any], db: Db) -> Response[str]:
        now = utcnow()
        cached = getattr(request.app.state, "status_list_cache", None)
        if cached is not None and cached[0] > now:
            jws = cached[1]
        else:
            jws = signed_status_list(request.app.state.token_keys, _base(request),
                                     await services.listed_indices(db), now, ttl=STATUS_LIST_VALIDITY)
            request.app.state.status_list_cache = (now + STATUS_LIST_CACHE, jws)
        return Response(jws, media_type="application/vc+jwt", headers={"Cache-Control": "public, max-age=30"})

    @get("/s/{share_id:str}", operation_id="reviewSharePage", media_type="text/html",
         summary="The 政审回复函's share link: asks for the access code", guards=[rate_limit("public_page")],
         responses=page_responses(404, 429))
    async def share(self, db: Db, share_id: FromPath[str]) -> Response[str]:
        found = await shares.find(db, share_id)
        if found is None:
            return _page(render_share_page(unit_name=None, action=f"/s/{share_id}", message=SHARE_GONE), status=404)
        return _page(render_share_page(unit_name=found.unit_name, action=f"/s/{share_id}"))

    @post("/s/{share_id:str}", operation_id="reviewShareOpen", status_code=200, media_type="application/pdf",
          summary="Download the 政审回复函 with its access code (rate-limited; never the person themself)",
          responses=page_responses(403, 404, 429))
    async def share_open(
        self, request: Request[Any, Any, Any], db: Db, share_id: FromPath[str],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        action = f"/s/{share_id}"
        found = await shares.find(db, share_id)
        if found is None:
            return _page(render_share_page(unit_name=None, action=action, message=SHARE_GONE), status=404)

        def refused(message: str, status: int, limited: RateLimited | None = None) -> Response[Any]:
            return _page(render_share_page(unit_name=found.unit_name, action=action, message=message), status=status,
                         limited=limited)

        limited = await _over(request, "share_open_address") or await _over(request, "share_open", found.share.id)
        if limited:
            return refused(f"尝试次数过多，请 {wait_text(limited.retry_after)}后再试", 429, limited)
        session = await session_of(request)
        if shares.is_holder(found, session):
            denied = audit.Entry("share.open", "denied", "certificate", found.certificate.id, {"reason": "holder"})
            await audit.record_request(request, denied, session.principal if session else None)
            return refused("政审材料只能由政审单位查看，本人不能查看", 403)
        if not shares.code_matches(found, str(data.get("access_code", ""))):
            denied = audit.Entry("share.open", "denied", "certificate", found.certificate.id, {"reason": "access_code"})
            await audit.record_request(request, denied)
            return refused("访问码不正确", 403)
        await shares.record_opened(db, found)
        log.info("review reply opened", extra={"event": {"certificate": found.certificate.id}})
        pdf = await request.app.state.files.get(found.certificate.storage_key)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{found.certificate.certificate_no}.pdf"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _base(request: Request[Any, Any, Any]) -> str:
    base: str = request.app.state.settings.server.public_base_url
    return base.rstrip("/")


def _with_form(view: VerificationView, ours: bool, token: str) -> VerificationView:
    if not ours or view.verdict not in ("genuine", "expired"):
        return view
    return replace(view, id_check_action=f"/v/{token}/id")


def _answer(view: VerificationView, answer: str) -> VerificationView:
    return replace(view, id_check=answer)  # type: ignore[arg-type]
