"""QR codes for e-certificates: the module matrix (``qrcode``) and a PDF content stream that draws it.

The symbol is drawn as vector rectangles rather than a bitmap, so it stays sharp at any print
resolution, costs a few hundred bytes and needs no page resources (no fonts, no images): the stream
can be appended to a finished page (see ``render.add_qr``). Error correction is M (15 %), enough for
a printed page that is folded or stamped on, while keeping the symbol small.

An all-uppercase URL (``HTTPS://DANGAN.EXAMPLE.GOV.CN/V/<base32 token>``) uses only characters of
the QR alphanumeric set (0-9 A-Z space $%*+-./:) and is encoded in alphanumeric mode, 5.5 bits per
character instead of 8 in byte mode: ~230 characters fit in version 9 (53 x 53 modules) at level M,
where byte mode would need version 11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
import qrcode.util

QUIET_ZONE_MODULES = 4  # ISO/IEC 18004 asks for four light modules around the symbol
MIN_PRINTED_SIZE_MM = 25.0  # printed side of the symbol, quiet zone excluded
MIN_MODULE_SIZE_MM = 0.25  # below this, phone cameras struggle with laser-printed copies
MAX_VERSION = 10  # 57 x 57 modules: larger symbols get hard to scan at ~30 mm
ERROR_CORRECTION = "M"
# The data mask. ISO/IEC 18004 lets the encoder pick any of the eight (the symbol says which; every reader
# follows it) and suggests the one with the lowest penalty score. ``qrcode`` scores all eight in pure Python:
# 13 ms of a 38 ms certificate. On our verification URLs mask 2 scores lowest on average (about 5 % above the
# best of the eight for each URL, well below the other fixed choices), so it is used always: ~3 ms.
MASK_PATTERN = 2

_MM = 72 / 25.4
_ERROR_CORRECTION = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_ALPHANUMERIC = re.compile(rb"[0-9A-Z $%*+\-./:]+")
MODE_NAMES = {
    qrcode.util.MODE_NUMBER: "numeric",
    qrcode.util.MODE_ALPHA_NUM: "alphanumeric",
    qrcode.util.MODE_8BIT_BYTE: "byte",
}


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """The dark/light modules of a QR symbol (quiet zone not included)."""

    version: int
    modes: tuple[str, ...]  # encoding mode of each data segment ("alphanumeric", "byte", ...)
    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)


@lru_cache(maxsize=256)
def qr_matrix(data: str, error_correction: str = ERROR_CORRECTION) -> QrMatrix:
    """Encode ``data`` in the smallest QR version that fits at the given error-correction level.

    Data made only of alphanumeric-set characters is one alphanumeric segment. Anything else is
    left to ``qrcode``'s segmentation (byte mode, with numeric/alphanumeric runs of 20+ split off).
    """
    code = qrcode.QRCode(error_correction=_ERROR_CORRECTION[error_correction], border=0, box_size=1,
                         mask_pattern=MASK_PATTERN)
    raw = data.encode("utf-8")
    if _ALPHANUMERIC.fullmatch(raw):
        code.add_data(qrcode.util.QRData(raw, mode=qrcode.util.MODE_ALPHA_NUM))
    else:
        code.add_data(raw)
    code.make(fit=True)
    rows = tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())
    modes = tuple(MODE_NAMES.get(chunk.mode, str(chunk.mode)) for chunk in code.data_list)
    return QrMatrix(version=int(code.version or 0), modes=modes, rows=rows)


def check_printable(matrix: QrMatrix, size_pt: float) -> None:
    """Raise ``ValueError`` if the symbol is too large a version, or would print too small, to scan."""
    n = matrix.size
    module_mm = size_pt / _MM / n
    if matrix.version > MAX_VERSION:
        raise ValueError(
            f"QR code would be version {matrix.version} ({n}x{n} modules); at most {MAX_VERSION} is allowed: "
            "shorten the URL or write it in upper case (alphanumeric mode)"
        )
    if size_pt / _MM < MIN_PRINTED_SIZE_MM - 0.01 or module_mm < MIN_MODULE_SIZE_MM:
        raise ValueError(f"QR code of {n}x{n} modules would be {size_pt / _MM:.1f} mm ({module_mm:.2f} mm per module)")


def _num(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def qr_content_stream(matrix: QrMatrix, x: float, y: float, size: float, *, quiet_zone: bool = True) -> bytes:
    """PDF content-stream operators drawing ``matrix`` with its lower-left corner at (x, y), ``size`` pt square.

    Self-contained: wrapped in q/Q, sets its own colours, uses no resources. With ``quiet_zone`` a
    white square four modules wide is painted around the symbol first, so whatever the page has
    there cannot disturb scanning.
    """
    n = matrix.size
    module = size / n
    # Work in module units so that every rectangle has small integer coordinates.
    ops = ["q", f"{_num(module)} 0 0 {_num(module)} {_num(x)} {_num(y)} cm"]
    if quiet_zone:
        q = QUIET_ZONE_MODULES
        ops.append(f"1 g {-q} {-q} {n + 2 * q} {n + 2 * q} re f")
    ops.append("0 g")
    for r, row in enumerate(matrix.rows):
        bottom = n - 1 - r
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            # One rectangle per horizontal run, all in a single path filled once (no seams).
            ops.append(f"{start} {bottom} {c - start} 1 re")
    ops += ["f", "Q", ""]
    return "\n".join(ops).encode("ascii")
