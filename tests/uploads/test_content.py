"""The upload content checks against a corpus of hostile and good files (tests/uploads/corpus.py)."""

from __future__ import annotations

import io
import random
import resource
import time
from collections.abc import Callable, Iterator

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from bff.domain.uploads.content import (
    MAX_FILE_BYTES,
    Checked,
    ContentRefused,
    check,
    images_to_pdf,
    safe_filename,
    sniff,
)
from tests.uploads import corpus

DANGEROUS_NAMES = {"/JavaScript", "/JS", "/Launch", "/OpenAction", "/EmbeddedFile", "/EmbeddedFiles", "/AA",
                   "/AcroForm", "/XFA", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Names", "/URI"}


def refused(data: bytes) -> ContentRefused:
    with pytest.raises(ContentRefused) as info:
        check(data)
    refusal = info.value
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refusal.message), f"not a Chinese message: {refusal.message!r}"
    return refusal


def pdf_names(data: bytes) -> set[str]:
    """Every key and name value in every object of the file, reachable or not (streams' dictionaries too)."""
    reader = PdfReader(io.BytesIO(data))
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[object] = [reader.trailer]
    stack += [reader.get_object(n) for n in range(1, int(reader.trailer["/Size"]))]
    while stack:
        obj = stack.pop()
        obj = obj.get_object() if hasattr(obj, "get_object") else obj
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, DictionaryObject):
            found.update(str(k) for k in obj)
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject):
            found.add(str(obj))
    return found


def annotations(data: bytes) -> Iterator[DictionaryObject]:
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page.get("/Annots", []):
            yield ref.get_object()


# ---------------------------------------------------------------- sniffing and refusals


@pytest.mark.parametrize(("make", "expected"), [
    (corpus.plain_pdf, "pdf"),
    (corpus.jpeg, "jpeg"),
    (corpus.png_with_alpha, "png"),
    (corpus.exe_renamed_pdf, None),
    (corpus.html_page, None),
    (corpus.svg_with_script, None),
    (corpus.zip_archive, None),
    (corpus.gif_image, None),
])
def test_sniff_by_content(make: Callable[[], bytes], expected: str | None) -> None:
    assert sniff(make()) == expected


def test_sniff_heic_brands_and_pdf_offset() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "heic"
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00") == "heic"
    assert sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00") is None  # an MP4 video
    assert sniff(b"\n%PDF-1.7\n") is None  # readers accept it, we require offset 0
    assert sniff(b"") is None


@pytest.mark.parametrize("make", [corpus.exe_renamed_pdf, corpus.html_page, corpus.svg_with_script,
                                  corpus.zip_archive, corpus.gif_image])
def test_disguised_and_unsupported_files_are_refused(make: Callable[[], bytes]) -> None:
    refusal = refused(make())
    assert refusal.code == "unsupported_type"
    assert "PDF" in refusal.message and "HEIC" in refusal.message


def test_empty_and_oversized_files_are_refused() -> None:
    assert refused(b"").code == "empty"
    assert refused(b"").message == "文件是空的，请重新选择"
    big = corpus.oversized_file()
    assert len(big) == MAX_FILE_BYTES + 1
    assert refused(big).code == "too_large"
    assert refused(big).message == "单个文件不能超过10MB"


@pytest.mark.parametrize("data", [b"%PDF-", b"%PDF-1.7\n%%EOF", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n",
                                  b"\x00\x00\x00\x18ftypheic" + b"\x00" * 20])
def test_bare_headers_are_corrupt(data: bytes) -> None:
    assert refused(data).code == "corrupt"


# ---------------------------------------------------------------- PDFs


def test_plain_pdf_is_accepted() -> None:
    data = corpus.plain_pdf(2)
    result = check(data)
    assert (result.kind, result.content_type, result.extension, result.pages) == ("pdf", "application/pdf", "pdf", 2)
    assert result.width is None and result.height is None
    assert result.original == data
    assert len(PdfReader(io.BytesIO(result.display)).pages) == 2
    assert "Letter of employment - page 2" in PdfReader(io.BytesIO(result.display)).pages[1].extract_text()


def test_pdf_actions_attachments_and_forms_are_stripped_from_display_copy() -> None:
    data = corpus.pdf_with_actions()
    assert {"/JavaScript", "/Launch", "/OpenAction", "/EmbeddedFile"} <= pdf_names(data)  # the corpus is hostile
    result = check(data)
    assert result.original == data  # forwarded untouched
    assert not pdf_names(result.display) & DANGEROUS_NAMES
    for needle in (b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/EmbeddedFile", b"payload", b"cmd.exe"):
        assert needle not in result.display
    shown = list(annotations(result.display))
    assert [a["/Subtype"] for a in shown] == ["/Stamp"]  # the widget's picture stays, link and attachment go
    assert set(shown[0]) <= {"/Type", "/Subtype", "/Rect", "/AP", "/AS", "/F"}


def test_signed_pdf_original_is_byte_identical_and_seal_stays_visible() -> None:
    data = corpus.signed_looking_pdf()
    result = check(data)
    assert result.original is data or result.original == data
    assert result.display != data
    (seal,) = annotations(result.display)
    assert seal["/Subtype"] == "/Stamp" and "/AP" in seal
    assert "/Sig" not in pdf_names(result.display) and "/ByteRange" not in pdf_names(result.display)


def test_inherited_resources_and_type3_glyphs_survive() -> None:
    data = corpus.pdf_inherited_type3()
    result = check(data)
    page = PdfReader(io.BytesIO(result.display)).pages[0]
    assert [float(v) for v in page.mediabox] == [0, 0, pytest.approx(595.2756), pytest.approx(841.8898)]
    fonts = page["/Resources"]["/Font"]
    assert "/F1" in fonts and set(fonts["/T3"]["/CharProcs"]) == {"/A", "/S"}
    assert "Letter of employment" in page.extract_text()


@pytest.mark.parametrize("make", [corpus.pdf_html_polyglot, corpus.pdf_html_in_content])
def test_pdf_html_polyglots_are_neutralised(make: Callable[[], bytes]) -> None:
    data = make()
    assert b"<script" in data
    result = check(data)
    assert result.kind == "pdf" and result.original == data
    assert b"<script" not in result.display and b"<html" not in result.display
    assert result.display.startswith(b"%PDF-")


def test_truncated_pdf_is_corrupt() -> None:
    refusal = refused(corpus.truncated_pdf())
    assert refusal.code == "corrupt"
    assert refusal.message == "文件已损坏或不完整，请重新拍摄或选择"


def test_truncated_pdf_with_fake_end_is_corrupt() -> None:
    assert refused(corpus.truncated_pdf() + b"\nstartxref\n9\n%%EOF\n").code == "corrupt"


def test_encrypted_pdf_is_refused() -> None:
    refusal = refused(corpus.encrypted_pdf())
    assert (refusal.code, refusal.message) == ("encrypted", "请上传未加密的PDF文件")


def test_pdf_page_limit() -> None:
    assert check(corpus.plain_pdf(50)).pages == 50
    assert refused(corpus.too_many_pages_pdf(51)).code == "too_many_pages"


# ---------------------------------------------------------------- images


def test_png_bomb_is_refused_without_decoding() -> None:
    data = corpus.png_bomb()
    assert len(data) < 200
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    refusal = refused(data)
    assert time.perf_counter() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50 * 1024  # KiB: nothing decoded
    assert (refusal.code, refusal.message) == ("image_too_large", "图片尺寸过大，请拍摄或选择较小的图片")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns between 1x and 2x its limit
def test_image_just_over_pixel_limit_is_refused_by_header() -> None:
    # 42 Mpx: under Pillow's own hard limit (2x), so it is our check that refuses it.
    assert refused(corpus.png_bomb(7000, 6000)).code == "image_too_large"


def test_gps_photo_loses_all_metadata_and_is_turned_upright() -> None:
    data = corpus.jpeg_with_gps(200, 100)
    assert b"Exif" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    result = check(data)
    assert (result.kind, result.content_type, result.extension) == ("image", "image/jpeg", "jpg")
    assert result.original == result.display
    assert b"Exif" not in result.display and b"GPS" not in result.display and b"iPhone" not in result.display
    with Image.open(io.BytesIO(result.display)) as im:
        assert not im.getexif()
        assert im.size == (100, 200) == (result.width, result.height)
        # Orientation 6 = turn 90° clockwise: the dark band stored on the left is now at the top.
        top, bottom = im.convert("L").getpixel((50, 10)), im.convert("L").getpixel((50, 190))
    assert isinstance(top, int) and isinstance(bottom, int)
    assert top < 60 < 200 < bottom


def test_photo_extras_and_trailing_payload_are_dropped() -> None:
    result = check(corpus.photo_with_extras())
    assert b"PK\x03\x04" not in result.display and b"secret note" not in result.display
    assert b"xmpmeta" not in result.display
    with Image.open(io.BytesIO(result.display)) as im:
        assert "icc_profile" not in im.info and "comment" not in im.info and "xmp" not in im.info


def test_png_metadata_is_dropped_and_grey_png_stays_grey() -> None:
    result = check(corpus.png_with_metadata())
    assert result.content_type == "image/png" and result.extension == "png"
    for chunk in (b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in result.display
    with Image.open(io.BytesIO(result.display)) as im:
        assert im.mode == "L" and not im.getexif()


def test_png_alpha_is_flattened_onto_white() -> None:
    result = check(corpus.png_with_alpha(64, 48))
    assert result.content_type == "image/png" and (result.width, result.height) == (64, 48)
    with Image.open(io.BytesIO(result.display)) as im:
        assert im.mode == "RGB"
        assert im.getpixel((5, 5)) == (255, 255, 255)
        assert im.getpixel((60, 5)) == (0, 0, 255)


def test_plain_jpeg_is_reencoded() -> None:
    result = check(corpus.jpeg(320, 240))
    assert (result.width, result.height, result.pages) == (320, 240, 1)
    assert result.display.startswith(b"\xff\xd8\xff")


def test_big_photo_is_shrunk_to_4000() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (6000, 3000), (90, 90, 90)).save(buf, "JPEG", quality=50)
    result = check(buf.getvalue())
    assert (result.width, result.height) == (4000, 2000)


def test_heic_photo_becomes_jpeg() -> None:
    try:
        data = corpus.heic(120, 80)
    except Exception as exc:  # e.g. a pillow-heif wheel built without an HEVC encoder
        pytest.skip(f"pillow-heif cannot encode HEIC on this machine: {exc}")
    assert sniff(data) == "heic"
    result = check(data)
    assert (result.content_type, result.extension, result.width, result.height) == ("image/jpeg", "jpg", 120, 80)
    with Image.open(io.BytesIO(result.display)) as im:
        assert im.format == "JPEG"


def test_truncated_jpeg_is_corrupt() -> None:
    assert refused(corpus.truncated_jpeg()).code == "corrupt"


# ---------------------------------------------------------------- images_to_pdf and names


def test_three_photos_become_a_three_page_pdf() -> None:
    photos = [check(corpus.jpeg(300, 400)).display, check(corpus.png_with_alpha()).display,
              check(corpus.jpeg_with_gps()).display]
    pdf = images_to_pdf(photos)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3
    # One A4 sheet per photo, turned to suit it: portrait photo, landscape PNG, portrait (rotated) GPS photo.
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages]
    assert sizes == [(595, 842), (842, 595), (595, 842)]
    assert check(pdf).pages == 3


def test_images_to_pdf_refusals() -> None:
    with pytest.raises(ContentRefused):
        images_to_pdf([])
    with pytest.raises(ContentRefused):
        images_to_pdf([corpus.html_page()])
    with pytest.raises(ContentRefused):
        images_to_pdf([corpus.truncated_jpeg()])


@pytest.mark.parametrize(("name", "extension", "expected"), [
    ("单位证明信.HEIC", "jpg", "单位证明信.jpg"),
    ("..\\..\\windows\\系统 文件.exe", "pdf", "系统 文件.pdf"),
    ("", "pdf", "材料.pdf"),
    ("../..", "png", "材料.png"),
    (".pdf", "pdf", "材料.pdf"),
    ("scan", "pdf", "scan.pdf"),
    ("a<b>:c?.pdf", "pdf", "a_b__c_.pdf"),
])
def test_safe_filename(name: str, extension: str, expected: str) -> None:
    assert safe_filename(name, extension) == expected


def test_safe_filename_strips_paths_and_controls() -> None:
    name = safe_filename("../../etc/\x00pa\nss\u202ewd.png", "jpg")
    assert name == "passwd.jpg"
    long = safe_filename("证" * 200 + ".pdf", "pdf")
    assert len(long) == 80 and long.endswith(".pdf")
    hostile = safe_filename("\u2066evil\u2069\r\n\t..\\..//x\u202dcod.exe", "png")
    assert not any(c in hostile for c in "/\\\r\n\t\x00\u202d\u2066\u2069") and ".." not in hostile
    assert hostile.endswith(".png")


# ---------------------------------------------------------------- fuzzing


def mutations(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    for _ in range(count):
        buf = bytearray(data)
        action = rng.randrange(4)
        if action == 0:  # truncate
            yield bytes(buf[: rng.randrange(1, len(buf))])
        elif action == 1:  # flip random bytes
            for _ in range(rng.randrange(1, 20)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            yield bytes(buf)
        elif action == 2:  # delete a slice
            start = rng.randrange(len(buf))
            del buf[start : start + rng.randrange(1, 200)]
            yield bytes(buf)
        else:  # insert junk
            at = rng.randrange(len(buf))
            yield bytes(buf[:at] + rng.randbytes(rng.randrange(1, 64)) + buf[at:])


@pytest.mark.parametrize("make", [corpus.plain_pdf, corpus.jpeg, corpus.pdf_with_actions, corpus.png_with_alpha],
                         ids=["pdf", "jpeg", "js-pdf", "png"])
def test_fuzzed_files_give_checked_or_refused(make: Callable[[], bytes]) -> None:
    rng = random.Random(20240611)
    outcomes = {"checked": 0, "refused": 0}
    for mutant in mutations(make(), rng, 200):
        try:
            result = check(mutant)
        except ContentRefused as refusal:
            assert refusal.code in {"corrupt", "unsupported_type", "image_too_large", "encrypted", "too_many_pages"}
            outcomes["refused"] += 1
        else:
            assert isinstance(result, Checked)
            if result.kind == "pdf":
                assert not pdf_names(result.display) & DANGEROUS_NAMES
            outcomes["checked"] += 1
    assert outcomes["refused"] > 0
