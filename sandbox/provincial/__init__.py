"""Sandbox provincial archive system (省级集中系统 stand-in); see docs/provincial-api.md."""

from sandbox.provincial.app import create_app
from sandbox.provincial.settings import ProvincialSettings

__all__ = ["ProvincialSettings", "create_app"]
