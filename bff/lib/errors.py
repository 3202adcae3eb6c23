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


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a route gives, so the PWA's client knows their shape."""
    return {s: ResponseSpec(data_container=ErrorBody, description="错误", generate_examples=False) for s in statuses}


def not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到相关内容")


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
        name = unknown.group(1)
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


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _json(exc.status, ErrorBody(exc.code, exc.message, exc.fields))


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return _json(400, _validation_body(exc))
    status = exc.status_code
    code, message = _GENERIC.get(status, ("error", "请求未能完成，请稍后再试"))
    if isinstance(exc, NotAuthorizedException):
        code, message = _GENERIC[401]
    if isinstance(exc, NotFoundException):
        code, message = _GENERIC[404]
    return _json(status, ErrorBody(code, message), dict(exc.headers or {}))


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error: %s", type(exc).__name__)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, ErrorBody("internal_error", "系统繁忙，请稍后再试"))


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
