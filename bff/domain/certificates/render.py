"""Render e-certificates (存档证明, 经历证明, 亲属关系证明, 无犯罪记录证明, 政审回复函) as one-page A4 PDFs.

Templates live in ``pdf_templates/<kind>/<version>/template.toml`` (wording and layout only);
this module is the single layout engine for them. A certificate is made in two steps:

1. :func:`render_certificate` draws the whole page (title, number, body, signature block, drawn
   seal, footer with 「扫码核验」, the notes, the verification address and 核验码 written out) in ONE
   content stream, leaving the QR code's place blank. :func:`content_digest` hashes that stream:
   the verification token (and so the URL in the QR code) can commit to the page's content.
2. :func:`add_qr` appends an incremental update that makes the page's ``/Contents`` an array
   ``[original, qr]``: the second stream draws only the QR symbol (vector rectangles, no resources),
   plus a link annotation over it. The digest of the first stream does not change.

The signature (``signing.py``) is applied after both steps and covers the whole file.

Text is set in one TrueType CJK font, embedded as a subset (reportlab cannot embed CFF/OTF, so Noto
CJK is not usable here). The font is found once per process: ``CERT_FONT_PATH`` if set, else the
template's candidate file names in the standard font directories. The Debian package
``fonts-wqy-microhei`` provides the first candidate.

Rendering is serialised by a process-wide lock: reportlab's TrueType subsetter reads the shared font
through a cursor and is not thread-safe, and the GIL would give no parallelism anyway. Use
processes, not threads, for throughput.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from bff.domain.certificates.qr import ERROR_CORRECTION, check_printable, qr_content_stream, qr_matrix

FONT_PATH_ENV = "CERT_FONT_PATH"
TEMPLATE_DIR_ENV = "CERT_TEMPLATE_DIR"
DEFAULT_VALID_DAYS = 90  # for templates that predate [template].valid_days (archive_certificate/v1)

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

# The facts each kind states, by type: "text" (a non-empty string), "date" (a datetime.date) or
# "periods" (work history: a list of {"start": date, "end": date | None, "unit": str, "position": str}).
FACT_TYPES: Mapping[str, Mapping[str, str]] = {
    "archive_certificate": {"archive_no": "text", "nature_name": "text", "stored_since": "date"},
    "experience_certificate": {"archive_no": "text", "periods": "periods"},
    "kinship_certificate": {"archive_no": "text", "relation_name": "text", "relative_name": "text"},
    "no_criminal_record": {"archive_no": "text"},
    "political_review": {
        "archive_no": "text",
        "review_unit_name": "text",
        "purpose_name": "text",
        "political_status": "text",
        "education": "text",
        "periods": "periods",
        "rewards_and_punishments": "text",
    },
}
KINDS: tuple[str, ...] = tuple(FACT_TYPES)
MAX_PERIODS = 12
MAX_JUSTIFY_SPACING = 0.12  # em added between characters, at most, to justify a line
_KEEP_WHOLE = ("holder_name", "relative_name", "relation_name", "purpose_name")  # never split by a line break
_KEEP_WHOLE_MAX = 12  # characters; longer values may break
PERIOD_KEYS = frozenset({"start", "end", "unit", "position"})

# Chinese line-breaking rules (禁则): never start a line with these, never end one with those.
_NO_LINE_START = frozenset("，。、；：！？）》」』】〉”’%％·…—,.;:!?)]")
_NO_LINE_END = frozenset("（《「『【〈“‘([")
# Unbreakable runs: a number with its date unit (2026年), Latin letter/digit runs, else one character.
_TOKEN = re.compile(r"[0-9]+[年月日]|[A-Za-z0-9]+|.", re.DOTALL)
_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_SAFE_VERSION = re.compile(r"^v[0-9]{1,4}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_VERIFICATION_CODE = re.compile(r"^[0-9A-Z]{16}$")
_HTTP_URL = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$")  # printable ASCII, no spaces
# pyHanko's PDF object classes and writer methods are untyped: build and call them through Any.
_pdf: Any = generic
_CREATOR = re.compile(r"^pdf_templates/([a-z0-9_]{1,64})/(v[0-9]{1,4})$")


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
    """Everything a certificate states. The full ID number is printed, as on the paper certificate.

    ``facts`` holds what is particular to the kind, as listed in :data:`FACT_TYPES`.
    """

    certificate_no: str
    kind: str  # e.g. "archive_certificate"; selects the template
    holder_name: str
    holder_id_type: str  # AAC043 code, "01" = 居民身份证
    holder_id_number: str
    agency_name: str
    agency_code: str  # 机构编号
    issued_on: dt.date
    verification_code: str  # the 16-character certificate id, printed 4-4-4-4 as 「核验码」
    verify_address: str  # the verification page in words, e.g. "HTTPS://DANGAN.EXAMPLE.GOV.CN/V"
    facts: Mapping[str, Any]


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class Block:
    """One body block: ``paragraph`` (first-line indent, justified), ``addressee`` (flush left, for
    the 主送机关 of a letter) or ``list`` (one indented line per element of the fact ``each``, with
    wrapped lines hanging under the text after the first ideographic space)."""

    style: str
    text: str
    each: str = ""


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    number: str
    body: tuple[Block, ...]
    signature_lines: tuple[str, ...]
    annotation: str  # 附注 under the date, e.g. 「（此件仅供…使用）」; "" for none
    id_label_resident: str
    id_label_other: str
    period_inline: str  # one work period inside a sentence ({periods})
    period_separator: str
    period_open_end: str  # printed for a period without an end date
    qr_caption: str
    notes_title: str
    notes: tuple[str, ...]
    address_lines: tuple[str, ...]


_BODY_STYLES = frozenset({"paragraph", "addressee", "list"})


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
    # Added in the second generation of templates; the defaults reproduce v1.
    body_min_size: float = 0.0  # long bodies shrink down to this size (leading in proportion); 0: never
    body_bottom: float = 0.0  # lowest point (mm) of body, signature, seal and annotation; 0: rule - 4 mm
    annotation_size: float = 12.0
    seal_gap: float = -1.0  # mm from the last body baseline to the seal's top; negative: see signature_gap
    footer_bottom: float = 289.0  # lowest baseline (mm) of the footer text


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
    valid_days: int
    font_candidates: tuple[str, ...]
    font_subfont_index: int
    wording: Wording
    layout: Layout
    seal: SealStyle

    @property
    def qr_rect(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the QR symbol in PDF points, origin bottom-left, quiet zone excluded."""
        size = self.layout.qr_size * mm
        x0 = self.layout.margin_left * mm
        y1 = A4[1] - self.layout.qr_top * mm
        return (x0, y1 - size, x0 + size, y1)


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
            if f.default is not MISSING:
                continue
            raise RenderError(f"{where}: missing {f.name!r}")
        value = table[f.name]
        if isinstance(value, list):
            value = tuple(value)
        elif f.type == "float" and isinstance(value, int):
            value = float(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _wording(table: Mapping[str, Any], where: str) -> Wording:
    """The [wording] table. Templates of the first generation (archive_certificate/v1) have
    ``paragraphs`` instead of ``body`` and one ``verify_address`` line instead of ``address_lines``."""
    if "body" in table:
        body = []
        for i, raw in enumerate(table["body"]):
            style = str(raw.get("style", "paragraph"))
            if style not in _BODY_STYLES or "text" not in raw:
                raise RenderError(f"{where}: wording.body[{i}] needs a text and a style in {sorted(_BODY_STYLES)}")
            each = str(raw.get("each", ""))
            if (style == "list") != bool(each):
                raise RenderError(f"{where}: wording.body[{i}]: a list block, and only it, names `each`")
            body.append(Block(style=style, text=str(raw["text"]), each=each))
    elif "paragraphs" in table:
        body = [Block(style="paragraph", text=str(p)) for p in table["paragraphs"]]
    else:
        raise RenderError(f"{where}: wording needs `body`")
    address_lines = table.get("address_lines")
    if address_lines is None:
        address_lines = [table["verify_address"]] if "verify_address" in table else []
    try:
        return Wording(
            title=table["title"],
            number=table["number"],
            body=tuple(body),
            signature_lines=tuple(table["signature_lines"]),
            annotation=table.get("annotation", ""),
            id_label_resident=table["id_label_resident"],
            id_label_other=table["id_label_other"],
            period_inline=table.get("period_inline", "{start}至{end}在{unit}任{position}"),
            period_separator=table.get("period_separator", "；"),
            period_open_end=table.get("period_open_end", "今"),
            qr_caption=table["qr_caption"],
            notes_title=table["notes_title"],
            notes=tuple(table["notes"]),
            address_lines=tuple(address_lines),
        )
    except KeyError as exc:
        raise RenderError(f"{where}: wording needs {exc.args[0]!r}") from exc


@lru_cache(maxsize=64)
def _load_template(root: Path, kind: str, version: str) -> Template:
    if not _SAFE_NAME.match(kind) or not _SAFE_VERSION.match(version):
        raise RenderError(f"bad template name {kind!r}/{version!r}")
    path = root / kind / version / "template.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RenderError(f"no template {kind}/{version}") from exc
    where = f"{kind}/{version}"
    meta = data["template"]
    if meta.get("kind") != kind or meta.get("version") != version or meta.get("page_size") != "A4":
        raise RenderError(f"{where}: [template] does not match its directory or is not A4")
    valid = meta.get("valid_days", DEFAULT_VALID_DAYS)
    if not isinstance(valid, int) or isinstance(valid, bool) or not 1 <= valid <= 3650:
        raise RenderError(f"{where}: [template].valid_days must be a whole number of days")
    font = data["font"]
    return Template(
        kind=kind,
        version=version,
        valid_days=valid,
        font_candidates=tuple(font["candidates"]),
        font_subfont_index=int(font.get("subfont_index", 0)),
        wording=_wording(data["wording"], where),
        layout=_build(Layout, data["layout"], where),
        seal=_build(SealStyle, data["seal"], where),
    )


def load_template(kind: str, version: str) -> Template:
    """Parse and cache ``pdf_templates/<kind>/<version>/template.toml``."""
    return _load_template(templates_root(), kind, version)


@lru_cache(maxsize=64)
def _versions(root: Path, kind: str) -> tuple[str, ...]:
    if not _SAFE_NAME.match(kind):
        raise RenderError(f"bad template name {kind!r}")
    directory = root / kind
    found = [p.name for p in directory.iterdir() if _SAFE_VERSION.match(p.name)] if directory.is_dir() else []
    if not found:
        raise RenderError(f"no template for {kind!r}")
    return tuple(sorted(found, key=lambda v: int(v[1:])))


def template_versions(kind: str) -> tuple[str, ...]:
    """Every version directory of ``kind``, oldest first."""
    return _versions(templates_root(), kind)


def current_version(kind: str) -> str:
    """The newest ``vN`` directory of ``kind``: what new certificates of that kind are rendered with."""
    return template_versions(kind)[-1]


def valid_days(kind: str, version: str) -> int:
    """How many days a certificate rendered with ``kind``/``version`` is valid, counted from its date."""
    return load_template(kind, version).valid_days


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


@lru_cache(maxsize=256)
def _token_pattern(keep: tuple[str, ...]) -> re.Pattern[str]:
    if not keep:
        return _TOKEN
    words = "|".join(re.escape(k) for k in sorted(set(keep), key=len, reverse=True) if k)
    if not words:
        return _TOKEN
    return re.compile(f"{words}|{_TOKEN.pattern}", re.DOTALL)


def _tokens(text: str, keep: tuple[str, ...] = ()) -> list[str]:
    return _token_pattern(keep).findall(text)


def wrap_cjk(
    text: str, font: str, size: float, width: float, first_indent: float = 0.0, keep: tuple[str, ...] = ()
) -> list[str]:
    """Break Chinese text into lines no wider than ``width`` (the first line ``first_indent`` less).

    Latin letter/digit runs (ID numbers, archive numbers), numbers with their date unit (2026年)
    and the strings in ``keep`` (names) are kept whole unless longer than a line; closing
    punctuation never starts a line and opening punctuation never ends one.
    """
    lines: list[list[str]] = [[]]
    widths = [0.0]

    def room(i: int) -> float:
        return width - (first_indent if i == 0 else 0.0)

    for token in _tokens(text, keep):
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
    # Past MAX_JUSTIFY_SPACING the characters look spaced out (a long number pushed to the next
    # line leaves a wide gap): stretch that far and leave the rest of the line ragged.
    spacing = min(max(0.0, (width - natural) / (len(text) - 1)), MAX_JUSTIFY_SPACING * size)
    canvas.saveState()  # Tc (character spacing) is graphics state: keep it to this line
    obj = canvas.beginText(x, y)
    obj.setFont(font, size)
    obj.setCharSpace(spacing)
    obj.textOut(text)
    canvas.drawText(obj)
    canvas.restoreState()


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


# --------------------------------------------------------------------------- content


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RenderError(f"{name} is empty or not text")
    if _CONTROL.search(value):
        raise RenderError(f"{name} contains control characters")
    return value


def _check_date(name: str, value: object) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise RenderError(f"{name} is not a date")
    return value


def _check_periods(name: str, value: object) -> None:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise RenderError(f"{name} must be a non-empty list of periods")
    if len(value) > MAX_PERIODS:
        raise RenderError(f"{name}: more than {MAX_PERIODS} periods do not fit on one page")
    for i, period in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(period, Mapping) or set(period) != PERIOD_KEYS:
            raise RenderError(f"{where} must have exactly {sorted(PERIOD_KEYS)}")
        start = _check_date(f"{where}.start", period["start"])
        if period["end"] is not None and _check_date(f"{where}.end", period["end"]) < start:
            raise RenderError(f"{where} ends before it starts")
        _check_text(f"{where}.unit", period["unit"])
        _check_text(f"{where}.position", period["position"])


def _check_content(content: CertificateContent, template: Template) -> None:
    if content.kind != template.kind:
        raise RenderError(f"content of kind {content.kind!r} given to template {template.kind!r}")
    expected = FACT_TYPES.get(content.kind)
    if expected is None:
        raise RenderError(f"unknown certificate kind {content.kind!r}")
    for f in fields(content):
        value = getattr(content, f.name)
        if f.name == "issued_on":
            _check_date(f.name, value)
        elif f.name != "facts":
            _check_text(f.name, value)
    if not _VERIFICATION_CODE.match(content.verification_code):
        raise RenderError("verification_code must be 16 characters A-Z, 0-9")
    if not _HTTP_URL.match(content.verify_address):
        raise RenderError("verify_address must be an http(s) address")
    if not isinstance(content.facts, Mapping):
        raise RenderError("facts must be a mapping")
    missing = sorted(set(expected) - set(content.facts))
    unknown = sorted(set(content.facts) - set(expected))
    if missing or unknown:
        raise RenderError(f"facts for {content.kind}: missing {missing}, unknown {unknown}")
    for name, kind in expected.items():
        value = content.facts[name]
        if kind == "text":
            if not _fact_text(_check_text(name, value)):
                raise RenderError(f"{name} is empty")
        elif kind == "date":
            _check_date(name, value)
        else:
            _check_periods(name, value)


def chinese_month(day: dt.date) -> str:
    """2012年7月"""
    return f"{day.year}年{day.month}月"


def group_code(code: str) -> str:
    """ABCD-EFGH-IJKL-MNOP: easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _fact_text(value: str) -> str:
    # The wording supplies the full stop after a fact; a trailing one in the data would double it.
    return value.strip().rstrip("。").strip()


def _values(content: CertificateContent, template: Template) -> tuple[dict[str, str], dict[str, list[dict[str, str]]]]:
    """The placeholders' values, formatted, and the list facts (periods) as one dict per element."""
    w = template.wording
    values = {
        "certificate_no": content.certificate_no.strip(),
        "holder_name": content.holder_name.strip(),
        "id_label": id_label(template, content.holder_id_type),
        "holder_id_number": content.holder_id_number.strip(),
        "agency_name": content.agency_name.strip(),
        "agency_code": content.agency_code.strip(),
        "issued_on": chinese_date(content.issued_on),
        "verification_code": group_code(content.verification_code),
        "verify_address": content.verify_address,
        "verify_url": content.verify_address,  # the name archive_certificate/v1 uses
        "valid_days": str(template.valid_days),
    }
    lists: dict[str, list[dict[str, str]]] = {}
    for name, kind in FACT_TYPES[content.kind].items():
        value = content.facts[name]
        if kind == "text":
            values[name] = _fact_text(value)
        elif kind == "date":
            values[name] = chinese_date(value)
        else:
            items = [
                {
                    "start": chinese_month(p["start"]),
                    "end": w.period_open_end if p["end"] is None else chinese_month(p["end"]),
                    "unit": _fact_text(p["unit"]),
                    "position": _fact_text(p["position"]),
                }
                for p in value
            ]
            lists[name] = items
            values[name] = w.period_separator.join(w.period_inline.format_map(item) for item in items)
    return values, lists


def _fill(text: str, values: Mapping[str, str], where: str) -> str:
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise RenderError(f"template {where}: bad placeholder in {text!r}: {exc}") from exc


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    dx: float  # from the left margin
    width: float  # available width, for justification
    justify: bool
    label: str = ""  # drawn at label_dx on the same baseline: a list item's first column (dates)
    label_dx: float = 0.0


@dataclass(frozen=True, slots=True)
class _Texts:
    """Every string of the page, placeholders filled."""

    title: str
    number: str
    body: list[tuple[str, tuple[str, ...]]]  # (style, texts): one text, or a list block's elements
    signature: list[str]
    annotation: str
    notes: list[str]
    address_lines: list[str]
    keep: tuple[str, ...]  # short values (names) that a line break must not split

    def everything(self, tpl: Template, agency_name: str) -> str:
        return "".join(
            [
                self.title,
                self.number,
                *(text for _, block in self.body for text in block),
                *self.signature,
                self.annotation,
                *self.notes,
                *self.address_lines,
                tpl.wording.qr_caption,
                tpl.wording.notes_title,
                tpl.seal.caption,
                tpl.seal.mark,
                agency_name,
                "1234567890. ",  # note numbers
            ]
        )


def _texts(content: CertificateContent, tpl: Template) -> _Texts:
    values, lists = _values(content, tpl)
    w = tpl.wording
    where = f"{tpl.kind}/{tpl.version}"
    body: list[tuple[str, tuple[str, ...]]] = []
    for block in w.body:
        if block.each:
            if block.each not in lists:
                raise RenderError(f"template {where}: {block.each!r} is not a list fact of {tpl.kind}")
            body.append(("list", tuple(_fill(block.text, {**values, **item}, where) for item in lists[block.each])))
        else:
            body.append((block.style, (_fill(block.text, values, where),)))
    return _Texts(
        title=w.title,
        number=_fill(w.number, values, where),
        body=body,
        signature=[_fill(s, values, where) for s in w.signature_lines],
        annotation=_fill(w.annotation, values, where) if w.annotation else "",
        notes=[_fill(n, values, where) for n in w.notes],
        address_lines=[_fill(a, values, where) for a in w.address_lines],
        keep=tuple(v for k in _KEEP_WHOLE if 0 < len(v := values.get(k, "")) <= _KEEP_WHOLE_MAX),
    )


def _wrap_block(
    style: str, texts: tuple[str, ...], font: str, size: float, width: float, indent_em: float, keep: tuple[str, ...]
) -> list[_Line]:
    indent = indent_em * size
    if style == "list":
        return _wrap_list(texts, font, size, width, indent, keep)
    lines: list[_Line] = []
    for text in texts:
        if style == "addressee":  # 主送机关: flush left (GB/T 9704 顶格)
            wrapped = wrap_cjk(text, font, size, width, keep=keep)
            lines += [_Line(s, 0.0, width, i < len(wrapped) - 1) for i, s in enumerate(wrapped)]
            continue
        wrapped = wrap_cjk(text, font, size, width, indent, keep)
        lines += [
            _Line(s, indent if i == 0 else 0.0, width - (indent if i == 0 else 0.0), i < len(wrapped) - 1)
            for i, s in enumerate(wrapped)
        ]
    return lines


def _wrap_list(
    items: tuple[str, ...], font: str, size: float, width: float, indent: float, keep: tuple[str, ...]
) -> list[_Line]:
    """One item per line, indented; the text before the first ideographic space (the dates) forms
    a first column and the rest (unit, position) wraps in a second one, breaking between the
    space-separated parts rather than inside one."""
    sep = "\u3000"
    split = [item.split(sep) for item in items]
    column = indent + max((text_width(parts[0], font, size) for parts in split if len(parts) > 1), default=0.0)
    column += text_width(sep, font, size)
    lines: list[_Line] = []
    for parts in split:
        if len(parts) > 1 and column <= width / 2:
            rows = _wrap_parts(parts[1:], font, size, width - column, width - column, keep)
            lines += [
                _Line(s, column, width - column, justify, label=parts[0] if i == 0 else "", label_dx=indent)
                for i, (s, justify) in enumerate(rows)
            ]
        else:  # no first column: hang wrapped lines under the first one's text
            rows = _wrap_parts(parts, font, size, width - indent, width - indent, keep)
            lines += [_Line(s, indent, width - indent, justify) for s, justify in rows]
    return lines


def _wrap_parts(
    parts: list[str], font: str, size: float, first_room: float, room: float, keep: tuple[str, ...] = ()
) -> list[tuple[str, bool]]:
    """Lay out parts separated by ideographic spaces: a part that does not fit on the current line
    starts the next one (the space dropped); only a part longer than a whole line is broken.

    Returns (line, justify): only lines that end inside a part are justified.
    """
    lines: list[tuple[str, bool]] = []
    current, used, cap = "", 0.0, first_room
    for part in parts:
        piece = f"\u3000{part}" if current else part
        w = text_width(piece, font, size)
        if used + w <= cap + 0.01:
            current, used = current + piece, used + w
            continue
        part_w = text_width(part, font, size)
        if current and (part_w <= room + 0.01 or cap - used < 3 * size):
            lines.append((current, False))
            current, used, cap, piece = "", 0.0, room, part
            if part_w <= room + 0.01:
                current, used = part, part_w
                continue
        # Longer than a line: fill this line, then break by characters (the Chinese rules apply).
        wrapped = wrap_cjk(piece, font, size, room, room - (cap - used), keep)
        if len(wrapped) > 1:
            lines.append((current + wrapped[0], True))
            lines += [(line, True) for line in wrapped[1:-1]]
            current, cap = wrapped[-1], room
        else:
            current += wrapped[0]
        used = text_width(current, font, size)
    if current:
        lines.append((current, False))
    return lines


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where the body, the signature block, the seal and the annotation go, at one body size."""

    body_size: float
    body: list[tuple[_Line, float]]  # line, baseline
    signature: list[tuple[str, float]]  # line, baseline; centred on signature_centre
    signature_centre: float
    seal_centre: tuple[float, float]
    annotation: list[tuple[str, float, float]]  # line, x, baseline
    lowest: float  # lowest point drawn, in PDF points from the bottom


def _plan(texts: _Texts, tpl: Template, font: str, size: float) -> _Plan:
    lay = tpl.layout
    page_w, page_h = A4
    left = lay.margin_left * mm
    right = page_w - lay.margin_right * mm
    width = right - left
    leading = lay.body_leading * size / lay.body_size

    body: list[tuple[_Line, float]] = []
    y = page_h - lay.body_top * mm
    for style, block in texts.body:
        for line in _wrap_block(style, block, font, size, width, lay.paragraph_indent, texts.keep):
            if body:
                y -= leading
            body.append((line, y))

    # Signature block: the date sits four characters in from the right margin, the agency name is
    # centred on it (GB/T 9704); a long name is pushed left, and wrapped past 60 % of the width.
    sig_size = lay.signature_size
    sig_lead = lay.signature_leading
    lines = [line for s in texts.signature for line in wrap_balanced(s, font, sig_size, width * 0.6)]
    widths = [text_width(s, font, sig_size) for s in lines]
    centre = right - lay.signature_right_indent * sig_size - widths[-1] / 2
    centre = min(centre, right - max(widths) / 2)
    # GB/T 9704: the signature and the date sit in the lower middle of the seal, whose top is less
    # than a line under the body; the date's baseline a little under the seal's centre keeps the
    # seal's own caption clear of the date. signature_gap is then the least room above the signature.
    radius = tpl.seal.diameter * mm / 2
    below_centre = sig_size * 0.75
    if lay.seal_gap >= 0:
        date_y = min(
            y - lay.seal_gap * mm - radius - below_centre,
            y - lay.signature_gap * mm - (len(lines) - 1) * sig_lead,
        )
        y = date_y + (len(lines) - 1) * sig_lead
    else:  # first-generation templates: signature_gap is from the body to the agency name
        y -= lay.signature_gap * mm
    signature = [(s, y - i * sig_lead) for i, s in enumerate(lines)]
    last_baseline = signature[-1][1]
    seal_cy = last_baseline + below_centre
    seal_bottom = seal_cy - radius
    lowest = min(seal_bottom, last_baseline - sig_size * 0.3)

    # 附注 (GB/T 9704): in parentheses, two characters in, on the line after the date; kept left
    # of the seal so that the seal covers none of it, or under the seal if there is no room there.
    annotation: list[tuple[str, float, float]] = []
    if texts.annotation:
        a_size = lay.annotation_size
        a_lead = a_size * 1.6
        ax = left + 2 * a_size
        beside = centre - tpl.seal.diameter * mm / 2 - 3 * mm - ax
        if beside >= 8 * a_size:
            ay, a_lines = (
                last_baseline - lay.signature_leading,
                wrap_cjk(texts.annotation, font, a_size, beside, keep=texts.keep),
            )
        else:
            ay, a_lines = (
                seal_bottom - a_size * 1.2,
                wrap_cjk(texts.annotation, font, a_size, right - ax, keep=texts.keep),
            )
        annotation = [(line, ax, ay - i * a_lead) for i, line in enumerate(a_lines)]
        lowest = min(lowest, annotation[-1][2] - a_size * 0.3)
    return _Plan(size, body, signature, centre, (centre, seal_cy), annotation, lowest)


def _fit(texts: _Texts, tpl: Template, font: str) -> _Plan:
    """The largest body size, from the template's down to its minimum by half points, that fits."""
    lay = tpl.layout
    floor_y = A4[1] - (lay.body_bottom or lay.footer_rule_top - 4) * mm
    smallest = lay.body_min_size or lay.body_size
    size = lay.body_size
    while True:
        plan = _plan(texts, tpl, font, size)
        if plan.lowest >= floor_y:
            return plan
        if size - 0.5 < smallest - 1e-6:
            raise RenderError(f"the text of this {tpl.kind} does not fit on one page")
        size -= 0.5


def render_certificate(content: CertificateContent, version: str | None = None) -> bytes:
    """Return the unsigned one-page A4 PDF of ``content``, without the QR code (see :func:`add_qr`).

    The template is ``pdf_templates/<content.kind>/<version>``, by default the newest version.
    """
    tpl = load_template(content.kind, version or current_version(content.kind))
    _check_content(content, tpl)
    font = get_font(tpl)
    texts = _texts(content, tpl)
    missing = font.missing(texts.everything(tpl, content.agency_name.strip()))
    if missing:
        raise MissingGlyphError(missing)

    with _RENDER_LOCK:
        plan = _fit(texts, tpl, font.name)
        use_a85 = rl_config.useA85
        rl_config.useA85 = 0  # binary (Flate only) streams: smaller, and no slow ASCII85 pass
        try:
            return _draw(content, tpl, font.name, texts, plan)
        finally:
            rl_config.useA85 = use_a85


def _draw(content: CertificateContent, tpl: Template, font: str, texts: _Texts, plan: _Plan) -> bytes:
    lay = tpl.layout
    page_w, page_h = A4
    left = lay.margin_left * mm
    right = page_w - lay.margin_right * mm

    def top(y_mm: float) -> float:
        return float(page_h - y_mm * mm)

    buf = io.BytesIO()
    # initialFontName: otherwise reportlab references a non-embedded Helvetica in every page.
    canvas = Canvas(buf, pagesize=A4, pageCompression=1, lang="zh-CN", initialFontName=font)
    canvas.setTitle(f"{texts.title} {content.certificate_no}")
    canvas.setAuthor(content.agency_name)
    canvas.setSubject(texts.title)
    canvas.setCreator(f"pdf_templates/{tpl.kind}/{tpl.version}")  # add_qr finds the template by it
    canvas.setFillColorRGB(0, 0, 0)

    # Title: letter-spaced, faux bold (fill + thin stroke) since the font has one weight.
    title = texts.title
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
    canvas.drawRightString(right, top(lay.number_top), texts.number)

    for line, y in plan.body:
        if line.label:
            canvas.setFont(font, plan.body_size)
            canvas.drawString(left + line.label_dx, y, line.label)
        _draw_justified(canvas, left + line.dx, y, line.text, font, plan.body_size, line.width, line.justify)

    canvas.setFont(font, lay.signature_size)
    for s, y in plan.signature:
        canvas.drawCentredString(plan.signature_centre, y, s)
    if plan.annotation:
        canvas.setFont(font, lay.annotation_size)
        for s, x, y in plan.annotation:
            canvas.drawString(x, y, s)
    draw_seal(canvas, *plan.seal_centre, content.agency_name, tpl.seal, font)

    # Footer: rule; the QR code's place (left blank: add_qr draws it) with its caption; the notes,
    # the verification address and the 核验码 on the right.
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.setLineWidth(0.5)
    canvas.line(left, top(lay.footer_rule_top), right, top(lay.footer_rule_top))

    qr_x0, qr_y0, qr_x1, _ = tpl.qr_rect
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(font, lay.qr_caption_size)
    canvas.drawCentredString((qr_x0 + qr_x1) / 2, qr_y0 - lay.qr_caption_size * 1.6, tpl.wording.qr_caption)

    nx = qr_x1 + lay.notes_left_gap * mm
    nw = right - nx
    ny = top(lay.qr_top) - lay.notes_title_size
    canvas.setFont(font, lay.notes_title_size)
    canvas.drawString(nx, ny, tpl.wording.notes_title)
    ny -= lay.notes_leading * 1.25
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    for k, note in enumerate(texts.notes, start=1):
        label = f"{k}. "
        lw = text_width(label, font, lay.notes_size)
        canvas.setFont(font, lay.notes_size)
        canvas.drawString(nx, ny, label)
        lines = wrap_cjk(note, font, lay.notes_size, nw - lw)
        for j, note_line in enumerate(lines):
            _draw_justified(canvas, nx + lw, ny, note_line, font, lay.notes_size, nw - lw, j < len(lines) - 1)
            ny -= lay.notes_leading
    canvas.setFillColorRGB(0.05, 0.25, 0.55)
    canvas.setFont(font, lay.address_size)
    ny -= lay.address_leading * 0.2
    for address_line in texts.address_lines:
        for chunk in wrap_chars(address_line, font, lay.address_size, nw):
            canvas.drawString(nx, ny, chunk)
            ny -= lay.address_leading
    if ny + lay.address_leading < top(lay.footer_bottom) - 0.01:
        raise RenderError(f"the footer of this {tpl.kind} runs past the bottom margin")

    canvas.showPage()
    canvas.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- QR code and digest


def _first_page(reader: PdfFileReader) -> tuple[generic.IndirectObject, generic.DictionaryObject]:
    handler: Any = reader
    page_ref, _resources = handler.find_page_for_modification(0)
    page = page_ref.get_object()
    if not isinstance(page, generic.DictionaryObject):
        raise ValueError("page 1 is not a dictionary")
    return page_ref, page


def _template_of(reader: PdfFileReader) -> Template:
    """The template a PDF was rendered with, from the /Creator that render_certificate writes."""
    try:
        info = reader.trailer_view["/Info"]
        creator = str(info["/Creator"])
    except (KeyError, TypeError) as exc:
        raise ValueError("not a certificate rendered by this module (no /Creator)") from exc
    match = _CREATOR.match(creator)
    if match is None:
        raise ValueError(f"not a certificate rendered by this module (/Creator {creator[:80]!r})")
    try:
        return load_template(match.group(1), match.group(2))
    except RenderError as exc:
        raise ValueError(str(exc)) from exc


def content_digest(pdf: bytes) -> bytes:
    """16 bytes: SHA-256, truncated, of the decoded first content stream of page 1.

    That stream holds everything the certificate says; the QR code, added later in a second stream,
    is outside it. Raises ``ValueError`` if ``pdf`` cannot be read.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        _, page = _first_page(reader)
        contents = page["/Contents"]
        first = contents[0].get_object() if isinstance(contents, generic.ArrayObject) else contents
        if not isinstance(first, generic.StreamObject):
            raise ValueError("page 1 has no content stream")
        data = first.data
    except ValueError:
        raise
    except Exception as exc:  # malformed input: pyHanko raises many types
        raise ValueError(f"cannot read the PDF: {exc}") from exc
    return hashlib.sha256(data).digest()[:16]


def add_qr(pdf: bytes, url: str) -> bytes:
    """Append one incremental update to a rendered certificate: the QR code of ``url`` and a link.

    Page 1's ``/Contents`` becomes ``[original, qr]``; the QR stream draws vector rectangles at the
    template's QR position (no resources needed), and a /Link annotation with a /URI action to
    ``url`` covers the symbol. Raises ``ValueError`` if ``url`` is not an http(s) URL, if the QR code
    would be larger than version 10 at level M or print under 25 mm, or if ``pdf`` is not an
    unsigned certificate from :func:`render_certificate` without a QR code yet.
    """
    if not _HTTP_URL.match(url):
        raise ValueError("url must be an http(s) URL in printable ASCII")
    try:
        writer: Any = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as exc:  # pyHanko raises its own error types for malformed files
        raise ValueError(f"cannot read the PDF: {exc}") from exc
    tpl = _template_of(writer.prev)
    x0, y0, x1, y1 = tpl.qr_rect
    matrix = qr_matrix(url, ERROR_CORRECTION)
    check_printable(matrix, x1 - x0)
    page_ref, page = _first_page(writer.prev)
    if "/Perms" in writer.root or writer.prev.embedded_signatures:
        raise ValueError("the PDF is already signed: add the QR code before signing")
    contents: Any = page.raw_get("/Contents")
    is_reference = isinstance(contents, generic.IndirectObject)
    target: Any = contents.get_object() if is_reference else None
    if not isinstance(target, generic.StreamObject):
        raise ValueError("page 1 already has more than one content stream (a QR code?)")

    stream = _pdf.StreamObject(stream_data=qr_content_stream(matrix, x0, y0, x1 - x0))
    stream.compress()
    writer.add_stream_to_page(0, writer.add_object(stream))
    link = _pdf.DictionaryObject(
        {
            _pdf.NameObject("/Type"): _pdf.NameObject("/Annot"),
            _pdf.NameObject("/Subtype"): _pdf.NameObject("/Link"),
            _pdf.NameObject("/Rect"): _pdf.ArrayObject(_pdf.FloatObject(round(v, 3)) for v in (x0, y0, x1, y1)),
            _pdf.NameObject("/Border"): _pdf.ArrayObject([_pdf.NumberObject(0)] * 3),
            _pdf.NameObject("/P"): page_ref,
            _pdf.NameObject("/A"): _pdf.DictionaryObject(
                {
                    _pdf.NameObject("/Type"): _pdf.NameObject("/Action"),
                    _pdf.NameObject("/S"): _pdf.NameObject("/URI"),
                    _pdf.NameObject("/URI"): _pdf.TextStringObject(url),
                }
            ),
        }
    )
    writer.register_annotation(page_ref, writer.add_object(link))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_qr_url(pdf: bytes) -> str | None:
    """The URI of the link annotation over the QR code of a certificate PDF (signed or not).

    For checking uploaded PDFs: ``None`` if the file is unreadable, not one of our certificates, or
    has no such link. The caller still has to verify what the URL says.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        tpl = _template_of(reader)
        _, page = _first_page(reader)
        annots = page.get("/Annots")
        if not isinstance(annots, generic.ArrayObject):
            return None
        want = tpl.qr_rect
        for ref in annots:
            annot = ref.get_object()
            if not isinstance(annot, generic.DictionaryObject) or annot.get("/Subtype") != "/Link":
                continue
            x_a, y_a, x_b, y_b = (float(v) for v in annot["/Rect"])
            rect = (min(x_a, x_b), min(y_a, y_b), max(x_a, x_b), max(y_a, y_b))
            if any(abs(a - b) > 1.0 for a, b in zip(rect, want, strict=True)):
                continue
            action = annot.get("/A")
            if not isinstance(action, generic.DictionaryObject) or action.get("/S") != "/URI":
                continue
            uri = action.get("/URI")
            text = uri.decode("ascii") if isinstance(uri, bytes) else str(uri)
            return text if _HTTP_URL.match(text) else None
    except Exception:  # malformed or hostile input: "no readable QR link"
        return None
    return None
