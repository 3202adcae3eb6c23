"""The audit trail's settings, from environment variables only.

``AUDIT_RETENTION_DAYS`` (default 365) is how long rows are kept before ``python -m bff audit purge`` may remove
them; below 180 (the MLPS level-3 minimum for audit records) the BFF refuses to start. ``AUDIT_HMAC_KEY`` (at
least 32 characters, the same on every instance) keys the pseudonyms that say who acted; without it a dev key
is generated once under ``DATA_DIR/audit/hmac.key`` (0600), like the other dev keys. Changing the key changes
every pseudonym from then on (old rows keep theirs and still verify).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bff.lib.secretfiles import create_secret_file

MIN_RETENTION_DAYS = 180
DEFAULT_RETENTION_DAYS = 365
MIN_KEY_LENGTH = 32


class AuditSettingsError(ValueError):
    """A setting the audit trail cannot run with; the message says which and why (for the operator)."""


@dataclass(frozen=True)
class AuditSettings:
    retention_days: int
    hmac_key: bytes = field(repr=False)
    key_file: Path | None = None  # the generated dev key, when AUDIT_HMAC_KEY is not set

    @classmethod
    def from_env(cls, data_dir: Path) -> AuditSettings:
        days = retention_days_from_env()
        key = os.environ.get("AUDIT_HMAC_KEY", "").strip()
        if key:
            if len(key) < MIN_KEY_LENGTH:
                raise AuditSettingsError(f"AUDIT_HMAC_KEY 太短：至少需要 {MIN_KEY_LENGTH} 个字符")
            return cls(retention_days=days, hmac_key=key.encode())
        path = data_dir / "audit" / "hmac.key"
        return cls(retention_days=days, hmac_key=_load_or_create(path), key_file=path)


def retention_days_from_env() -> int:
    """``AUDIT_RETENTION_DAYS``: at least 180 (MLPS level 3), 365 by default."""
    raw_days = os.environ.get("AUDIT_RETENTION_DAYS", "").strip() or str(DEFAULT_RETENTION_DAYS)
    try:
        days = int(raw_days)
    except ValueError:
        raise AuditSettingsError(f"AUDIT_RETENTION_DAYS 必须是整数天数（当前为 {raw_days!r}）") from None
    if days < MIN_RETENTION_DAYS:
        raise AuditSettingsError(
            f"AUDIT_RETENTION_DAYS={days} 不符合要求：审计记录至少保存 {MIN_RETENTION_DAYS} 天（等保三级），拒绝启动")
    return days


def _load_or_create(path: Path) -> bytes:
    """The dev key at ``path``, made once (0600) and race-free across processes sharing the directory."""
    create_secret_file(path, secrets.token_hex(32).encode())
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise AuditSettingsError(f"{path} 中的审计密钥无效（少于 {MIN_KEY_LENGTH} 个字符）")
    return key.encode()


def startup_problem(data_dir: Path) -> str | None:
    """Why the BFF must not start (an audit setting it cannot run with), or None; makes the dev key if missing."""
    try:
        AuditSettings.from_env(data_dir)
    except AuditSettingsError as exc:
        return str(exc)
    return None
