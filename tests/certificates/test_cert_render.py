"""render_certificate: one A4 page, the Chinese text, an embedded font subset, a scannable QR code."""

from __future__ import annotations

import io
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from bff.domain.certificates import render
from bff.domain.certificates.render import (
    CertificateContent,
    MissingGlyphError,
    RenderError,
    load_template,
    render_certificate,
    wrap_cjk,
)
from tests.certificates.helpers import make_content, tool

A4 = (595.2756, 841.8898)
MM_PER_INCH = 25.4


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_text(pdf: bytes) -> str:
    return squeeze(PdfReader(io.BytesIO(pdf)).pages[0].extract_text())


def to_png(pdf: bytes, tmp_path: Path, dpi: int) -> Path:
    src = tmp_path / "c.pdf"
    src.write_bytes(pdf)
    subprocess.run([tool("pdftoppm"), "-r", str(dpi), "-png", "-singlefile", str(src), str(tmp_path / "c")], check=True)
    return tmp_path / "c.png"


def test_one_a4_page(unsigned_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(unsigned_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4[0], abs=0.5)
    assert float(box.height) == pytest.approx(A4[1], abs=0.5)


def test_states_the_certificate_in_chinese(unsigned_pdf: bytes, content: CertificateContent) -> None:
    text = page_text(unsigned_pdf)
    assert "存档证明" in text
    assert "证明编号：CZ2026112100000123" in text
    assert (
        "兹证明张伟（公民身份号码：110105199805120017）的人事档案自2020年7月15日起由我机构保管，"
        "存档性质为个人委托，存档编号11010500001234。" in text
    )
    assert "特此证明。" in text
    assert "北京市朝阳区人才服务中心" in text
    assert "2026年11月21日" in text
    assert "扫码核验" in text
    assert content.verify_url in text  # the verification address, written out
    assert "电子证明专用章" in text and "沙箱" in text  # the drawn seal says what it is


def test_metadata_names_no_person(unsigned_pdf: bytes) -> None:
    meta = PdfReader(io.BytesIO(unsigned_pdf)).metadata
    assert meta is not None
    assert meta.title == "存档证明 CZ2026112100000123"
    assert "110105199805120017" not in str(dict(meta)) and "张伟" not in str(dict(meta))


def test_font_is_embedded_as_subset(unsigned_pdf: bytes) -> None:
    page: Any = PdfReader(io.BytesIO(unsigned_pdf)).pages[0]
    fonts = page["/Resources"]["/Font"].get_object()
    assert fonts, "no fonts on the page"
    for ref in fonts.values():
        font: Any = ref.get_object()
        assert isinstance(font, DictionaryObject)
        assert str(font["/Subtype"]) == "/TrueType"
        assert re.fullmatch(r"/[A-Z]{6}\+.+", str(font["/BaseFont"])), font["/BaseFont"]
        descriptor: Any = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        embedded = descriptor["/FontFile2"].get_object().get_data()
        assert 1_000 < len(embedded) < 400_000  # a subset, not the multi-megabyte font
        assert "/ToUnicode" in font  # text can be copied and searched


def test_pdffonts_sees_only_embedded_fonts(unsigned_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "c.pdf"
    path.write_bytes(unsigned_pdf)
    out = subprocess.run([tool("pdffonts"), str(path)], check=True, capture_output=True, text=True).stdout
    rows = out.splitlines()[2:]
    assert rows
    for row in rows:
        emb, sub = row.split()[-5:-3]
        assert (emb, sub) == ("yes", "yes"), row


def test_qr_code_decodes_to_verify_url(unsigned_pdf: bytes, content: CertificateContent, tmp_path: Path) -> None:
    dpi = 150
    image = Image.open(to_png(unsigned_pdf, tmp_path, dpi))
    results = [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(results) == 1
    qr = results[0]
    assert qr.text == content.verify_url
    assert qr.ec_level == "M"
    pos = qr.position
    side_px = max(abs(pos.top_right.x - pos.top_left.x), abs(pos.bottom_left.y - pos.top_left.y))
    assert side_px / dpi * MM_PER_INCH >= 25  # printed at least 25 mm wide


def test_other_id_types_are_named(verify_url: str) -> None:
    pdf = render_certificate(
        make_content(verify_url, holder_id_type="08", holder_id_number="E12345678", holder_name="LI Ming")
    )
    assert "LIMing（外国人护照号码：E12345678）" in page_text(pdf)


def test_long_agency_name_still_fits(verify_url: str) -> None:
    name = "北京市西城区人力资源和社会保障局流动人员人事档案管理服务中心"
    pdf = render_certificate(make_content(verify_url, agency_name=name))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert name in page_text(pdf)


def test_a_character_the_font_lacks_is_refused(verify_url: str) -> None:
    rare = "\U00030000"  # CJK Extension G: not in the embedded font
    with pytest.raises(MissingGlyphError) as info:
        render_certificate(make_content(verify_url, holder_name=f"张{rare}"))
    assert info.value.characters == rare


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "experience_certificate"},
        {"holder_name": "张\n伟"},
        {"agency_name": "  "},
        {"verify_url": "javascript:alert(1)"},
    ],
)
def test_bad_content_is_refused(verify_url: str, changes: dict[str, object]) -> None:
    with pytest.raises(RenderError):
        render_certificate(make_content(verify_url, **changes))


@pytest.mark.parametrize(
    ("template", "version"), [("../etc", "v1"), ("archive_certificate", "v999"), ("archive_certificate", "1")]
)
def test_unknown_or_unsafe_templates_are_refused(content: CertificateContent, template: str, version: str) -> None:
    with pytest.raises(RenderError):
        render_certificate(content, template, version)


def test_template_is_versioned() -> None:
    tpl = load_template("archive_certificate", "v1")
    assert (tpl.kind, tpl.version, tpl.wording.title) == ("archive_certificate", "v1", "存档证明")
    assert tpl.layout.qr_size >= 25


def test_line_breaking_follows_chinese_rules(unsigned_pdf: bytes) -> None:
    font = render.get_font(load_template()).name
    text = "兹证明张伟（公民身份号码：110105199805120017）的人事档案自2020年7月15日起由我机构保管，存档性质为个人委托。"
    for width in range(150, 460, 7):
        lines = wrap_cjk(text, font, 15, width, 30)
        assert "".join(lines) == text
        for line in lines[1:]:
            assert line[0] not in "，。、）：", (width, lines)
        for line in lines[:-1]:
            assert line[-1] != "（", (width, lines)
        assert any("110105199805120017" in line for line in lines)  # numbers are not split


def test_font_is_registered_once(content: CertificateContent) -> None:
    tpl = load_template()
    assert render.get_font(tpl) is render.get_font(tpl)
    registered = len(render._FONTS)
    render_certificate(content)
    render_certificate(content)
    assert len(render._FONTS) == registered


def test_concurrent_renders_do_not_mix(verify_url: str) -> None:
    names = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊"]
    results: dict[str, bytes] = {}

    def work(name: str) -> None:
        for _ in range(3):
            results[name] = render_certificate(make_content(verify_url, holder_name=name))

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in names:
        text = page_text(results[name])
        assert f"兹证明{name}（" in text
        assert all(other not in text for other in names if other != name)


def test_render_is_fast(content: CertificateContent) -> None:
    render_certificate(content)
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        render_certificate(content)
        timings.append(time.perf_counter() - start)
    p50 = statistics.median(timings) * 1000
    print(f"render p50 {p50:.1f} ms")
    assert p50 < 100  # target is <= 25 ms on one core; this only catches gross regressions


def installed_font(name: str) -> Path | None:
    try:
        return render.find_font([name])
    except RenderError:
        return None


def test_cert_font_path_overrides_the_search(verify_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wqy = installed_font("wqy-microhei.ttc")
    assert wqy is not None, "fonts-wqy-microhei is not installed"
    copy = tmp_path / "some-other-name.ttc"
    copy.write_bytes(wqy.read_bytes())
    monkeypatch.setenv(render.FONT_PATH_ENV, str(copy))
    assert render.get_font(load_template()).path == copy
    assert "兹证明张伟" in page_text(render_certificate(make_content(verify_url)))


def test_a_cff_font_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    noto = installed_font("NotoSansCJK-Regular.ttc")
    if noto is None:
        pytest.skip("fonts-noto-cjk not installed")
    monkeypatch.setenv(render.FONT_PATH_ENV, str(noto))
    with pytest.raises(RenderError, match="cannot use font"):
        render.get_font(load_template())


def test_a_missing_font_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(render.FONT_PATH_ENV, str(tmp_path / "none.ttf"))
    with pytest.raises(RenderError, match="CERT_FONT_PATH"):
        render.get_font(load_template())


def test_a_run_longer_than_a_line_is_broken() -> None:
    font = render.get_font(load_template()).name
    text = "编号" + "A1" * 60 + "。"
    lines = wrap_cjk(text, font, 10, 200)
    assert "".join(lines) == text
    assert all(render.text_width(line, font, 10) <= 200 + 10 for line in lines)
