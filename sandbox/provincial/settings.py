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

    @classmethod
    def from_env(cls) -> ProvincialSettings:
        return cls(
            host=env_str("SANDBOX_PROVINCIAL_HOST", "127.0.0.1"),
            port=env_int("SANDBOX_PROVINCIAL_PORT", 8200),
            sso_issuer=env_str("SANDBOX_SSO_ISSUER", "http://127.0.0.1:8100").rstrip("/"),
            data_dir=data_dir_from_env(),
        )

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE
