"""Sandbox OpenID Connect provider (统一认证 stand-in); see docs/sso.md."""

from sandbox.sso.app import create_app
from sandbox.sso.settings import SsoSettings

__all__ = ["SsoSettings", "create_app"]
