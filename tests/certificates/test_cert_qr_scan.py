"""The QR code of every kind scans back to the exact URL: clean, blurred and JPEG-compressed.

Each certificate is rendered, given the QR code of a 230-character upper-case URL (add_qr), rasterised
by pdftoppm at 150 dpi and decoded with zxing-cpp, as a verifier's phone would read a printout.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageFilter

from bff.domain.certificates.qr import MAX_VERSION, qr_matrix
from bff.domain.certificates.render import add_qr, render_certificate
from tests.certificates.helpers import KINDS, LONG_AGENCY, fake_url, make_content, to_png, write

DPI = 150
MM_PER_INCH = 25.4
URL = fake_url(230)


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(1.2))


def jpeg(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=35)
    return Image.open(io.BytesIO(buf.getvalue()))


def unchanged(image: Image.Image) -> Image.Image:
    return image


@pytest.fixture(scope="module", params=KINDS)
def page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    kind: str = request.param
    pdf = add_qr(render_certificate(make_content(kind, agency_name=LONG_AGENCY)), URL)
    tmp = tmp_path_factory.mktemp(kind)
    return Image.open(to_png(write(tmp, "c.pdf", pdf), DPI, tmp / "c")).convert("L")


@pytest.mark.parametrize("damage", [unchanged, blurred, jpeg], ids=["clean", "blur-1.2", "jpeg-35"])
def test_qr_scans_to_the_exact_url(page: Image.Image, damage: Callable[[Image.Image], Image.Image]) -> None:
    results = [r for r in zxingcpp.read_barcodes(damage(page)) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(results) == 1
    qr = results[0]
    assert qr.valid
    assert qr.text == URL
    assert qr.ec_level == "M"
    extra: Any = qr.extra
    assert int(extra["Version"]) <= MAX_VERSION  # as read from the printed symbol
    pos = qr.position
    side_px = max(abs(pos.top_right.x - pos.top_left.x), abs(pos.bottom_left.y - pos.top_left.y))
    assert side_px / DPI * MM_PER_INCH >= 25  # printed at least 25 mm wide


def test_qr_version_is_small_enough() -> None:
    matrix = qr_matrix(URL)
    assert matrix.modes == ("alphanumeric",)
    assert matrix.version <= MAX_VERSION == 10
    assert matrix.version == 9


def test_the_url_is_exactly_230_characters() -> None:
    assert len(URL) == 230 and URL == URL.upper()
    assert URL.startswith("HTTPS://DANGAN.EXAMPLE.GOV.CN/V/")
