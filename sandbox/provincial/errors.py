"""One error shape for everything: ``{"code", "message", "field"}`` with a Chinese message."""

from __future__ import annotations

import logging
import re
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from sandbox.provincial.schemas import ErrorBody

log = logging.getLogger("sandbox.provincial")

FIELD_LABELS: Final = {
    "application_id": "申请标识",
    "reference_no": "申请编号",
    "kind": "申请类型",
    "applicant": "申请人",
    "applicant.name": "姓名",
    "applicant.id_type": "证件类型",
    "applicant.id_number": "证件号码",
    "applicant.phone": "手机号码",
    "archive_no": "存档编号",
    "agency_code": "机构编号",
    "delivery": "领取方式",
    "purpose": "用途",
    "submitted_at": "提交时间",
    "materials": "材料",
    "materials[].file_id": "材料文件标识",
    "materials[].material": "材料类型",
    "materials[].sha256": "材料文件校验值",
    "transfer": "转递信息",
    "transfer.target_agency_code": "转入机构编号",
    "transfer.target_nature": "拟存档性质",
    "transfer.unit": "新单位",
    "transfer.unit.name": "单位名称",
    "transfer.unit.uscc": "统一社会信用代码",
    "transfer.initiated_by": "发起方",
    "transfer.flow": "接转流向",
    "file_id": "文件标识",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "reason": "原因",
    "method": "转递方式",
    "tracking_no": "机要编号/邮件号",
    "letter_no": "调档函编号",
    "occurred_at": "发生时间",
    "target_agency_code": "拟接收机构编号",
    "target_nature": "拟存档性质",
    "unit": "新单位",
    "unit.name": "单位名称",
    "unit.uscc": "统一社会信用代码",
    "phone": "手机号码",
    "enabled": "是否开启",
    "interval_seconds": "间隔秒数",
    "mode": "故障模式",
    "delay_seconds": "延迟秒数",
}

_INDEX = re.compile(r"\[\d+\]")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def label(field: str) -> str:
    """The Chinese name of a field; list positions do not change it (``materials[2].file_id``)."""
    return FIELD_LABELS.get(field) or FIELD_LABELS.get(_INDEX.sub("[]", field), field)


def error_response(
    status_code: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(code=code, message=message, field=field),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def from_msgspec(error: msgspec.ValidationError) -> ApiError:
    """Turn msgspec's decode error into ours: unknown field 400, missing field 422, wrong type 400."""
    match = _AT.match(str(error))
    message = match.group("message") if match else str(error)
    path = (match.group("path") or "") if match else ""
    path = path.removeprefix(".data").lstrip(".")
    if unknown := _UNKNOWN.search(message):
        field = _join(path, unknown.group("name"))
        return ApiError(400, "bad_request", f"请求中有不能识别的字段：{field}", field)
    if missing := _MISSING.search(message):
        field = _join(path, missing.group("name"))
        return ApiError(422, "validation_error", f"缺少必填项：{label(field)}（{field}）", field)
    if not path:
        return ApiError(400, "bad_request", "请求体必须是 JSON 对象")
    if message.startswith("Invalid enum value"):
        return ApiError(422, "validation_error", f"{label(path)}（{path}）的取值不在代码表中", path)
    return ApiError(400, "bad_request", f"{label(path)}（{path}）的类型或取值范围不正确", path)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    cause = exc.__cause__
    if isinstance(cause, msgspec.ValidationError):
        error = from_msgspec(cause)
    else:
        extra = exc.extra if isinstance(exc.extra, list) else []
        key = next((str(e.get("key")) for e in extra if isinstance(e, dict) and e.get("key")), None)
        if key is None:
            error = ApiError(400, "bad_request", "请求格式不正确")
        else:
            error = ApiError(400, "bad_request", f"参数 {key} 的值不正确", key)
    return error_response(error.status_code, error.code, error.message, error.field)


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    return error_response(exc.status_code, exc.code, exc.message, exc.field, exc.headers)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if status == 404:
        return error_response(404, "not_found", "没有这个地址")
    if status == 405:
        return error_response(405, "method_not_allowed", "不支持这个请求方法")
    if status == 400:
        return error_response(400, "bad_request", "请求体不是有效的 JSON")
    if status < 500:
        return error_response(status, "bad_request", "请求不正确")
    log.error("server error %s on %s", status, request.url.path)
    return error_response(500, "internal_error", "省级系统内部错误")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "省级系统内部错误")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
