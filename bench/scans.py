"""Realistic scans for the upload benchmark: an A4 page photographed or scanned at 300 dpi (2480 × 3508), grey
paper noise with dark text-like bars, as a colour JPEG of about the wanted size, or that JPEG wrapped in a PDF
(img2pdf, as a scanner app would save it)."""

from __future__ import annotations

import functools
import io
import random

from PIL import Image, ImageDraw

A4_300DPI = (2480, 3508)


def _page(noise: float, seed: int) -> Image.Image:
    rng = random.Random(seed)
    paper = Image.effect_noise(A4_300DPI, noise).point(lambda v: 150 + v * 100 // 255)
    draw = ImageDraw.Draw(paper)
    for line in range(60):  # lines of "text"
        y = 250 + line * 52
        x = 200
        while x < 2200:
            width = rng.randint(20, 90)
            draw.rectangle((x, y, x + width, y + 28), fill=rng.randint(10, 60))
            x += width + rng.randint(8, 30)
    return Image.merge("RGB", (paper, paper.point(lambda v: max(0, v - 4)), paper.point(lambda v: max(0, v - 12))))


@functools.lru_cache(maxsize=8)
def jpeg_scan(target_bytes: int, seed: int = 6) -> bytes:
    """A JPEG of about ``target_bytes`` (within ~5 % when reachable): more paper noise, more bytes."""
    best = b""
    quality = 85 if target_bytes < 3_000_000 else 95
    low, high = 1.0, 120.0
    for _ in range(8):
        noise = (low + high) / 2
        out = io.BytesIO()
        _page(noise, seed).save(out, "JPEG", quality=quality)
        data = out.getvalue()
        if not best or abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
        if abs(len(data) - target_bytes) < target_bytes * 0.05:
            break
        low, high = (noise, high) if len(data) < target_bytes else (low, noise)
    return best


def pdf_scan(target_bytes: int, seed: int = 6) -> bytes:
    import img2pdf

    data: bytes = img2pdf.convert(jpeg_scan(target_bytes, seed))
    return data
