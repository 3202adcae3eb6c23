"""One error format for every failure: ``{"code", "message", "fields"?}`` with a Chinese message."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger("bff.errors")


class FieldError(msgspec.Struct):
    field: str
    message: str


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ApiError(Exception):
    """A failure the person should read: an HTTP status, a machine code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.someone_elses: tuple[str, str] | None = None  # (type, id) of a record that exists but is not theirs


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a route gives, so the PWA's client knows their shape."""
    return {s: ResponseSpec(data_container=ErrorBody, description="错误", generate_examples=False) for s in statuses}


def not_found(someone_elses: tuple[str, str] | None = None) -> ApiError:
    """404; ``someone_elses`` names a record that exists but belongs to another (an audited denial)."""
    error = ApiError(404, "not_found", "未找到相关内容")
    error.someone_elses = someone_elses
    return error


_GENERIC = {
    400: ("bad_request", "请求内容格式不正确"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限进行此操作"),
    404: ("not_found", "未找到相关内容"),
    405: ("method_not_allowed", "不支持此操作"),
    413: ("too_large", "提交的内容过大"),
    429: ("too_many_requests", "操作过于频繁，请稍后再试"),
}

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")


def _validation_body(exc: ValidationException) -> ErrorBody:
    detail = str(exc.detail or "")
    extra = exc.extra if isinstance(exc.extra, list) else []
    text = " ".join([detail, *[str(e.get("message", "")) for e in extra if isinstance(e, dict)]])
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown:
        # named with the object holding it (the error's key, or `data` for the body itself): `materials[0].state`
        inside = next((str(e.get("key") or "") for e in extra if isinstance(e, dict)
                       and _UNKNOWN_FIELD.search(str(e.get("message", "")))), "")
        name = f"{inside}.{unknown.group(1)}" if inside not in ("", "data") else unknown.group(1)
        return ErrorBody("bad_request", f"请求中含有无法识别的字段：{name}", [FieldError(name, "无法识别的字段")])
    where = _AT_PATH.search(text)
    if where and where.group(1):
        name = where.group(1)
        return ErrorBody("bad_request", f"字段“{name}”的格式不正确", [FieldError(name, "格式不正确")])
    if "missing required field" in text.lower():
        missing = re.search(r"required field `([^`]+)`", text)
        name = missing.group(1) if missing else ""
        return ErrorBody("bad_request", f"缺少必填字段：{name}", [FieldError(name, "必填")])
    return ErrorBody("bad_request", "请求内容格式不正确，请检查后重试")


def _json(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=msgspec.to_builtins(body), status_code=status, headers=headers or {},
                    media_type="application/json")


# answers that are refusals: each leaves a row in the audit trail (bff.domain.audit)
AUDITED_DENIALS = {401, 403, 429}


def _audited(request: Request[Any, Any, Any], response: Response[Any], status: int, code: str,
             someone_elses: tuple[str, str] | None = None) -> Response[Any]:
    if status in AUDITED_DENIALS or someone_elses is not None:
        from bff.domain.audit import denial_task  # imported late: the audit trail needs the database layer

        response.background = denial_task(request, status, code, someone_elses)
    return response


def handle_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _audited(request, _json(exc.status, ErrorBody(exc.code, exc.message, exc.fields)), exc.status, exc.code,
                    exc.someone_elses)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return _json(400, _validation_body(exc))
    status = exc.status_code
    code, message = _GENERIC.get(status, ("error", "请求未能完成，请稍后再试"))
    if isinstance(exc, NotAuthorizedException):
        code, message = _GENERIC[401]
    if isinstance(exc, NotFoundException):
        code, message = _GENERIC[404]
    return _audited(request, _json(status, ErrorBody(code, message), dict(exc.headers or {})), status, code)


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error: %s", type(exc).__name__)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, ErrorBody("internal_error", "系统繁忙，请稍后再试"))


UNAVAILABLE = ErrorBody("unavailable", "系统暂时无法处理，本次操作未完成，请稍后重试")


def handle_store_down(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Redis unreachable: sessions cannot be read, so signed-in routes fail closed with "try again"."""
    log.warning("store unavailable: %s", type(exc).__name__)
    return _json(503, UNAVAILABLE, {"Retry-After": "5"})


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A lost or refused database connection (a restart, a failover) is "try again", not a crash: the request's
    transaction was rolled back, so nothing half-written remains, and a retry with the same key is safe."""
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return _json(503, UNAVAILABLE, {"Retry-After": "5"})
    return handle_unexpected(request, exc)


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    DBAPIError: handle_database_error,
    RedisConnectionError: handle_store_down,
    RedisTimeoutError: handle_store_down,
    Exception: handle_unexpected,
}
