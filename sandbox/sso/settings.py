"""Settings of the sandbox SSO provider, from environment variables only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sandbox.common import data_dir_from_env, env_int, env_str

CLIENT_ID: Final = "portal"
CLIENT_SECRET: Final = "portal-dev-secret"
SERVICE_AUDIENCE: Final = "provincial-api"

ID_TOKEN_TTL: Final = 600
ACCESS_TOKEN_TTL: Final = 600
SERVICE_TOKEN_TTL: Final = 300
CODE_TTL: Final = 60
LOGIN_TTL: Final = 600  # how long a shown login page stays usable
SESSION_TTL: Final = 8 * 3600
SESSION_COOKIE: Final = "sso_session"


@dataclass(frozen=True, slots=True)
class SsoSettings:
    host: str = "127.0.0.1"
    port: int = 8100
    issuer: str = "http://127.0.0.1:8100"
    portal_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("var/sandbox")

    @classmethod
    def from_env(cls) -> SsoSettings:
        host = env_str("SANDBOX_SSO_HOST", "127.0.0.1")
        port = env_int("SANDBOX_SSO_PORT", 8100)
        return cls(
            host=host,
            port=port,
            issuer=env_str("SANDBOX_SSO_ISSUER", f"http://{host}:{port}").rstrip("/"),
            portal_url=env_str("SANDBOX_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/"),
            data_dir=data_dir_from_env(),
        )

    @property
    def redirect_uri(self) -> str:
        return f"{self.portal_url}/auth/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.portal_url}/"

    @property
    def userinfo_audience(self) -> str:
        return f"{self.issuer}/userinfo"
