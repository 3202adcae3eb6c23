"""The provider's HTML pages (Chinese, phone-sized, no script)."""

from __future__ import annotations

from html import escape

from sandbox.common import mask_id_number
from sandbox.seed import LEGAL_ENTITIES, NATURE_NAMES, PERSONS, LegalEntity, Person, agency_by_code

_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif;
       background: #f2f4f7; color: #1f2329; }
main { max-width: 480px; margin: 0 auto; padding: 16px; }
header { background: #1d57c4; color: #fff; padding: 18px 16px; }
header h1 { margin: 0 auto; max-width: 480px; font-size: 20px; }
.note { color: #646a73; font-size: 14px; }
h2 { font-size: 17px; margin: 20px 0 8px; }
ul { list-style: none; margin: 0; padding: 0; }
li { margin: 0 0 10px; }
button { width: 100%; min-height: 56px; text-align: left; padding: 12px 14px; font: inherit;
         background: #fff; border: 1px solid #d0d3d6; border-radius: 10px; cursor: pointer; }
button:active, button:focus-visible { border-color: #1d57c4; outline: 2px solid #1d57c4; }
button strong { display: block; font-size: 17px; }
button span { display: block; color: #646a73; font-size: 13px; }
a { color: #1d57c4; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><header><h1>统一身份认证（沙箱）</h1></header><main>{body}</main></body></html>"
    )


def _choice(tx: str, username: str, title: str, detail: str) -> str:
    return (
        '<li><form method="post" action="/login">'
        f'<input type="hidden" name="tx" value="{escape(tx)}">'
        f'<input type="hidden" name="username" value="{escape(username)}">'
        f'<button type="submit" data-username="{escape(username)}"><strong>{escape(title)}</strong>'
        f"<span>{escape(detail)}</span></button></form></li>"
    )


def _person_detail(person: Person) -> str:
    archive = person.archive
    if archive is None:
        where = "暂无存档"
    else:
        agency = agency_by_code(archive.agency_code)
        where = f"{NATURE_NAMES[archive.nature]} · {agency.name if agency else archive.agency_code}"
    return f"身份证 {mask_id_number(person.id_number)} · {where}"


def _entity_detail(entity: LegalEntity) -> str:
    return f"经办人 {entity.agent_name} · 统一社会信用代码 {entity.unit.uscc}"


def login_page(tx: str, identity_type: str) -> str:
    persons = "".join(_choice(tx, p.username, p.name, _person_detail(p)) for p in PERSONS)
    entities = "".join(_choice(tx, e.username, e.unit.name, _entity_detail(e)) for e in LEGAL_ENTITIES)
    person_section = f'<section id="person"><h2>个人用户登录</h2><ul>{persons}</ul></section>'
    entity_section = f'<section id="legal_entity"><h2>法人用户登录</h2><ul>{entities}</ul></section>'
    first, second = (
        (entity_section, person_section) if identity_type == "legal_entity" else (person_section, entity_section)
    )
    sections = first + second
    intro = '<p class="note">这是开发用的沙箱，以下身份均为虚构。选择一个身份即可登录，无需密码。</p>'
    return _page("统一身份认证 - 选择登录身份", intro + sections)


def message_page(title: str, message: str, link: tuple[str, str] | None = None) -> str:
    body = f"<h2>{escape(title)}</h2><p>{escape(message)}</p>"
    if link:
        body += f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>'
    return _page(title, body)
