"""Small things both sandbox servers need: env settings helpers, China time, masking."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Final

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
CHINA_TZ: Final = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def data_dir_from_env() -> Path:
    """``SANDBOX_DATA_DIR``, default ``var/sandbox`` relative to the working directory."""
    return Path(env_str("SANDBOX_DATA_DIR", "var/sandbox"))


def now_china() -> dt.datetime:
    return dt.datetime.now(CHINA_TZ).replace(microsecond=0)


def mask_id_number(id_number: str) -> str:
    """``110105********0012``: the first six and last four characters stay."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "*" * len(phone)
