"""A browser's side of Web Push, for the tests: its subscription keys (RFC 8291), and reading what arrived."""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """One browser's push subscription: a P-256 key pair and 16 random auth bytes, on a stand-in channel."""

    push_service: str  # origin of the sandbox push stand-in
    channel: str = field(default_factory=lambda: uuid.uuid4().hex)
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def endpoint(self) -> str:
        return f"{self.push_service}/push/{self.channel}"

    @property
    def p256dh(self) -> str:
        raw = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)
        return b64url(raw)

    def subscription(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives in a browser."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh,
                                                                            "auth": b64url(self.auth)}}

    def received(self) -> list[dict[str, Any]]:
        """What the push service holds for this device, as stored (encrypted body, claims, headers)."""
        r = httpx.get(f"{self.push_service}/sandbox/push/{self.channel}", timeout=10)
        r.raise_for_status()
        return list(r.json())

    def decrypt(self, message: dict[str, Any]) -> dict[str, Any]:
        """What the service worker would read: the payload decrypted with this device's keys (aes128gcm)."""
        plain = http_ece.decrypt(b64url_decode(message["body_b64"]), private_key=self.key, auth_secret=self.auth,
                                 version="aes128gcm")
        return dict(json.loads(plain))

    def messages(self) -> list[dict[str, Any]]:
        return [self.decrypt(m) for m in self.received()]

    def gone(self) -> None:
        httpx.post(f"{self.push_service}/sandbox/push/{self.channel}/gone", timeout=10).raise_for_status()


def sms_for(push_service: str, phone: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{push_service}/sandbox/sms", params={"phone": phone}, timeout=10)
    r.raise_for_status()
    return list(r.json())
