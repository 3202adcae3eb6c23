"""The public verification pages a verifier's phone opens from the QR code, or reaches by typing the 核验码 or by
uploading the PDF.

Server-rendered, self-contained HTML: no script, no external resources, inline CSS only, so that it works under
``default-src 'none'; style-src 'unsafe-inline'`` and on any phone browser. Every value is HTML-escaped. The pages
only ever show masked holder data; the ID-number check answers only 一致 / 不一致.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import Literal

SITE_NAME = "流动人员人事档案服务平台"
Verdict = Literal["genuine", "expired", "revoked", "superseded", "altered", "forged"]

# verdict -> (headline, sentence under it, colour class)
HEADLINES: dict[str, tuple[str, str, str]] = {
    "genuine": ("证明真实有效", "该电子证明由本平台签发，当前有效", "ok"),
    "expired": ("证明已过有效期", "该证明确由本平台签发，但已超过有效期，请要求持证人重新开具", "warn"),
    "revoked": ("证明已被撤销", "出具机构已撤销该证明，请勿采信", "bad"),
    "superseded": ("已被新证明替代", "持证人已申请补发，该证明已作废，请向持证人索要新证明", "bad"),
    "altered": ("文件已被改动", "该文件在签发后被修改过，内容不可信，请勿采信", "bad"),
    "forged": ("未通过核验", "无法确认该证明由本平台签发，请勿采信", "bad"),
}
DEFAULT_REASON = "该二维码或文件不是本平台签发的有效电子证明，请勿采信。"


@dataclass(frozen=True, slots=True)
class VerificationView:
    """What the page shows: the verdict; for a certificate we issued, its public facts (holder masked)."""

    verdict: Verdict
    kind_name: str | None = None
    agency_name: str | None = None
    certificate_no: str | None = None
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None
    holder_name_masked: str | None = None
    holder_id_masked: str | None = None
    reason: str | None = None  # why: the revocation reason, what was found altered, ...
    id_check_action: str | None = None  # where the ID-number form posts; None: no form
    id_check: Literal["match", "mismatch", "limited", "invalid"] | None = None
    checked_at: dt.datetime | None = None  # shown when given (local time, Asia/Shanghai)

    @property
    def genuine(self) -> bool:
        return self.verdict == "genuine"


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f2f3f5;color:#1f2329;line-height:1.6;
font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC",
"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
.wrap{max-width:560px;margin:0 auto;padding:16px 16px 32px}
.site{display:block;margin:4px 4px 12px;font-size:14px;color:#4e5561}
.page-title{margin:0 4px 12px;font-size:22px;line-height:1.4}
.card{background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:16px}
.verdict{padding:28px 20px 24px;text-align:center;color:#fff}
.ok .verdict{background:#0b7a41}
.warn .verdict{background:#9a5b00}
.bad .verdict{background:#b42318}
.verdict svg{display:block;width:64px;height:64px;margin:0 auto 12px}
.verdict h1{margin:0;font-size:30px;line-height:1.25;letter-spacing:2px;font-weight:700}
.verdict p{margin:10px 0 0;font-size:17px}
dl{margin:0;padding:4px 20px 8px}
dl div{display:flex;gap:12px;padding:13px 0;border-bottom:1px solid #eceef1}
dl div:last-child{border-bottom:0}
dt{flex:0 0 5.5em;color:#4e5561;font-size:16px}
dd{margin:0;flex:1;min-width:0;font-size:17px;font-weight:600;overflow-wrap:anywhere}
.note{margin:0;padding:14px 20px 18px;font-size:15px;color:#3d434d;background:#f7f8fa}
.reason{margin:0;padding:20px 20px 8px;font-size:18px;font-weight:600;color:#1f2329}
.advice{margin:0;padding:8px 20px 20px;font-size:15px;color:#3d434d}
h2{margin:0;padding:16px 20px 4px;font-size:18px}
form{padding:8px 20px 20px}
label{display:block;font-size:16px;margin:8px 0 6px}
input[type=text],input[type=file]{display:block;width:100%;min-height:48px;font-size:18px;padding:10px 12px;
border:1px solid #8f959e;border-radius:8px;background:#fff}
button{display:block;width:100%;min-height:48px;margin-top:12px;font-size:18px;border:0;border-radius:8px;
background:#1456f0;color:#fff;font-weight:600}
.answer{margin:0 20px 16px;padding:12px 14px;border-radius:8px;font-size:17px;font-weight:600}
.answer.yes{background:#e8f6ee;color:#0b5c31}
.answer.no{background:#fdecea;color:#8a1c12}
footer{margin:16px 4px 0;font-size:13px;color:#4e5561}
"""

_ICON_OK = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="30" fill="#fff"/>'
    '<path d="M18 33l9 9 19-20" fill="none" stroke="#0b7a41" stroke-width="6" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
_ICON_WARN = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="30" fill="#fff"/>'
    '<path d="M32 16v22M32 46v2" fill="none" stroke="#9a5b00" stroke-width="6" stroke-linecap="round"/></svg>'
)
_ICON_BAD = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="30" fill="#fff"/>'
    '<path d="M22 22l20 20M42 22L22 42" fill="none" stroke="#b42318" stroke-width="6" '
    'stroke-linecap="round"/></svg>'
)
_ICONS = {"ok": _ICON_OK, "warn": _ICON_WARN, "bad": _ICON_BAD}
_ID_ANSWERS = {
    "match": ("yes", "证件号码与证明记载一致"),
    "mismatch": ("no", "证件号码与证明记载不一致，请核对持证人身份"),
    "limited": ("no", "核对次数过多，请稍后再试"),
    "invalid": ("no", "请输入完整的证件号码"),
}


def _row(label: str, value: str) -> str:
    return f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>"


def _facts(view: VerificationView) -> str:
    rows = []
    for label, value in (("证明类型", view.kind_name), ("证明编号", view.certificate_no),
                         ("出具机构", view.agency_name), ("持证人", view.holder_name_masked),
                         ("证件号码", view.holder_id_masked)):
        if value:
            rows.append(_row(label, value))
    if view.issued_on:
        rows.append(_row("出具日期", _date(view.issued_on)))
    if view.expires_on:
        rows.append(_row("有效期至", _date(view.expires_on)))
    return "<dl>" + "".join(rows) + "</dl>" if rows else ""


def _id_check(view: VerificationView) -> str:
    if view.id_check_action is None:
        return ""
    answer = ""
    if view.id_check is not None:
        css, text = _ID_ANSWERS[view.id_check]
        answer = f'<p class="answer {css}" role="status">{escape(text)}</p>'
    return (
        '<section class="card"><h2>核对持证人证件号码</h2>'
        '<p class="advice">输入纸质证明上的完整证件号码，本页只回答是否一致，不显示号码。</p>'
        f"{answer}"
        f'<form method="post" action="{escape(view.id_check_action)}">'
        '<label for="id_number">证件号码</label>'
        '<input type="text" id="id_number" name="id_number" autocomplete="off" maxlength="32" required>'
        '<button type="submit">核对</button></form></section>'
    )


def _document(title: str, body: str, footer: str, site_name: str, section: str = "电子证明核验") -> str:
    # one <h1> per page for screen readers: the verdict's own, or else the page's title
    heading = "" if "<h1" in body else f'<h1 class="page-title">{escape(title)}</h1>'
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="format-detection" content="telephone=no">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{escape(title)} - {escape(section)} - {escape(site_name)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<div class="wrap"><header class="site">{escape(site_name)} · {escape(section)}</header>\n'
        f"<main>{heading}{body}</main>\n"
        f"<footer>{escape(footer)}</footer>"
        "</div>\n</body>\n</html>\n"
    )


def render_verification_page(view: VerificationView, *, site_name: str = SITE_NAME) -> str:
    """The complete HTML document for ``view``."""
    title, sentence, css = HEADLINES[view.verdict]
    role = "status" if css == "ok" else "alert"
    parts = [f'<section class="card {css}"><div class="verdict" role="{role}">{_ICONS[css]}'
             f"<h1>{escape(title)}</h1><p>{escape(sentence)}</p></div>"]
    if view.reason or view.verdict == "forged":
        parts.append(f'<p class="reason">{escape(view.reason or DEFAULT_REASON)}</p>')
    parts.append(_facts(view))
    if view.verdict in ("genuine", "expired"):
        parts.append('<p class="note">请核对您手中证明上的内容与以上信息一致。为保护个人信息，'
                     "姓名和证件号码已部分隐去。</p>")
    else:
        parts.append('<p class="advice">如有疑问，请向出具证明的档案管理服务机构核实。</p>')
    parts.append("</section>")
    parts.append(_id_check(view))
    footer = f"本页由{site_name}生成，仅显示证明的公开信息。"
    if view.checked_at is not None:
        c = view.checked_at
        footer = f"核验时间：{c.year}年{c.month}月{c.day}日 {c:%H:%M}　{footer}"
    return _document(title, "".join(parts), footer, site_name)


def render_start_page(*, message: str | None = None, site_name: str = SITE_NAME) -> str:
    """「电子证明核验」: type the 核验码 printed under the QR, or upload the PDF."""
    notice = f'<p class="answer no" role="alert">{escape(message)}</p>' if message else ""
    body = (
        f'<section class="card">{notice}<h2>输入核验码</h2>'
        '<p class="advice">核验码印在证明二维码旁，共 16 位字母和数字。</p>'
        '<form method="get" action="/verify"><label for="code">核验码</label>'
        '<input type="text" id="code" name="code" autocomplete="off" maxlength="24" '
        'placeholder="XXXX-XXXX-XXXX-XXXX" required><button type="submit">核验</button></form></section>'
        '<section class="card"><h2>上传电子证明文件</h2>'
        '<p class="advice">上传收到的 PDF 文件，本平台检查电子签名和内容是否被改动。</p>'
        '<form method="post" action="/verify/pdf" enctype="multipart/form-data">'
        '<label for="file">PDF 文件（不超过 10 MB）</label>'
        '<input type="file" id="file" name="file" accept="application/pdf" required>'
        '<button type="submit">检查文件</button></form></section>'
    )
    return _document("电子证明核验", body, f"本页由{site_name}生成。", site_name)


def render_share_page(*, unit_name: str | None, action: str, message: str | None = None,
                      site_name: str = SITE_NAME) -> str:
    """The 政审回复函's share link: the reviewing unit types the access code to download it."""
    notice = f'<p class="answer no" role="alert">{escape(message)}</p>' if message else ""
    addressed = f"该政审回复函发给{unit_name}，" if unit_name else ""
    body = (
        f'<section class="card"><h2>输入访问码</h2>{notice}'
        f'<p class="advice">{escape(addressed)}请输入申请人转交的访问码下载。本人不能查看自己的政审材料。</p>'
        f'<form method="post" action="{escape(action)}"><label for="access_code">访问码</label>'
        '<input type="text" id="access_code" name="access_code" autocomplete="off" maxlength="16" required>'
        '<button type="submit">下载</button></form></section>'
    )
    return _document("政审回复函", body, f"本页由{site_name}生成。", site_name, section="政审材料")
