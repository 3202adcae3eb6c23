"""The clerk console at ``/``: server-rendered Chinese HTML, plain forms that POST and redirect back (303)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from litestar import MediaType, Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from sandbox.common import mask_id_number
from sandbox.provincial.errors import ApiError
from sandbox.provincial.faults import FaultsDep, FaultSwitch
from sandbox.provincial.schemas import (
    DELIVERY_NAMES,
    INITIATOR_NAMES,
    KIND_NAMES,
    MATERIAL_NAMES,
    STATUS_NAMES,
    Faults,
)
from sandbox.provincial.service import act
from sandbox.provincial.store import Action, FileRecord, Record, StoreDep
from sandbox.seed import NATURE_NAMES, agency_by_code

FAULT_NAMES: Final = {
    "none": "正常",
    "down": "停机（503）",
    "slow": "缓慢",
    "error": "出错（500）",
    "timeout_after_commit": "保存后超时",
}
NOTICES: Final = {"accept": "已受理", "complete": "已办结", "refuse": "已不予办理", "faults": "故障模式已切换"}
ERRORS: Final = {
    "invalid_transition": "该申请的状态已经变化，不能执行这个操作，请刷新后再看。",
    "validation_error": "请填写不予办理原因（不超过 200 个字）。",
    "application_not_found": "没有找到该申请。",
    "bad_origin": "请求不是从本工作台发出的，已拒绝。",
    "bad_faults": "故障设置不正确：延迟秒数应为 0 到 600。",
}

_STYLE = """
body { margin: 0; font: 14px/1.5 system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; color: #1f2329;
       background: #f5f6f7; }
header { background: #8f1d1d; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; }
header a { color: #fff; }
main { padding: 16px 20px; }
.notice { padding: 8px 12px; border-radius: 6px; background: #e8f5e9; margin-bottom: 12px; }
.error { background: #fdecea; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #dee0e3; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; min-width: 1400px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #eceef0; vertical-align: top; }
th { background: #fafbfc; font-weight: 600; white-space: nowrap; }
form { display: inline-flex; gap: 6px; align-items: center; margin: 0 6px 6px 0; flex-wrap: wrap; }
button { padding: 4px 12px; font: inherit; cursor: pointer; }
input[type=text] { padding: 4px 6px; font: inherit; width: 14em; }
.faults { margin-bottom: 12px; }
.muted { color: #646a73; }
ul.files { margin: 0; padding-left: 1.2em; }
"""


def _html(content: str) -> Response[str]:
    return Response(
        content,
        media_type=MediaType.HTML,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        },
    )


def _time(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _actions(record: Record) -> str:
    base = f"/console/applications/{escape(record.application_id)}"
    parts = []
    if record.status == "submitted":
        parts.append(f'<form method="post" action="{base}/accept"><button type="submit">受理</button></form>')
    if record.status == "accepted":
        parts.append(f'<form method="post" action="{base}/complete"><button type="submit">办结</button></form>')
    if record.status in ("submitted", "accepted"):
        field_id = f"reason-{escape(record.application_id)}"
        parts.append(
            f'<form method="post" action="{base}/refuse"><label for="{field_id}">不予办理原因</label>'
            f'<input type="text" id="{field_id}" name="reason" required maxlength="200">'
            '<button type="submit">不予办理</button></form>'
        )
    return "".join(parts) or '<span class="muted">—</span>'


def _note(record: Record) -> str:
    if record.status == "completed" and record.certificate_no:
        return f"证明编号 {escape(record.certificate_no)}"
    if record.status == "refused" and record.reason:
        return f"原因：{escape(record.reason)}"
    return ""


def _agency_name(code: str) -> str:
    agency = agency_by_code(code)
    return agency.name if agency else code


def _details(record: Record) -> str:
    """What the clerk needs to decide: the certificate's purpose, or where the archive goes and for whom."""
    body = record.body
    transfer = body.get("transfer")
    if isinstance(transfer, dict):
        target = str(transfer.get("target_agency_code", ""))
        lines = [
            f"转入机构：{escape(_agency_name(target))}（{escape(target)}）",
            f"拟存档性质：{escape(NATURE_NAMES.get(str(transfer.get('target_nature')), '—'))}",
        ]
        unit = transfer.get("unit")
        if isinstance(unit, dict):
            lines.append(f"新单位：{escape(str(unit.get('name', '')))}（{escape(str(unit.get('uscc', '')))}）")
        initiator = str(transfer.get("initiated_by", ""))
        lines.append(f"发起方：{escape(INITIATOR_NAMES.get(initiator, initiator))}")
        return "<br>".join(lines)
    lines = [f"用途：{escape(str(body.get('purpose', '')))}"]
    delivery = str(body.get("delivery", ""))
    if delivery:
        lines.append(f"领取方式：{escape(DELIVERY_NAMES.get(delivery, delivery))}")
    return "<br>".join(lines)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def _files(record: Record, files: list[FileRecord]) -> str:
    """Every file PUT under the application id, each a download link; files the application does not list
    (uploaded but not named in ``materials``) are marked."""
    if not files:
        return '<span class="muted">无</span>'
    listed = {str(m.get("file_id")) for m in record.body.get("materials", []) if isinstance(m, dict)}
    items = []
    for f in files:
        href = f"/sandbox/applications/{quote(record.application_id, safe='')}/files/{quote(f.file_id, safe='')}"
        extra = "" if f.file_id in listed else '<span class="muted">（未列入申请）</span>'
        items.append(
            f'<li><a href="{escape(href)}" download>{escape(MATERIAL_NAMES.get(f.material, f.material))}</a>'
            f' <span class="muted">{escape(_size(f.size))}</span>{extra}</li>'
        )
    return '<ul class="files">' + "".join(items) + "</ul>"


def _row(record: Record, files: list[FileRecord]) -> str:
    applicant: dict[str, Any] = record.body.get("applicant", {})
    cells = [
        escape(record.reference_no),
        escape(record.case_no),
        escape(KIND_NAMES.get(record.kind, record.kind)),
        escape(str(applicant.get("name", ""))),
        escape(mask_id_number(str(applicant.get("id_number", "")))),
        escape(_agency_name(str(record.body.get("agency_code", "")))),
        _details(record),
        _files(record, files),
        escape(STATUS_NAMES.get(record.status, record.status)),
        escape(_time(record.received_at)),
        _note(record),
        _actions(record),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _faults_form(faults: FaultSwitch) -> str:
    options = "".join(
        f'<option value="{m}"{" selected" if m == faults.mode else ""}>{escape(n)}</option>'
        for m, n in FAULT_NAMES.items()
    )
    return (
        '<form class="faults" method="post" action="/console/faults">'
        f'<label for="mode">故障模式（当前：{escape(FAULT_NAMES[faults.mode])}）</label>'
        f'<select id="mode" name="mode">{options}</select>'
        '<label for="delay">延迟秒数</label>'
        f'<input type="text" id="delay" name="delay_seconds" value="{faults.delay_seconds:g}" size="4">'
        '<button type="submit">切换</button></form>'
    )


_COLUMNS: Final = (
    "申请编号",
    "办件编号",
    "类型",
    "申请人",
    "证件号码",
    "存档机构",
    "申请内容",
    "材料",
    "状态",
    "收到时间",
    "备注",
    "操作",
)


def render(
    records: list[Record],
    files: Mapping[str, list[FileRecord]],
    faults: FaultSwitch,
    notice: str | None,
    error: str | None,
) -> str:
    head = "".join(f"<th>{h}</th>" for h in _COLUMNS)
    rows = "".join(_row(r, files.get(r.application_id, [])) for r in records) or (
        f'<tr><td colspan="{len(_COLUMNS)}" class="muted">暂无申请</td></tr>'
    )
    banner = ""
    if error in ERRORS:
        banner = f'<p class="notice error">{escape(ERRORS[error])}</p>'
    elif notice in NOTICES:
        banner = f'<p class="notice">{escape(NOTICES[notice])}</p>'
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>经办工作台 - 省级流动人员人事档案管理系统（沙箱）</title><style>{_STYLE}</style></head><body>"
        '<header><h1>省级流动人员人事档案管理系统（沙箱）· 经办工作台</h1><a href="/">刷新</a></header>'
        f"<main>{banner}{_faults_form(faults)}"
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        "</main></body></html>"
    )


@get("/", include_in_schema=False)
async def console(request: Request[Any, Any, Any], store: StoreDep, faults: FaultsDep) -> Response[str]:
    q = request.query_params
    records = store.all()
    files = {r.application_id: store.files(r.application_id) for r in records}
    return _html(render(records, files, faults, q.get("notice"), q.get("error")))


def _back(**params: str) -> Redirect:
    return Redirect(path="/?" + urlencode(params), status_code=303)


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")


@post("/applications/{application_id:str}/{action:str}", include_in_schema=False)
async def console_action(
    request: Request[Any, Any, Any], application_id: FromPath[str], action: FromPath[str], store: StoreDep
) -> Redirect:
    if not _same_origin(request):
        return _back(error="bad_origin")
    if action not in ("accept", "complete", "refuse"):
        return _back(error="application_not_found")
    form = await request.form()
    reason = str(form.get("reason") or "") if action == "refuse" else None
    step: Action = action  # type: ignore[assignment]
    try:
        act(store, application_id, step, reason)
    except ApiError as exc:
        return _back(error=exc.code)
    return _back(notice=action)


@post("/faults", include_in_schema=False)
async def console_faults(request: Request[Any, Any, Any], faults: FaultsDep) -> Redirect:
    if not _same_origin(request):
        return _back(error="bad_origin")
    form = await request.form()
    mode = str(form.get("mode") or "none")
    try:
        delay = float(str(form.get("delay_seconds") or "0"))
        if mode not in FAULT_NAMES or not 0 <= delay <= 600:
            raise ValueError(mode)
    except ValueError:
        return _back(error="bad_faults")
    faults.set(Faults(mode=mode, delay_seconds=delay))  # type: ignore[arg-type]
    return _back(notice="faults")


console_router = Router(path="/console", route_handlers=[console_action, console_faults], include_in_schema=False)
