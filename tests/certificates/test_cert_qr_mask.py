"""The QR code uses one fixed data mask (``qr.MASK_PATTERN``) instead of scoring all eight: every reader follows the
mask the symbol names, and real verification URLs, each with its own token, scan back exactly."""

from __future__ import annotations

import base64
import secrets

import zxingcpp
from PIL import Image

from bff.domain.certificates.qr import MASK_PATTERN, QUIET_ZONE_MODULES, QrMatrix, qr_matrix

PX = 4  # pixels per module: a phone camera's view of a printed 0.5 mm module


def picture(matrix: QrMatrix) -> Image.Image:
    side = (matrix.size + 2 * QUIET_ZONE_MODULES) * PX
    image = Image.new("L", (side, side), 255)
    for r, row in enumerate(matrix.rows):
        for c, dark in enumerate(row):
            if dark:
                x, y = (c + QUIET_ZONE_MODULES) * PX, (r + QUIET_ZONE_MODULES) * PX
                image.paste(0, (x, y, x + PX, y + PX))
    return image


def test_fresh_verification_urls_scan_back_exactly_with_the_fixed_mask() -> None:
    for _ in range(25):
        token = base64.b32encode(secrets.token_bytes(122)).decode().rstrip("=")
        url = f"HTTPS://DANGAN.EXAMPLE.GOV.CN/V/{token}"
        read = [r for r in zxingcpp.read_barcodes(picture(qr_matrix(url))) if r.format == zxingcpp.BarcodeFormat.QRCode]
        assert len(read) == 1 and read[0].valid
        assert read[0].text == url
        assert int(read[0].extra["DataMask"]) == MASK_PATTERN
        assert read[0].extra["ECLevel"] == "M"
