"""Settings of the sandbox provincial system, from environment variables only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sandbox.common import data_dir_from_env, env_int, env_str

SERVICE_AUDIENCE: Final = "provincial-api"
DB_FILE: Final = "provincial/provincial.sqlite3"


@dataclass(frozen=True, slots=True)
class ProvincialSettings:
    host: str = "127.0.0.1"
    port: int = 8200
    sso_issuer: str = "http://127.0.0.1:8100"
    data_dir: Path = Path("var/sandbox")
    # demo mode on at start, moving every open application one step every so many seconds (None: off)
    auto_advance_seconds: float | None = None

    @classmethod
    def from_env(cls) -> ProvincialSettings:
        auto = env_str("SANDBOX_AUTO_ADVANCE_SECONDS", "")
        return cls(
            host=env_str("SANDBOX_PROVINCIAL_HOST", "127.0.0.1"),
            port=env_int("SANDBOX_PROVINCIAL_PORT", 8200),
            sso_issuer=env_str("SANDBOX_SSO_ISSUER", "http://127.0.0.1:8100").rstrip("/"),
            data_dir=data_dir_from_env(),
            auto_advance_seconds=float(auto) if auto else None,
        )

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE
