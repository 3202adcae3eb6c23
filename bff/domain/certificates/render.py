"""Render an e-certificate (e.g. 存档证明) as a one-page A4 PDF from a versioned template.

Templates live in ``pdf_templates/<kind>/<version>/template.toml`` (wording and layout only);
this module is the single layout engine for them. Text is set in one TrueType CJK font, embedded
as a subset (reportlab cannot embed CFF/OTF, so Noto CJK is not usable here). The font is found once
per process: ``CERT_FONT_PATH`` if set, else the template's candidate file names in the standard
font directories. The Debian package ``fonts-wqy-microhei`` provides the first candidate.

Rendering is serialised by a process-wide lock: reportlab's TrueType subsetter reads the shared font
through a cursor and is not thread-safe, and the GIL would give no parallelism anyway. One render
takes ~8 ms; use processes, not threads, for throughput.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from bff.domain.certificates.qr import draw_qr

FONT_PATH_ENV = "CERT_FONT_PATH"
TEMPLATE_DIR_ENV = "CERT_TEMPLATE_DIR"

# 证件类型 AAC043 (source document 000, 代码表).
ID_TYPE_NAMES: Mapping[str, str] = {
    "01": "居民身份证",
    "02": "中国人民解放军军官证",
    "03": "中国人民武装警察警官证",
    "04": "香港特区护照/港澳居民来往内地通行证",
    "05": "澳门特区护照/港澳居民来往内地通行证",
    "06": "台湾居民来往大陆通行证",
    "07": "外国人永久居留证",
    "08": "外国人护照",
    "09": "残疾人证",
    "10": "军烈属证明",
    "11": "外国人就业证",
    "12": "外国专家证",
    "13": "外国人常驻记者证",
    "14": "台港澳人员就业证",
    "15": "回国(来华)定居专家证",
    "90": "社会保障卡",
    "99": "其他身份证件",
}

# Chinese line-breaking rules (禁则): never start a line with these, never end one with those.
_NO_LINE_START = frozenset("，。、；：！？）》」』】〉”’%％·…—,.;:!?)]")
_NO_LINE_END = frozenset("（《「『【〈“‘([")
_TOKEN = re.compile(r"[A-Za-z0-9]+|.", re.DOTALL)
_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_SAFE_VERSION = re.compile(r"^v[0-9]{1,4}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RenderError(ValueError):
    """The content cannot be rendered faithfully with this template (bad value, missing template)."""


class MissingGlyphError(RenderError):
    """The font has no glyph for some characters (e.g. a rare character in a name).

    Raised rather than printing a box in someone's name; ``characters`` lists what is missing.
    """

    def __init__(self, characters: Iterable[str]) -> None:
        self.characters = "".join(sorted(set(characters)))
        listing = "、".join(f"{c}(U+{ord(c):04X})" for c in self.characters)
        super().__init__(f"font has no glyph for: {listing}")


@dataclass(frozen=True, slots=True)
class CertificateContent:
    """Everything a certificate states. The full ID number is printed, as on the paper certificate."""

    certificate_no: str
    kind: str  # e.g. "archive_certificate"; must match the template's kind
    kind_name: str  # e.g. "存档证明"
    holder_name: str
    holder_id_type: str  # AAC043 code, "01" = 居民身份证
    holder_id_number: str
    archive_no: str
    nature_name: str  # 存档性质, e.g. "个人委托"
    stored_since: dt.date
    agency_name: str
    agency_code: str  # 机构编号
    issued_on: dt.date
    verify_url: str


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    number: str
    paragraphs: tuple[str, ...]
    signature_lines: tuple[str, ...]
    id_label_resident: str
    id_label_other: str
    qr_caption: str
    notes_title: str
    notes: tuple[str, ...]
    verify_address: str


@dataclass(frozen=True, slots=True)
class Layout:
    margin_left: float
    margin_right: float
    title_top: float
    title_size: float
    title_letter_spacing: float
    number_top: float
    number_size: float
    body_top: float
    body_size: float
    body_leading: float
    paragraph_indent: float
    signature_gap: float
    signature_size: float
    signature_leading: float
    signature_right_indent: float
    footer_rule_top: float
    qr_top: float
    qr_size: float
    qr_caption_size: float
    notes_left_gap: float
    notes_title_size: float
    notes_size: float
    notes_leading: float
    address_size: float
    address_leading: float


@dataclass(frozen=True, slots=True)
class SealStyle:
    diameter: float
    ring_width: float
    color: str
    opacity: float
    name_size: float
    name_arc_degrees: float
    star_size: float
    caption: str
    caption_size: float
    mark: str
    mark_size: float


@dataclass(frozen=True, slots=True)
class Template:
    kind: str
    version: str
    font_candidates: tuple[str, ...]
    font_subfont_index: int
    wording: Wording
    layout: Layout
    seal: SealStyle


def templates_root() -> Path:
    """``CERT_TEMPLATE_DIR`` or the repository's ``pdf_templates/``."""
    configured = os.environ.get(TEMPLATE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "pdf_templates"


def _build(cls: Any, table: Mapping[str, Any], where: str) -> Any:
    """Instantiate a flat dataclass from a TOML table, converting lists to tuples and ints to floats."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in table:
            raise RenderError(f"{where}: missing {f.name!r}")
        value = table[f.name]
        if isinstance(value, list):
            value = tuple(value)
        elif f.type == "float" and isinstance(value, int):
            value = float(value)
        kwargs[f.name] = value
    return cls(**kwargs)


@lru_cache(maxsize=32)
def load_template(template: str = "archive_certificate", version: str = "v1") -> Template:
    """Parse and cache ``pdf_templates/<template>/<version>/template.toml``."""
    if not _SAFE_NAME.match(template) or not _SAFE_VERSION.match(version):
        raise RenderError(f"bad template name {template!r}/{version!r}")
    path = templates_root() / template / version / "template.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RenderError(f"no template {template}/{version}") from exc
    where = f"{template}/{version}"
    meta = data["template"]
    if meta.get("kind") != template or meta.get("version") != version or meta.get("page_size") != "A4":
        raise RenderError(f"{where}: [template] does not match its directory or is not A4")
    font = data["font"]
    return Template(
        kind=template,
        version=version,
        font_candidates=tuple(font["candidates"]),
        font_subfont_index=int(font.get("subfont_index", 0)),
        wording=_build(Wording, data["wording"], where),
        layout=_build(Layout, data["layout"], where),
        seal=_build(SealStyle, data["seal"], where),
    )


# --------------------------------------------------------------------------- font


@dataclass(frozen=True, slots=True)
class RegisteredFont:
    name: str  # reportlab font name
    path: Path
    subfont_index: int
    glyphs: frozenset[int]  # code points the font can draw

    def missing(self, text: str) -> set[str]:
        return {c for c in text if ord(c) not in self.glyphs and not c.isspace()}


_FONT_LOCK = threading.Lock()
_FONTS: dict[tuple[str, int], RegisteredFont] = {}  # by file and face: each registered once
_FONT_FOR_SPEC: dict[tuple[tuple[str, ...], int, str | None], RegisteredFont] = {}  # skips the search
_RENDER_LOCK = threading.Lock()


def _font_dirs() -> Iterator[Path]:
    data_dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    for base in data_dirs.split(":"):
        if base:
            yield Path(base) / "fonts"
    home = Path.home()
    yield home / ".local" / "share" / "fonts"
    yield home / ".fonts"
    yield Path("/Library/Fonts")
    yield Path("C:/Windows/Fonts")


def find_font(candidates: Iterable[str]) -> Path:
    """``CERT_FONT_PATH`` if set, else the first candidate file name found in the font directories."""
    configured = os.environ.get(FONT_PATH_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise RenderError(f"{FONT_PATH_ENV} does not name a file: {configured}")
        return path
    wanted = list(candidates)
    found: dict[str, Path] = {}
    for directory in _font_dirs():
        if not directory.is_dir():
            continue
        for root, _dirs, files in os.walk(directory):
            for name in files:
                if name in wanted and name not in found:
                    found[name] = Path(root) / name
    for name in wanted:
        if name in found:
            return found[name]
    raise RenderError(
        f"no CJK TrueType font found (looked for {', '.join(wanted)}); install the Debian package "
        f"fonts-wqy-microhei or set {FONT_PATH_ENV}"
    )


def get_font(template: Template) -> RegisteredFont:
    """Find and register the template's font with reportlab, once per process."""
    spec = (template.font_candidates, template.font_subfont_index, os.environ.get(FONT_PATH_ENV))
    found = _FONT_FOR_SPEC.get(spec)
    if found is not None:
        return found
    path = find_font(template.font_candidates)
    index = template.font_subfont_index if path.suffix.lower() in {".ttc", ".otc"} else 0
    key = (str(path), index)
    with _FONT_LOCK:
        font = _FONTS.get(key)
        if font is not None:
            _FONT_FOR_SPEC[spec] = font
        if font is not None:
            return font
        name = f"CertCJK{len(_FONTS)}"
        try:
            ttf = TTFont(name, str(path), subfontIndex=index)
        except TTFError as exc:  # e.g. CFF outlines: reportlab embeds TrueType (glyf) only
            raise RenderError(f"cannot use font {path.name}: {exc}") from exc
        pdfmetrics.registerFont(ttf)
        font = RegisteredFont(name, path, index, frozenset(ttf.face.charToGlyph))
        _FONTS[key] = font
        _FONT_FOR_SPEC[spec] = font
        return font


# --------------------------------------------------------------------------- text helpers


@lru_cache(maxsize=65536)
def _char_width(font: str, ch: str) -> float:
    return float(pdfmetrics.stringWidth(ch, font, 1000.0))


def text_width(text: str, font: str, size: float) -> float:
    """``pdfmetrics.stringWidth`` with per-character caching (wrapping measures the same glyphs often)."""
    return sum(_char_width(font, ch) for ch in text) * size / 1000.0


def chinese_date(day: dt.date) -> str:
    """2026年11月21日"""
    return f"{day.year}年{day.month}月{day.day}日"


def id_label(template: Template, id_type: str) -> str:
    if id_type == "01":
        return template.wording.id_label_resident
    name = ID_TYPE_NAMES.get(id_type)
    if name is None:
        return "证件号码"
    return template.wording.id_label_other.format(id_type_name=name)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def wrap_cjk(text: str, font: str, size: float, width: float, first_indent: float = 0.0) -> list[str]:
    """Break Chinese text into lines no wider than ``width`` (the first line ``first_indent`` less).

    Latin letter/digit runs (ID numbers, archive numbers) are kept whole unless longer than a line;
    closing punctuation never starts a line and opening punctuation never ends one.
    """
    lines: list[list[str]] = [[]]
    widths = [0.0]

    def room(i: int) -> float:
        return width - (first_indent if i == 0 else 0.0)

    for token in _tokens(text):
        w = text_width(token, font, size)
        i = len(lines) - 1
        if len(token) > 1 and w > width:  # a run longer than any line: break it anywhere
            for ch in token:
                _append(lines, widths, ch, text_width(ch, font, size), room)
            continue
        if widths[i] + w <= room(i) + 0.01 or not lines[i]:
            lines[i].append(token)
            widths[i] += w
            continue
        carry: list[str] = []
        if token in _NO_LINE_START:
            if len(lines[i]) == 1:  # nothing to carry over: let the punctuation hang in the margin
                lines[i].append(token)
                widths[i] += w
                continue
            carry.append(lines[i].pop())
        while len(lines[i]) > 1 and lines[i][-1] in _NO_LINE_END:
            carry.insert(0, lines[i].pop())
        widths[i] = text_width("".join(lines[i]), font, size)
        carry.append(token)
        lines.append(carry)
        widths.append(text_width("".join(carry), font, size))
    return ["".join(line) for line in lines if line]


def _append(lines: list[list[str]], widths: list[float], ch: str, w: float, room: Callable[[int], float]) -> None:
    i = len(lines) - 1
    if widths[i] + w > room(i) + 0.01 and lines[i]:
        lines.append([])
        widths.append(0.0)
        i += 1
    lines[i].append(ch)
    widths[i] += w


def wrap_balanced(text: str, font: str, size: float, width: float) -> list[str]:
    """Like :func:`wrap_cjk`, but lines of about equal length (for names on two lines)."""
    lines = wrap_cjk(text, font, size, width)
    if len(lines) < 2:
        return lines
    target = text_width(text, font, size) / len(lines)
    while target < width:
        balanced = wrap_cjk(text, font, size, target)
        if len(balanced) <= len(lines):
            return balanced
        target += size / 2
    return lines


def wrap_chars(text: str, font: str, size: float, width: float) -> list[str]:
    """Break anywhere (for URLs): as many characters per line as fit."""
    lines: list[str] = []
    current = ""
    used = 0.0
    for ch in text:
        w = text_width(ch, font, size)
        if current and used + w > width:
            lines.append(current)
            current, used = "", 0.0
        current += ch
        used += w
    if current:
        lines.append(current)
    return lines


def _draw_justified(
    canvas: Canvas, x: float, y: float, text: str, font: str, size: float, width: float, justify: bool
) -> None:
    if not (justify and len(text) > 1):
        canvas.setFont(font, size)
        canvas.drawString(x, y, text)
        return
    natural = text_width(text, font, size)
    canvas.saveState()  # Tc (character spacing) is graphics state: keep it to this line
    obj = canvas.beginText(x, y)
    obj.setFont(font, size)
    obj.setCharSpace(max(0.0, (width - natural) / (len(text) - 1)))
    obj.textOut(text)
    canvas.drawText(obj)
    canvas.restoreState()


def _paragraph(
    canvas: Canvas,
    text: str,
    x: float,
    y: float,
    width: float,
    font: str,
    size: float,
    leading: float,
    indent_em: float,
) -> float:
    """Draw a justified paragraph with a first-line indent; return the baseline of its last line."""
    lines = wrap_cjk(text, font, size, width, indent_em * size)
    for i, line in enumerate(lines):
        dx = indent_em * size if i == 0 else 0.0
        _draw_justified(canvas, x + dx, y, line, font, size, width - dx, justify=i < len(lines) - 1)
        if i < len(lines) - 1:
            y -= leading
    return y


# --------------------------------------------------------------------------- seal


def _star(canvas: Canvas, cx: float, cy: float, outer: float) -> None:
    inner = outer * 0.382
    path = canvas.beginPath()
    for k in range(10):
        r = outer if k % 2 == 0 else inner
        a = math.radians(90 + 36 * k)
        px, py = cx + r * math.cos(a), cy + r * math.sin(a)
        if k == 0:
            path.moveTo(px, py)
        else:
            path.lineTo(px, py)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def draw_seal(canvas: Canvas, cx: float, cy: float, agency_name: str, style: SealStyle, font: str) -> None:
    """A drawn round seal: ring, agency name along the upper arc, star, caption and sandbox mark."""
    radius = style.diameter * mm / 2
    ring = style.ring_width * mm
    color = HexColor(style.color)
    ink = Color(color.red, color.green, color.blue, alpha=style.opacity)
    canvas.saveState()
    canvas.setBlendMode("Multiply")  # like ink: black text under the seal stays legible
    canvas.setStrokeColor(ink)
    canvas.setFillColor(ink)
    canvas.setLineWidth(ring)
    canvas.circle(cx, cy, radius - ring / 2, stroke=1, fill=0)

    # Agency name on the upper arc, each character upright towards the rim.
    name = agency_name.strip()
    n = max(1, len(name))
    gap = 1.1 * mm
    max_arc = math.radians(style.name_arc_degrees)
    pitch = 1.15  # character advance along the arc, in em

    def fits(size: float, squeeze: float) -> bool:
        mid = radius - ring - gap - size * 0.45
        return bool(n * size * squeeze * pitch <= max_arc * mid)

    # Long names: first smaller, then narrower characters (as engravers do), then smaller again.
    size, squeeze = style.name_size, 1.0
    for _ in range(200):
        if fits(size, squeeze):
            break
        if size > style.name_size * 0.75 or squeeze <= 0.6:
            size *= 0.97
        else:
            squeeze -= 0.03
    base = radius - ring - gap - size * 0.86  # baseline radius: glyph tops just inside the ring
    mid = radius - ring - gap - size * 0.45
    step = size * squeeze * pitch / mid
    span = step * n
    canvas.setLineWidth(size * 0.035)  # slight stroke: seal characters are bold
    for i, ch in enumerate(name):
        theta = math.pi / 2 + span / 2 - (i + 0.5) * step
        canvas.saveState()
        canvas.translate(cx, cy)
        canvas.rotate(math.degrees(theta) - 90)
        obj = canvas.beginText()
        obj.setTextRenderMode(2)
        obj.setFont(font, size)
        obj.setHorizScale(squeeze * 100)
        w = text_width(ch, font, size) * squeeze
        obj.setTextOrigin(-w / 2, base)
        obj.textOut(ch)
        canvas.drawText(obj)
        canvas.restoreState()

    _star(canvas, cx, cy + radius * 0.02, style.star_size * mm / 2)
    canvas.setFont(font, style.caption_size)
    canvas.drawCentredString(cx, cy - radius * 0.48, style.caption)
    if style.mark:
        canvas.setFont(font, style.mark_size)
        canvas.drawCentredString(cx, cy - radius * 0.70, style.mark)
    canvas.restoreState()


# --------------------------------------------------------------------------- the page


def _check_content(content: CertificateContent, template: Template) -> None:
    if content.kind != template.kind:
        raise RenderError(f"content of kind {content.kind!r} given to template {template.kind!r}")
    for f in fields(content):
        value = getattr(content, f.name)
        if isinstance(value, str):
            if not value.strip():
                raise RenderError(f"{f.name} is empty")
            if _CONTROL.search(value):
                raise RenderError(f"{f.name} contains control characters")
    if not content.verify_url.startswith(("https://", "http://")):
        raise RenderError("verify_url must be an http(s) URL")


def _values(content: CertificateContent, template: Template) -> dict[str, str]:
    return {
        "certificate_no": content.certificate_no,
        "kind_name": content.kind_name,
        "holder_name": content.holder_name.strip(),
        "id_label": id_label(template, content.holder_id_type),
        "holder_id_number": content.holder_id_number.strip(),
        "archive_no": content.archive_no.strip(),
        "nature_name": content.nature_name.strip(),
        "stored_since": chinese_date(content.stored_since),
        "agency_name": content.agency_name.strip(),
        "agency_code": content.agency_code.strip(),
        "issued_on": chinese_date(content.issued_on),
        "verify_url": content.verify_url,
    }


def render_certificate(
    content: CertificateContent, template: str = "archive_certificate", version: str = "v1"
) -> bytes:
    """Return the unsigned one-page A4 PDF of ``content`` laid out by ``template``/``version``."""
    tpl = load_template(template, version)
    _check_content(content, tpl)
    font = get_font(tpl)
    values = _values(content, tpl)
    w = tpl.wording
    title = w.title
    number = w.number.format_map(values)
    paragraphs = [p.format_map(values) for p in w.paragraphs]
    signature = [s.format_map(values) for s in w.signature_lines]
    notes = [n.format_map(values) for n in w.notes]
    address = w.verify_address.format_map(values)
    everything = "".join(
        [
            title,
            number,
            *paragraphs,
            *signature,
            *notes,
            address,
            w.qr_caption,
            w.notes_title,
            tpl.seal.caption,
            tpl.seal.mark,
            values["agency_name"],
        ]
    )
    missing = font.missing(everything)
    if missing:
        raise MissingGlyphError(missing)

    with _RENDER_LOCK:
        use_a85 = rl_config.useA85
        rl_config.useA85 = 0  # binary (Flate only) streams: smaller, and no slow ASCII85 pass
        try:
            return _draw(content, tpl, font.name, title, number, paragraphs, signature, notes, address)
        finally:
            rl_config.useA85 = use_a85


def _draw(
    content: CertificateContent,
    tpl: Template,
    font: str,
    title: str,
    number: str,
    paragraphs: list[str],
    signature: list[str],
    notes: list[str],
    address: str,
) -> bytes:
    lay = tpl.layout
    page_w, page_h = A4
    left = lay.margin_left * mm
    right = page_w - lay.margin_right * mm
    width = right - left

    def top(y_mm: float) -> float:
        return float(page_h - y_mm * mm)

    buf = io.BytesIO()
    # initialFontName: otherwise reportlab references a non-embedded Helvetica in every page.
    canvas = Canvas(buf, pagesize=A4, pageCompression=1, lang="zh-CN", initialFontName=font)
    canvas.setTitle(f"{content.kind_name} {content.certificate_no}")
    canvas.setAuthor(content.agency_name)
    canvas.setSubject(content.kind_name)
    canvas.setCreator(f"pdf_templates/{tpl.kind}/{tpl.version}")
    canvas.setFillColorRGB(0, 0, 0)

    # Title: letter-spaced, faux bold (fill + thin stroke) since the font has one weight.
    canvas.saveState()
    t = canvas.beginText()
    t.setFont(font, lay.title_size)
    t.setCharSpace(lay.title_letter_spacing)
    t.setTextRenderMode(2)
    canvas.setLineWidth(lay.title_size * 0.03)
    tw = text_width(title, font, lay.title_size) + lay.title_letter_spacing * (len(title) - 1)
    t.setTextOrigin((page_w - tw) / 2, top(lay.title_top))
    t.textOut(title)
    canvas.drawText(t)
    canvas.restoreState()

    canvas.setFont(font, lay.number_size)
    canvas.drawRightString(right, top(lay.number_top), number)

    y = top(lay.body_top)
    for i, para in enumerate(paragraphs):
        if i:
            y -= lay.body_leading
        y = _paragraph(canvas, para, left, y, width, font, lay.body_size, lay.body_leading, lay.paragraph_indent)

    # Signature block: the date sits four characters in from the right margin, the agency name is
    # centred on it (GB/T 9704); a long name is pushed left, and wrapped past 60 % of the width.
    size = lay.signature_size
    y = y - lay.signature_gap * mm
    signature = [line for s in signature for line in wrap_balanced(s, font, size, width * 0.6)]
    line_widths = [text_width(s, font, size) for s in signature]
    centre = right - lay.signature_right_indent * size - line_widths[-1] / 2
    centre = min(centre, right - max(line_widths) / 2)
    canvas.setFont(font, size)
    first_baseline = y
    for s in signature:
        canvas.drawCentredString(centre, y, s)
        y -= lay.signature_leading
    last_baseline = y + lay.signature_leading
    seal_cy = (first_baseline + last_baseline) / 2 + size * 0.3
    draw_seal(canvas, centre, seal_cy, content.agency_name, tpl.seal, font)

    # Footer: rule, QR with caption on the left, notes and the verification address on the right.
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.setLineWidth(0.5)
    canvas.line(left, top(lay.footer_rule_top), right, top(lay.footer_rule_top))

    qr_size = lay.qr_size * mm
    qr_x, qr_y = left, top(lay.qr_top) - qr_size
    draw_qr(canvas, content.verify_url, qr_x, qr_y, qr_size)
    canvas.linkURL(content.verify_url, (qr_x, qr_y, qr_x + qr_size, qr_y + qr_size), relative=0, thickness=0)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(font, lay.qr_caption_size)
    canvas.drawCentredString(qr_x + qr_size / 2, qr_y - lay.qr_caption_size * 1.6, tpl.wording.qr_caption)

    nx = left + qr_size + lay.notes_left_gap * mm
    nw = right - nx
    ny = top(lay.qr_top) - lay.notes_title_size
    canvas.setFont(font, lay.notes_title_size)
    canvas.drawString(nx, ny, tpl.wording.notes_title)
    ny -= lay.notes_leading * 1.25
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    for k, note in enumerate(notes, start=1):
        label = f"{k}. "
        lw = text_width(label, font, lay.notes_size)
        canvas.setFont(font, lay.notes_size)
        canvas.drawString(nx, ny, label)
        lines = wrap_cjk(note, font, lay.notes_size, nw - lw)
        for j, line in enumerate(lines):
            _draw_justified(canvas, nx + lw, ny, line, font, lay.notes_size, nw - lw, j < len(lines) - 1)
            ny -= lay.notes_leading
    canvas.setFillColorRGB(0.05, 0.25, 0.55)
    canvas.setFont(font, lay.address_size)
    ny -= lay.address_leading * 0.2
    addr_top = ny + lay.address_size
    for line in wrap_chars(address, font, lay.address_size, nw):
        canvas.drawString(nx, ny, line)
        ny -= lay.address_leading
    canvas.linkURL(content.verify_url, (nx, ny + lay.address_leading * 0.7, right, addr_top), relative=0, thickness=0)

    canvas.showPage()
    canvas.save()
    return buf.getvalue()
