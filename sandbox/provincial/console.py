"""The clerk console at ``/``: server-rendered Chinese HTML, plain forms that POST and redirect back (303).

The console acts for every agency: a certificate's buttons sit under 「存档机构（<name>）」; a transfer's under
「拟接收机构（<name>）」 (``transfer.target_agency_code``) and 「现存档机构（<name>）」 (``agency_code``). Only the
actions valid in the current status are shown. Texts a browser test can rely on (visible button text → the
form's inputs, each ``<label>`` text with its ``name=``):

Each application row (``<tr>`` whose first cell is the 申请编号):
  certificate  「受理」 · 「办结」 · 「不予办理」 with 「不予办理原因」 (name=reason);
               once 已办结: 「撤销证明」 with 「撤销原因」 (name=reason)
  transfer, 拟接收机构
               「受理」 (submitted)
               「出具调档函」 with 「调档函编号」 (name=letter_no, optional: numbered DDH<year><6 digits> when empty)
               「无法接收」 with 「无法接收原因」 (name=reason) (submitted, accepted)
               「已收到」 (sent)
               「入库办结」 (received) · 「退档」 with 「退档原因」 (name=reason) (received)
  transfer, 现存档机构
               「转出」 with 「转递方式」 (select name=method: confidential 机要通信 | courier 快递) and
               「机要编号/邮件号」 (name=tracking_no) (letter_issued)
               「无法转出」 with 「无法转出原因」 (name=reason) (letter_issued)
               「退档确认」 (returned)
  Note 「转出」 is also a substring of 「无法转出」: match button names exactly (Playwright ``exact=True``).
  Each row also shows 办理记录 (every step: time, who, 调档函编号, 转递方式 and 机要编号/邮件号, reason) and, in
  备注, 「超期提醒：…」 when a time limit has passed (else the running limit, 「办理时限：…」).

Above the table:
  「窗口受理档案转递」 form: 「证件类型」 (select name=id_type), 「证件号码」 (name=id_number), 「手机号码」
    (name=phone, optional), 「拟接收机构」 (select name=target_agency_code), 「拟存档性质」 (select name=target_nature:
    1 单位委托 | 2 个人委托), 「新单位名称」 (name=unit_name), 「新单位统一社会信用代码」 (name=unit_uscc); button
    「窗口受理」.
  「自动推进（演示）」 form: 「推进间隔（秒）」 (name=interval_seconds); buttons 「开启自动推进」 and
    「关闭自动推进」 (name=enabled, value on | off).
  Faults form: 「故障模式」 (select name=mode), 「延迟秒数」 (name=delay_seconds); button 「切换」.

After a POST the page shows a banner (``role="alert"`` on errors): a refused form names the problem in Chinese
(e.g. 「「转出」未办理：机要编号/邮件号「abc」不正确：应为 6 至 30 位大写字母或数字，不含空格和符号」). The
redirect is ``/?notice=<action>`` or ``/?error=<code>&flash=<token>``; the token points at the message kept
in memory (the page never prints text taken from the URL).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from html import escape
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from litestar import MediaType, Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from sandbox.common import CHINA_TZ, mask_id_number
from sandbox.provincial.auto_advance import AutoAdvance, AutoAdvanceDep, check_interval
from sandbox.provincial.errors import ApiError, label
from sandbox.provincial.faults import FaultsDep, FaultSwitch
from sandbox.provincial.schemas import (
    ACTOR_NAMES,
    DELIVERY_NAMES,
    DISPATCH_METHOD_NAMES,
    FLOW_NAMES,
    INITIATOR_NAMES,
    KIND_NAMES,
    MATERIAL_NAMES,
    RELATION_NAMES,
    REVIEW_PURPOSE_NAMES,
    AutoAdvanceIn,
    Faults,
    UnitIn,
    WindowTransferIn,
    status_name,
)
from sandbox.provincial.service import act, create_window_transfer, limit_text, reminder_for, running_limit
from sandbox.provincial.store import ACTIONS, Change, FileRecord, Record, StoreDep
from sandbox.provincial.workdays import today_china
from sandbox.seed import AGENCIES, NATURE_NAMES, agency_by_code

FAULT_NAMES: Final = {
    "none": "正常",
    "down": "停机（503）",
    "slow": "缓慢",
    "error": "出错（500）",
    "timeout_after_commit": "保存后超时",
}
NOTICES: Final = {
    "accept": "已受理",
    "complete": "已办结",
    "refuse": "已不予办理",
    "issue_letter": "已出具调档函",
    "cannot_receive": "已答复档案无法接收",
    "send": "档案已转出",
    "cannot_send": "已答复档案无法转出",
    "receive": "已确认收到档案",
    "return": "已退档",
    "confirm_return": "已确认退档",
    "faults": "故障模式已切换",
    "auto_advance": "自动推进设置已保存",
    "window": "已在窗口受理档案转递",
}
ERRORS: Final = {
    "invalid_transition": "该申请的状态已经变化，不能执行这个操作，请刷新后再看。",
    "validation_error": "填写的内容不符合要求，请检查后重新提交。",
    "application_not_found": "没有找到该申请。",
    "not_found": "没有这个操作。",
    "bad_request": "提交的内容不正确。",
    "bad_origin": "请求不是从本工作台发出的，已拒绝。",
    "bad_faults": "故障设置不正确：延迟秒数应为 0 到 600。",
}
# the visible text of each action's button (a transfer's 办结 is 入库办结)
BUTTONS: Final = {
    "accept": "受理",
    "complete": "办结",
    "refuse": "不予办理",
    "issue_letter": "出具调档函",
    "cannot_receive": "无法接收",
    "send": "转出",
    "cannot_send": "无法转出",
    "receive": "已收到",
    "return": "退档",
    "confirm_return": "退档确认",
    "revoke": "撤销证明",
}
_TRANSFER_BUTTONS: Final = {**BUTTONS, "complete": "入库办结"}
ID_TYPE_NAMES: Final = {"01": "居民身份证"}

# messages of refused forms, by a random token in the redirect (never text taken from the URL)
_FLASH: OrderedDict[str, str] = OrderedDict()
_FLASH_LIMIT: Final = 256

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
input[type=text], select { padding: 4px 6px; font: inherit; }
input[type=text] { width: 12em; }
.tools { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; align-items: flex-start; }
.tools fieldset { background: #fff; }
.tools form { display: flex; }
fieldset { border: 1px solid #dee0e3; border-radius: 6px; margin: 0 0 8px; padding: 6px 10px; min-width: 16em; }
legend { font-weight: 600; padding: 0 4px; }
.muted { color: #646a73; }
.overdue { color: #b42318; font-weight: 600; margin: 0; }
ul.files, ol.history { margin: 0; padding-left: 1.2em; }
td.history { min-width: 22em; }
td.note { min-width: 14em; }
td.ops { min-width: 30em; }
td.ops form { display: flex; }
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
    """An instant as China wall-clock time, to the second."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso[:19].replace("T", " ")
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TZ)
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _agency_name(code: str) -> str:
    agency = agency_by_code(code)
    return agency.name if agency else code


def _button(kind: str, action: str) -> str:
    return (_TRANSFER_BUTTONS if kind == "archive_transfer" else BUTTONS)[action]


def _simple(base: str, record: Record, action: str) -> str:
    return (
        f'<form method="post" action="{base}/{action}">'
        f'<button type="submit">{_button(record.kind, action)}</button></form>'
    )


def _with_reason(base: str, record: Record, action: str, reason_label: str) -> str:
    field_id = f"{action}-reason-{escape(record.application_id)}"
    return (
        f'<form method="post" action="{base}/{action}"><label for="{field_id}">{reason_label}</label>'
        f'<input type="text" id="{field_id}" name="reason" required maxlength="200">'
        f'<button type="submit">{_button(record.kind, action)}</button></form>'
    )


def _issue_letter(base: str, record: Record) -> str:
    field_id = f"letter-no-{escape(record.application_id)}"
    return (
        f'<form method="post" action="{base}/issue_letter"><label for="{field_id}">调档函编号</label>'
        f'<input type="text" id="{field_id}" name="letter_no" maxlength="32" placeholder="不填则自动编号">'
        '<button type="submit">出具调档函</button></form>'
    )


def _send(base: str, record: Record) -> str:
    method_id = f"method-{escape(record.application_id)}"
    tracking_id = f"tracking-no-{escape(record.application_id)}"
    options = "".join(f'<option value="{m}">{escape(n)}</option>' for m, n in DISPATCH_METHOD_NAMES.items())
    return (
        f'<form method="post" action="{base}/send">'
        f'<label for="{method_id}">转递方式</label><select id="{method_id}" name="method">{options}</select>'
        f'<label for="{tracking_id}">机要编号/邮件号</label>'
        f'<input type="text" id="{tracking_id}" name="tracking_no" maxlength="40" autocomplete="off">'
        '<button type="submit">转出</button></form>'
    )


def _group(legend: str, forms: list[str]) -> str:
    inner = "".join(forms) or '<span class="muted">当前无需操作</span>'
    return f"<fieldset><legend>{escape(legend)}</legend>{inner}</fieldset>"


def _actions(record: Record) -> str:
    base = f"/console/applications/{escape(record.application_id)}"
    status = record.status
    transfer = record.transfer
    current = _agency_name(str(record.body.get("agency_code", "")))
    if transfer is None:
        forms = []
        if status == "submitted":
            forms.append(_simple(base, record, "accept"))
        if status == "accepted":
            forms.append(_simple(base, record, "complete"))
        if status in ("submitted", "accepted"):
            forms.append(_with_reason(base, record, "refuse", "不予办理原因"))
        if status == "completed":
            forms.append(_with_reason(base, record, "revoke", "撤销原因"))
        if not forms:
            return '<span class="muted">—</span>'
        return _group(f"存档机构（{current}）", forms)
    receiving: list[str] = []
    holding: list[str] = []
    if status == "submitted":
        receiving.append(_simple(base, record, "accept"))
    if status == "accepted":
        receiving.append(_issue_letter(base, record))
    if status in ("submitted", "accepted"):
        receiving.append(_with_reason(base, record, "cannot_receive", "无法接收原因"))
    if status == "letter_issued":
        holding.append(_send(base, record))
        holding.append(_with_reason(base, record, "cannot_send", "无法转出原因"))
    if status == "sent":
        receiving.append(_simple(base, record, "receive"))
    if status == "received":
        receiving.append(_simple(base, record, "complete"))
        receiving.append(_with_reason(base, record, "return", "退档原因"))
    if status == "returned":
        holding.append(_simple(base, record, "confirm_return"))
    target = _agency_name(str(transfer.get("target_agency_code", "")))
    return _group(f"拟接收机构（{target}）", receiving) + _group(f"现存档机构（{current}）", holding)


def _note(record: Record, today: dt.date) -> str:
    parts = []
    if record.status == "completed" and record.certificate_no:
        parts.append(f"证明编号 {escape(record.certificate_no)}")
    if record.reason and record.status in ("refused", "cannot_receive", "cannot_send", "returned", "return_confirmed"):
        parts.append(f"原因：{escape(record.reason)}")
    reminder = reminder_for(record, today)
    if reminder is not None:
        parts.append(f'<p class="overdue">超期提醒：{escape(reminder.message)}</p>')
    else:
        running = running_limit(record)
        if running is not None:
            parts.append(f'<span class="muted">办理时限：{escape(limit_text(running))}</span>')
    return "<br>".join(parts)


def _details(record: Record) -> str:
    """What the clerk needs to decide: the certificate's purpose, or where the archive goes and for whom."""
    body = record.body
    transfer = record.transfer
    if transfer is not None:
        target = str(transfer.get("target_agency_code", ""))
        lines = [
            f"转入机构：{escape(_agency_name(target))}（{escape(target)}）",
            f"拟存档性质：{escape(NATURE_NAMES.get(str(transfer.get('target_nature')), '—'))}",
        ]
        unit = transfer.get("unit")
        if isinstance(unit, dict):
            lines.append(f"新单位：{escape(str(unit.get('name', '')))}（{escape(str(unit.get('uscc', '')))}）")
        flow = str(transfer.get("flow") or "")
        if flow:
            lines.append(f"接转流向：{escape(FLOW_NAMES.get(flow, flow))}")
        initiator = str(transfer.get("initiated_by", ""))
        lines.append(f"发起方：{escape(INITIATOR_NAMES.get(initiator, initiator))}")
        return "<br>".join(lines)
    lines = [f"用途：{escape(str(body.get('purpose', '')))}"] if body.get("purpose") else []
    delivery = str(body.get("delivery", ""))
    if delivery:
        lines.append(f"领取方式：{escape(DELIVERY_NAMES.get(delivery, delivery))}")
    post = body.get("post_address")
    if isinstance(post, dict):
        lines.append(f"邮寄至：{escape(str(post.get('address', '')))}（{escape(str(post.get('recipient', '')))}，"
                     f"邮编 {escape(str(post.get('postcode', '')))}）")
    relative = body.get("relative")
    if isinstance(relative, dict):
        relation = RELATION_NAMES.get(str(relative.get("relation")), "")
        lines.append(f"证明的亲属：{escape(relation)} {escape(str(relative.get('name', '')))}")
    review = body.get("review")
    if isinstance(review, dict):
        unit = review.get("unit") or {}
        purpose = REVIEW_PURPOSE_NAMES.get(str(review.get("purpose")), "")
        lines.append(f"政审用途：{escape(purpose)}")
        lines.append(f"政审单位：{escape(str(unit.get('name', '')))}（{escape(str(unit.get('uscc', '')))}），"
                     f"联系人 {escape(str(review.get('contact_name', '')))} "
                     f"{escape(str(review.get('contact_phone', '')))}")
    by_unit = body.get("applied_by_unit")
    if isinstance(by_unit, dict):
        lines.append(f"单位代办：{escape(str(by_unit.get('name', '')))}")
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


def _change_line(record: Record, change: Change) -> str:
    who = ACTOR_NAMES.get(change.actor, change.actor)
    if record.kind != "archive_transfer" and change.actor == "current_agency":
        who = "存档机构"
    if change.agency_code:
        who += f" {_agency_name(change.agency_code)}"
    parts = [f"{escape(_time(change.occurred_at))} {escape(status_name(record.kind, change.status))}", escape(who)]
    if change.letter_no:
        parts.append(f"调档函编号 {escape(change.letter_no)}")
    if change.dispatch:
        method = change.dispatch.get("method", "")
        number_name = "机要编号" if method == "confidential" else "邮件号"
        parts.append(
            f"{escape(DISPATCH_METHOD_NAMES.get(method, method))} {number_name} "
            f"{escape(change.dispatch.get('tracking_no', ''))}"
        )
    if change.reason:
        parts.append(f"原因：{escape(change.reason)}")
    return "<li>" + " · ".join(parts) + "</li>"


def _history(record: Record, changes: list[Change]) -> str:
    items = []
    if record.origin != "window":
        items.append(f"<li>{escape(_time(record.received_at))} 已提交 · 申请人</li>")
    items.extend(_change_line(record, c) for c in changes)
    return '<ol class="history">' + "".join(items) + "</ol>"


def _row(record: Record, files: list[FileRecord], changes: list[Change], today: dt.date) -> str:
    applicant: dict[str, Any] = record.body.get("applicant", {})
    kind = escape(KIND_NAMES.get(record.kind, record.kind))
    if record.origin == "window":
        kind += '<br><span class="muted">窗口受理</span>'
    cells = [
        escape(record.reference_no),
        escape(record.case_no),
        kind,
        escape(str(applicant.get("name", ""))),
        escape(mask_id_number(str(applicant.get("id_number", "")))),
        escape(_agency_name(str(record.body.get("agency_code", "")))),
        _details(record),
        _files(record, files),
        escape(status_name(record.kind, record.status)),
        escape(_time(record.received_at)),
        _history(record, changes),
        _note(record, today),
        _actions(record),
    ]
    classes = {10: ' class="history"', 11: ' class="note"', 12: ' class="ops"'}  # 办理记录, 备注, 操作
    return "<tr>" + "".join(f"<td{classes.get(i, '')}>{c}</td>" for i, c in enumerate(cells)) + "</tr>"


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


def _auto_advance_form(auto: AutoAdvance) -> str:
    state = f"已开启，每 {auto.interval_seconds:g} 秒推进一步" if auto.enabled else "已关闭"
    return (
        '<fieldset><legend>自动推进（演示）</legend>'
        f'<p class="muted" style="margin:0 0 4px">当前：{escape(state)}</p>'
        '<form method="post" action="/console/auto-advance">'
        '<label for="auto-interval">推进间隔（秒）</label>'
        f'<input type="text" id="auto-interval" name="interval_seconds" value="{auto.interval_seconds:g}" size="5">'
        '<button type="submit" name="enabled" value="on">开启自动推进</button>'
        '<button type="submit" name="enabled" value="off">关闭自动推进</button>'
        "</form></fieldset>"
    )


def _window_form() -> str:
    id_types = "".join(f'<option value="{c}">{c} {escape(n)}</option>' for c, n in ID_TYPE_NAMES.items())
    agencies = "".join(f'<option value="{a.code}">{escape(a.name)}（{a.code}）</option>' for a in AGENCIES)
    natures = '<option value="2">个人委托</option><option value="1">单位委托</option>'
    fields = [
        f'<label for="wt-id-type">证件类型</label><select id="wt-id-type" name="id_type">{id_types}</select>',
        '<label for="wt-id-number">证件号码</label><input type="text" id="wt-id-number" name="id_number"'
        ' maxlength="22" autocomplete="off">',
        '<label for="wt-phone">手机号码</label><input type="text" id="wt-phone" name="phone" maxlength="11"'
        ' placeholder="不填则用登记的号码">',
        '<label for="wt-target">拟接收机构</label>'
        f'<select id="wt-target" name="target_agency_code">{agencies}</select>',
        f'<label for="wt-nature">拟存档性质</label><select id="wt-nature" name="target_nature">{natures}</select>',
        '<label for="wt-unit-name">新单位名称</label><input type="text" id="wt-unit-name" name="unit_name"'
        ' maxlength="300">',
        '<label for="wt-unit-uscc">新单位统一社会信用代码</label><input type="text" id="wt-unit-uscc"'
        ' name="unit_uscc" maxlength="18">',
    ]
    return (
        "<fieldset><legend>窗口受理档案转递</legend>"
        '<form method="post" action="/console/window-transfers">'
        + "".join(fields)
        + '<button type="submit">窗口受理</button></form></fieldset>'
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
    "办理记录",
    "备注",
    "操作",
)


def _banner(notice: str | None, error: str | None, flash: str | None) -> str:
    message = _FLASH.get(flash or "")
    if error in ERRORS:
        return f'<p class="notice error" role="alert">{escape(message or ERRORS[error])}</p>'
    if notice in NOTICES:
        return f'<p class="notice" role="status">{escape(message or NOTICES[notice])}</p>'
    return ""


def render(
    records: list[Record],
    files: Mapping[str, list[FileRecord]],
    faults: FaultSwitch,
    notice: str | None,
    error: str | None,
    *,
    changes: Mapping[str, list[Change]] | None = None,
    auto_advance: AutoAdvance | None = None,
    flash: str | None = None,
    today: dt.date | None = None,
) -> str:
    day = today or today_china()
    head = "".join(f"<th>{h}</th>" for h in _COLUMNS)
    rows = "".join(
        _row(r, files.get(r.application_id, []), (changes or {}).get(r.application_id, []), day) for r in records
    ) or (f'<tr><td colspan="{len(_COLUMNS)}" class="muted">暂无申请</td></tr>')
    tools = _window_form() + (_auto_advance_form(auto_advance) if auto_advance else "")
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>经办工作台 - 省级流动人员人事档案管理系统（沙箱）</title><style>{_STYLE}</style></head><body>"
        '<header><h1>省级流动人员人事档案管理系统（沙箱）· 经办工作台</h1><a href="/">刷新</a></header>'
        f"<main>{_banner(notice, error, flash)}{_faults_form(faults)}"
        f'<div class="tools">{tools}</div>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        "</main></body></html>"
    )


@get("/", include_in_schema=False)
async def console(
    request: Request[Any, Any, Any], store: StoreDep, faults: FaultsDep, auto_advance: AutoAdvanceDep
) -> Response[str]:
    q = request.query_params
    records = store.all()
    files = store.all_files()
    changes = store.histories()
    page = render(
        records,
        files,
        faults,
        q.get("notice"),
        q.get("error"),
        changes=changes,
        auto_advance=auto_advance,
        flash=q.get("flash"),
    )
    return _html(page)


def _flash(message: str) -> str:
    token = secrets.token_urlsafe(9)
    _FLASH[token] = message
    while len(_FLASH) > _FLASH_LIMIT:
        _FLASH.popitem(last=False)
    return token


def _back(**params: str) -> Redirect:
    return Redirect(path="/?" + urlencode(params), status_code=303)


def _refused(exc: ApiError, what: str) -> Redirect:
    """Back to the page with a banner that says what was refused and why."""
    message = exc.message
    if exc.field and exc.code == "validation_error" and label(exc.field) not in message:
        message = f"{label(exc.field)}：{message}"
    text = f"「{what}」未办理：{message}"
    if exc.code == "invalid_transition":
        text += "。" + ERRORS["invalid_transition"]
    return _back(error=exc.code, flash=_flash(text))


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return str(value) if value is not None else None


@post("/applications/{application_id:str}/{action:str}", include_in_schema=False)
async def console_action(
    request: Request[Any, Any, Any], application_id: FromPath[str], action: FromPath[str], store: StoreDep
) -> Redirect:
    if not _same_origin(request):
        return _back(error="bad_origin")
    if action not in ACTIONS or action == "withdraw":
        return _back(error="not_found")
    form = await request.form()
    record = store.get(application_id)
    what = _button(record.kind, action) if record else BUTTONS.get(action, action)
    try:
        act(
            store,
            application_id,
            action,
            _text(form, "reason"),
            method=_text(form, "method"),
            tracking_no=_text(form, "tracking_no"),
            letter_no=_text(form, "letter_no"),
        )
    except ApiError as exc:
        return _refused(exc, what)
    return _back(notice=action)


@post("/window-transfers", include_in_schema=False)
async def console_window_transfer(request: Request[Any, Any, Any], store: StoreDep) -> Redirect:
    if not _same_origin(request):
        return _back(error="bad_origin")
    form = await request.form()
    nature = _text(form, "target_nature") or ""
    unit_name, unit_uscc = (_text(form, "unit_name") or "").strip(), (_text(form, "unit_uscc") or "").strip()
    unit = UnitIn(name=unit_name, uscc=unit_uscc) if nature == "1" or unit_name or unit_uscc else None
    data = WindowTransferIn(
        id_type=(_text(form, "id_type") or "01").strip(),
        id_number=(_text(form, "id_number") or "").strip(),
        target_agency_code=(_text(form, "target_agency_code") or "").strip(),
        target_nature=nature,
        unit=unit,
        phone=(_text(form, "phone") or "").strip() or None,
    )
    try:
        record = create_window_transfer(store, data)
    except ApiError as exc:
        return _refused(exc, "窗口受理")
    name = record.body["applicant"]["name"]
    return _back(
        notice="window",
        flash=_flash(f"已在窗口受理{name}的档案转递，申请编号 {record.reference_no}，办件编号 {record.case_no}"),
    )


@post("/auto-advance", include_in_schema=False)
async def console_auto_advance(request: Request[Any, Any, Any], auto_advance: AutoAdvanceDep) -> Redirect:
    if not _same_origin(request):
        return _back(error="bad_origin")
    form = await request.form()
    enabled = _text(form, "enabled") == "on"
    try:
        interval = float(_text(form, "interval_seconds") or auto_advance.interval_seconds)
        check_interval(interval)
    except ValueError:
        return _back(error="validation_error", flash=_flash("推进间隔（秒）应为 0.2 到 3600 之间的数字"))
    except ApiError as exc:
        return _back(error=exc.code, flash=_flash(f"推进间隔（秒）：{exc.message}"))
    auto_advance.set(AutoAdvanceIn(enabled=enabled, interval_seconds=interval))
    return _back(notice="auto_advance")


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


console_router = Router(
    path="/console",
    route_handlers=[console_action, console_window_transfer, console_auto_advance, console_faults],
    include_in_schema=False,
)
