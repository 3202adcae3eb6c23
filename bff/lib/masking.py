"""Masking of personal data for every response and log line that does not need it whole."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """身份证 ``110105********002X``: region and the last four stay, the birth date goes."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """手机 ``138****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """姓名 ``张*`` / ``欧阳**``: the surname (or first character) stays."""
    if len(value) <= 1:
        return value
    keep = 2 if len(value) >= 4 else 1
    return value[:keep] + "*" * (len(value) - keep)
