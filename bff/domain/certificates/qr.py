"""QR codes for e-certificates: the module matrix (``qrcode``) and vector drawing on a reportlab canvas.

Drawn as vector rectangles rather than a bitmap, so the code stays sharp at any print resolution
and costs a few hundred bytes. Error correction is M (15 %), enough for a printed page that is
folded or stamped on, while keeping the symbol small for a verification URL of ~350 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE_MODULES = 4  # ISO/IEC 18004 asks for four light modules around the symbol
MIN_PRINTED_SIZE = 25 * mm  # printed side of the symbol, quiet zone excluded
MIN_MODULE_SIZE = 0.25 * mm  # below this, phone cameras struggle with laser-printed copies

_ERROR_CORRECTION = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """The dark/light modules of a QR symbol (quiet zone not included)."""

    version: int
    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)


@lru_cache(maxsize=256)
def qr_matrix(data: str, error_correction: str = "M") -> QrMatrix:
    """Encode ``data`` in the smallest QR version that fits at the given error-correction level."""
    code = qrcode.QRCode(error_correction=_ERROR_CORRECTION[error_correction], border=0, box_size=1)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    rows = tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())
    return QrMatrix(version=int(code.version or 0), rows=rows)


def draw_qr(
    canvas: Canvas,
    data: str,
    x: float,
    y: float,
    size: float,
    *,
    error_correction: str = "M",
    fill_quiet_zone: bool = True,
) -> QrMatrix:
    """Draw the QR code of ``data`` with its lower-left corner at (x, y), ``size`` points square.

    ``size`` is the symbol without its quiet zone; with ``fill_quiet_zone`` a white square of four
    modules is painted around it, so the caller must leave that much room. Raises ``ValueError``
    when the symbol would print smaller than 25 mm or with modules too small to scan.
    """
    matrix = qr_matrix(data, error_correction)
    n = matrix.size
    module = size / n
    if size < MIN_PRINTED_SIZE - 0.01 or module < MIN_MODULE_SIZE:
        raise ValueError(f"QR code of {n}x{n} modules would be {size / mm:.1f} mm ({module / mm:.2f} mm per module)")
    canvas.saveState()
    # Work in module units so that every rectangle has small integer coordinates.
    canvas.translate(x, y)
    canvas.scale(module, module)
    if fill_quiet_zone:
        q = QUIET_ZONE_MODULES
        canvas.setFillColorRGB(1, 1, 1)
        canvas.rect(-q, -q, n + 2 * q, n + 2 * q, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    ops: list[str] = []
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
    ops.append("f")
    # Emitted as literal operators: reportlab's per-number formatting would cost ~10 ms here.
    canvas.addLiteral("\n".join(ops))
    canvas.restoreState()
    return matrix
