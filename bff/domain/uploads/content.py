"""Decide by content what an uploaded file is, refuse what we cannot show safely, and make safe copies.

Pure and synchronous (CPU-bound): callers run these functions in a worker thread. Every refusal is a
``ContentRefused`` with a Chinese sentence for the person; no input, however broken, raises anything else.

A PDF's ``original`` is kept byte for byte, because an employer's electronic seal is a signature over
those bytes; only the portal's ``display`` copy is rebuilt, page by page, without scripts, actions,
forms or attachments. Photos are decoded and re-encoded: that drops EXIF (GPS!) and any trailing payload.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import img2pdf
import pillow_heif
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    PdfObject,
    StreamObject,
)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8000x5000; decoded RGB that is ~120 MB, our worst case per upload
MAX_PDF_PAGES = 50
MAX_IMAGE_SIDE = 4000  # phones already shrink; a backstop so stored copies stay a few MB

pillow_heif.register_heif_opener()
# Pillow then refuses bigger images at open time (DecompressionBombError from 2x this), before any decoding.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

Sniffed = Literal["pdf", "jpeg", "png", "heic"]
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"})
_PIL_FORMATS = {"jpeg": ["JPEG", "MPO"], "png": ["PNG"], "heic": ["HEIF"]}  # iPhone JPEGs open as MPO

# Page and annotation entries copied into the display copy; everything else (/AA, /Annots' actions,
# /Metadata, /PieceInfo, /B, ...) stays behind. Annotations are kept only as pictures (their /AP).
_PAGE_KEYS = frozenset({"/Type", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Rotate",
                        "/Resources", "/Contents", "/UserUnit", "/Group"})
_SHOWN_ANNOTS = frozenset({"/Widget", "/Stamp", "/FreeText", "/Square", "/Circle", "/Line", "/Polygon",
                           "/PolyLine", "/Ink", "/Highlight", "/Underline", "/StrikeOut", "/Squiggly"})
_ANNOT_KEYS = frozenset({"/Type", "/Subtype", "/Rect", "/AP", "/AS", "/F"})
# Keys removed wherever they appear (few and specific: /A or /FS could be a Type3 glyph name in /CharProcs),
# every action dictionary (by its /S), and names whose presence anywhere makes us refuse the copy.
_DROP_KEYS = frozenset({"/AA", "/OpenAction", "/JS", "/Names", "/EmbeddedFiles", "/EF", "/AcroForm", "/XFA"})
_ACTION_TYPES = frozenset({"/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound", "/Movie",
                           "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/JavaScript", "/SetOCGState",
                           "/Rendition", "/Trans", "/GoTo3DView", "/RichMediaExecute"})
_FORBIDDEN = _DROP_KEYS | {"/JavaScript", "/Launch", "/EmbeddedFile", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE",
                           "/RichMediaExecute"}


class ContentRefused(Exception):
    """The file is refused; ``message`` is a clear Chinese sentence shown to the person, ``code`` a machine code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _empty() -> ContentRefused:
    return ContentRefused("empty", "文件是空的，请重新选择")


def _corrupt() -> ContentRefused:
    return ContentRefused("corrupt", "文件已损坏或不完整，请重新拍摄或选择")


def _image_too_large() -> ContentRefused:
    return ContentRefused("image_too_large", "图片尺寸过大，请拍摄或选择较小的图片")


@dataclass(frozen=True)
class Checked:
    """An accepted upload: what goes to the provincial system (``original``) and what the portal shows."""

    kind: Literal["pdf", "image"]
    content_type: str  # of the display copy: "application/pdf", "image/jpeg" or "image/png"
    original: bytes  # PDF: exactly as uploaded (seal signatures intact); image: the re-encoded image
    display: bytes  # sanitised PDF copy, or the re-encoded image
    pages: int
    width: int | None
    height: int | None
    extension: str  # "pdf", "jpg" or "png"


def sniff(data: bytes) -> Sniffed | None:
    """The type by magic bytes only: names and Content-Type headers are the client's word, not evidence."""
    if data.startswith(b"%PDF-"):  # readers accept it anywhere in the first 1 KiB; we do not (polyglots)
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    return None


def check(data: bytes) -> Checked:
    """Accept a PDF or a photo with safe copies, or raise ContentRefused; never any other exception."""
    try:
        if not data:
            raise _empty()
        if len(data) > MAX_FILE_BYTES:
            raise ContentRefused("too_large", "单个文件不能超过10MB")
        kind = sniff(bytes(data[:16]))
        if kind is None:
            raise ContentRefused("unsupported_type", "只能上传PDF、JPG、PNG或手机照片（HEIC）格式的文件")
        if kind == "pdf":
            return _check_pdf(bytes(data))
        return _check_image(bytes(data), kind)
    except ContentRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise _image_too_large() from exc
    except Exception as exc:  # a fuzzed file can make any parser raise anything (also MemoryError, RecursionError)
        raise _corrupt() from exc


def _check_image(data: bytes, kind: Sniffed) -> Checked:
    """Decode (after a cheap size check), turn upright, flatten, shrink, re-encode without metadata.

    The decoded picture is the bulk of an upload's memory (an A4 scan at 300 dpi is 26 MB as RGB), so it is
    turned upright in place rather than copied."""
    with Image.open(io.BytesIO(data), formats=_PIL_FORMATS[kind]) as im:
        width, height = im.size  # from the header only: nothing is decoded yet
        if width < 1 or height < 1:
            raise _corrupt()
        if width * height > MAX_IMAGE_PIXELS:
            raise _image_too_large()
        if im.format in ("JPEG", "MPO") and max(width, height) > MAX_IMAGE_SIDE:
            scale = MAX_IMAGE_SIDE / max(width, height)  # let libjpeg decode at 1/2, 1/4... directly
            im.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        im.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES stays off)
        # broken EXIF on intact pixels: keep the photo as stored rather than refuse it
        with contextlib.suppress(Exception):
            ImageOps.exif_transpose(im, in_place=True)
        return _reencode(im, kind)


def _reencode(upright: Image.Image, kind: Sniffed) -> Checked:
    if upright.has_transparency_data:
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, (255, 255, 255))
        upright.paste(rgba, mask=rgba.getchannel("A"))
    as_png = kind == "png"
    if upright.mode != "RGB" and not (as_png and upright.mode == "L"):
        upright = upright.convert("RGB")
    if max(upright.size) > MAX_IMAGE_SIDE:
        upright.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    upright.info = {}  # PNG would otherwise copy the ICC profile and JPEG the comment from here
    out = io.BytesIO()
    if as_png:
        upright.save(out, "PNG")
    else:
        upright.save(out, "JPEG", quality=85, optimize=True)
    encoded = out.getvalue()
    return Checked(kind="image", content_type="image/png" if as_png else "image/jpeg", original=encoded,
                   display=encoded, pages=1, width=upright.width, height=upright.height,
                   extension="png" if as_png else "jpg")


def _check_pdf(data: bytes) -> Checked:
    """Parse tolerantly as readers do, enforce limits, and build a display copy from the pages alone.

    ``strict=False``: real employers' PDFs often have small xref defects that every reader repairs, and
    refusing those would leave the person no way forward. A file cut short still fails (no %%EOF,
    missing objects, undecodable content), and ``original`` is never repaired, only forwarded.
    """
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise ContentRefused("encrypted", "请上传未加密的PDF文件")
    pages = len(reader.pages)
    if pages == 0:
        raise _corrupt()
    if pages > MAX_PDF_PAGES:
        raise ContentRefused("too_many_pages", f"PDF文件不能超过{MAX_PDF_PAGES}页")
    first = PdfWriter()
    for page in reader.pages:
        copy = first.add_page(page, excluded_keys=[k for k in page if k not in _PAGE_KEYS])
        listed = page.get("/Annots")
        annots = [_shown_annotation(a.get_object(), first) for a in listed] if isinstance(listed, ArrayObject) else []
        if kept := [a for a in annots if a is not None]:
            copy[NameObject("/Annots")] = ArrayObject(kept)
        copy.compress_content_streams()  # re-encodes markup hidden in plain content streams (polyglots)
    for page in first.pages:
        _scrub(page)
    # Second pass: cloning the clean pages again leaves behind the objects the scrub cut off.
    buf = io.BytesIO()
    first.write(buf)
    final = PdfWriter()
    for page in PdfReader(io.BytesIO(buf.getvalue())).pages:
        final.add_page(page)
    if any(_forbidden_names(final.root_object)):
        raise ContentRefused("unsafe_pdf", "这个PDF文件含有无法安全显示的内容，请打印后拍照上传")
    out = io.BytesIO()
    final.write(out)
    return Checked(kind="pdf", content_type="application/pdf", original=data, display=out.getvalue(),
                   pages=pages, width=None, height=None, extension="pdf")


def _shown_annotation(annot: PdfObject, writer: PdfWriter) -> IndirectObject | None:
    """A picture-only copy of an annotation that has an appearance; None for everything else.

    A seal's signature widget becomes a /Stamp showing the same appearance: without the form (we drop
    /AcroForm) some viewers hide widgets, and the seal picture is what the person needs to see.
    """
    if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") not in _SHOWN_ANNOTS or "/AP" not in annot:
        return None
    kept = DictionaryObject({NameObject(k): v for k, v in annot.items() if k in _ANNOT_KEYS})
    if kept.get("/Subtype") == "/Widget":
        kept[NameObject("/Subtype")] = NameObject("/Stamp")
    clone = kept.clone(writer)
    return writer._add_object(clone)


def _resolve(obj: PdfObject | None) -> PdfObject:
    resolved = None if obj is None else obj.get_object()
    return NullObject() if resolved is None else resolved


def _dangerous(value: PdfObject) -> bool:
    """An action, a file specification or an embedded file, or a forbidden bare name."""
    if isinstance(value, NameObject):
        return value in _FORBIDDEN
    if isinstance(value, StreamObject):  # an action is never a stream; a glyph or a form XObject is
        return value.get("/Type") == "/EmbeddedFile"
    if isinstance(value, DictionaryObject):
        return (value.get("/Type") in ("/Action", "/Filespec", "/EmbeddedFile")
                or value.get("/S") in _ACTION_TYPES or "/JS" in value)
    return False


def _walk(root: PdfObject) -> Iterator[DictionaryObject | ArrayObject]:
    """Each dictionary (streams included) and array under ``root`` once; iterative, as hostile trees are deep."""
    stack, seen = [_resolve(root)], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen or not isinstance(obj, DictionaryObject | ArrayObject):
            continue
        seen.add(id(obj))
        yield obj  # the caller may edit it before its children are visited
        values = obj.values() if isinstance(obj, DictionaryObject) else obj
        stack.extend(_resolve(v) for v in values)


def _scrub(root: PdfObject) -> None:
    """Remove dangerous entries anywhere under ``root``: dropped keys, actions, file specs, forbidden names."""
    for obj in _walk(root):
        if isinstance(obj, DictionaryObject):
            for key in [k for k, v in obj.items() if k in _DROP_KEYS or _dangerous(_resolve(v))]:
                del obj[key]
        else:
            for index, value in enumerate(obj):
                if _dangerous(_resolve(value)):
                    obj[index] = NullObject()


def _forbidden_names(root: PdfObject) -> Iterator[str]:
    """Every forbidden key or name still reachable from ``root``: the check that the scrub worked."""
    for obj in _walk(root):
        keys = list(obj.keys()) if isinstance(obj, DictionaryObject) else []
        values = list(obj.values()) if isinstance(obj, DictionaryObject) else list(obj)
        yield from (str(k) for k in keys if k in _FORBIDDEN)
        yield from (str(v) for v in map(_resolve, values) if isinstance(v, NameObject) and v in _FORBIDDEN)


def images_to_pdf(images: list[bytes]) -> bytes:
    """Several photos of one letter as one PDF, one A4 page each, in order; JPEG/PNG embedded losslessly."""
    if not images:
        raise _empty()
    if len(images) > MAX_PDF_PAGES:
        raise ContentRefused("too_many_pages", f"一次最多合并{MAX_PDF_PAGES}张照片")
    if any(sniff(image) not in ("jpeg", "png") for image in images):
        raise ContentRefused("unsupported_type", "只能合并JPG或PNG格式的照片")
    a4 = (img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297))
    layout = img2pdf.get_layout_fun(a4, fit=img2pdf.FitMode.into, auto_orient=True)
    try:
        for image in images:  # img2pdf only reads headers: make sure each one decodes within our limits
            with Image.open(io.BytesIO(image), formats=["JPEG", "PNG"]) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise _image_too_large()
                im.load()
        result = img2pdf.convert(*images, layout_fun=layout)
    except ContentRefused:
        raise
    except Exception as exc:
        raise ContentRefused("merge_failed", "照片合并失败，请重新选择照片") from exc
    if not isinstance(result, bytes):
        raise ContentRefused("merge_failed", "照片合并失败，请重新选择照片")
    return result


_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')


def safe_filename(name: str, extension: str) -> str:
    """A display name from what the client sent: no path, no control or bidi characters, our extension."""
    name = unicodedata.normalize("NFC", name)
    # Categories C*: controls (\x00, \r, \n), format characters (bidi overrides, zero-width), surrogates, unassigned.
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in "\u2028\u2029")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    while ".." in name:
        name = name.replace("..", ".")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _UNSAFE_CHARS.sub("_", stem).strip(" .\t")
    suffix = "." + extension.lstrip(".")
    stem = stem[: 80 - len(suffix)].rstrip(" .")
    return (stem or "材料") + suffix
