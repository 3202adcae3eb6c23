"""The public verification page a verifier's phone opens from the QR code.

Server-rendered, self-contained HTML: no script, no external resources, inline CSS only, so that it
works under ``default-src 'none'; style-src 'unsafe-inline'`` and on any phone browser. Every value
is HTML-escaped. The page only ever shows masked holder data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

SITE_NAME = "流动人员人事档案服务平台"
DEFAULT_REASON = "该二维码不是本平台签发的有效电子证明，请勿采信。"


@dataclass(frozen=True, slots=True)
class VerificationView:
    """What the page shows. Genuine: the certificate's public facts. Not genuine: one reason sentence."""

    genuine: bool
    kind_name: str | None = None
    agency_name: str | None = None
    issued_on: dt.date | None = None
    holder_name_masked: str | None = None
    holder_id_masked: str | None = None
    certificate_no: str | None = None
    reason: str | None = None
    checked_at: dt.datetime | None = None  # shown when given (use local time, Asia/Shanghai)

    def __post_init__(self) -> None:
        if self.genuine:
            missing = [
                name
                for name in (
                    "kind_name",
                    "agency_name",
                    "issued_on",
                    "holder_name_masked",
                    "holder_id_masked",
                    "certificate_no",
                )
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"a genuine verification needs {', '.join(missing)}")


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f2f3f5;color:#1f2329;line-height:1.6;
font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC",
"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
.wrap{max-width:560px;margin:0 auto;padding:16px 16px 32px}
.site{margin:4px 4px 12px;font-size:14px;color:#646a73}
.card{background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.verdict{padding:28px 20px 24px;text-align:center;color:#fff}
.ok .verdict{background:#0f8a4b}
.bad .verdict{background:#c9252c}
.verdict svg{display:block;width:64px;height:64px;margin:0 auto 12px}
.verdict h1{margin:0;font-size:30px;line-height:1.25;letter-spacing:2px;font-weight:700}
.verdict p{margin:10px 0 0;font-size:17px}
dl{margin:0;padding:4px 20px 8px}
dl div{display:flex;gap:12px;padding:13px 0;border-bottom:1px solid #eceef1}
dl div:last-child{border-bottom:0}
dt{flex:0 0 5.5em;color:#646a73;font-size:16px}
dd{margin:0;flex:1;min-width:0;font-size:17px;font-weight:600;overflow-wrap:anywhere}
.note{margin:0;padding:14px 20px 18px;font-size:15px;color:#4e5561;background:#f7f8fa}
.reason{margin:0;padding:20px;font-size:18px;font-weight:600;color:#1f2329}
.advice{margin:0;padding:0 20px 20px;font-size:15px;color:#4e5561}
footer{margin:16px 4px 0;font-size:13px;color:#8f959e}
"""

_ICON_OK = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="30" fill="#fff"/>'
    '<path d="M18 33l9 9 19-20" fill="none" stroke="#0f8a4b" stroke-width="6" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
_ICON_BAD = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="30" fill="#fff"/>'
    '<path d="M22 22l20 20M42 22L22 42" fill="none" stroke="#c9252c" stroke-width="6" '
    'stroke-linecap="round"/></svg>'
)


def _row(label: str, value: str) -> str:
    return f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>"


def render_verification_page(view: VerificationView, *, site_name: str = SITE_NAME) -> str:
    """Return the complete HTML document for ``view``."""
    if view.genuine and view.issued_on is not None:  # __post_init__ guarantees the fields
        title = "证明真实有效"
        body = (
            '<main class="card ok">'
            f'<section class="verdict" role="status">{_ICON_OK}<h1>{title}</h1>'
            "<p>该电子证明由本平台签发，当前有效</p></section>"
            "<dl>"
            + _row("证明类型", view.kind_name or "")
            + _row("出具机构", view.agency_name or "")
            + _row("出具日期", _date(view.issued_on))
            + _row("持证人", view.holder_name_masked or "")
            + _row("证件号码", view.holder_id_masked or "")
            + _row("证明编号", view.certificate_no or "")
            + "</dl>"
            '<p class="note">请核对您手中证明上的内容与以上信息一致。为保护个人信息，姓名和证件号码已部分隐去。</p>'
            "</main>"
        )
    else:
        title = "未通过核验"
        body = (
            '<main class="card bad">'
            f'<section class="verdict" role="alert">{_ICON_BAD}<h1>{title}</h1>'
            "<p>无法确认该证明的真实性</p></section>"
            f'<p class="reason">{escape(view.reason or DEFAULT_REASON)}</p>'
            '<p class="advice">如有疑问，请向出具证明的档案管理服务机构核实。</p>'
            "</main>"
        )
    footer = f"本页由{site_name}生成，仅显示证明的公开信息。" if view.genuine else f"本页由{site_name}生成。"
    if view.checked_at is not None:
        c = view.checked_at
        footer = f"核验时间：{c.year}年{c.month}月{c.day}日 {c:%H:%M}　{footer}"
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="format-detection" content="telephone=no">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{escape(title)} - 电子证明核验 - {escape(site_name)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<div class="wrap"><div class="site">{escape(site_name)} · 电子证明核验</div>\n'
        f"{body}\n"
        f"<footer>{escape(footer)}</footer>"
        "</div>\n</body>\n</html>\n"
    )
