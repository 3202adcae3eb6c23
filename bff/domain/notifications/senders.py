"""How messages leave the portal: an SMS gateway over HTTP, and Web Push (RFC 8291 encryption, RFC 8292 VAPID).

Nothing here logs or raises with personal data: errors carry an HTTP status or an exception class name only.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher

from bff.lib.secretfiles import create_secret_file

# The push services browsers use (Chrome/Edge-on-Android: FCM; Firefox: Mozilla; Edge on Windows: WNS; Safari).
PUSH_HOSTS = frozenset({"fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com"})
PUSH_HOST_SUFFIXES = (".notify.windows.com",)
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
ENDPOINT_MAX = 1000
VAPID_LIFETIME = 12 * 3600  # RFC 8292: at most 24 h


# -- the allow-list (SSRF guard) ------------------------------------------------------------------------------

def _origin(scheme: str, host: str, port: int | None) -> str:
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port; None when it is not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        return None
    return _origin(parts.scheme, parts.hostname.lower(), port)


def endpoint_origin(endpoint: str) -> str | None:
    """The origin of a push endpoint (the VAPID ``aud``), or None when the URL is not usable."""
    if len(endpoint) > ENDPOINT_MAX or any(c.isspace() or ord(c) < 0x21 or c == "\\" for c in endpoint):
        return None
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    if parts.fragment or not parts.path.startswith("/"):
        return None
    return _origin(parts.scheme, parts.hostname.lower(), port)


def _known_push_host(host: str) -> bool:
    if host in PUSH_HOSTS:
        return True
    for suffix in PUSH_HOST_SUFFIXES:
        if host.endswith(suffix):
            labels = host[: -len(suffix)].split(".")
            return all(_HOST_LABEL.match(label) for label in labels)
    return False


def endpoint_allowed(endpoint: str, extra_origins: tuple[str, ...] = ()) -> bool:
    """Only real push services (https, default port) or an origin the operator listed: the BFF POSTs to this URL,
    so anything else would let a browser make the server call into the internal network."""
    origin = endpoint_origin(endpoint)
    if origin is None:
        return False
    if origin in {normalise_origin(o) for o in extra_origins}:
        return True
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or parts.port not in (None, 443):
        return False
    return _known_push_host((parts.hostname or "").lower())


# -- subscription keys ----------------------------------------------------------------------------------------

def b64url_decode(value: str) -> bytes | None:
    """Base64url with or without padding; None when it is not."""
    if not _B64URL.match(value):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def valid_p256dh(value: str) -> bool:
    raw = b64url_decode(value)
    if raw is None or len(raw) != 65 or raw[0] != 4:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def valid_auth(value: str) -> bool:
    raw = b64url_decode(value)
    return raw is not None and len(raw) == 16


# -- VAPID ----------------------------------------------------------------------------------------------------

class VapidKey:
    """The portal's application-server key pair: signs the VAPID JWT, and its public half goes to the browser."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, subject: str) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the VAPID key must be a P-256 key")
        self._key = private_key
        self.subject = subject
        raw = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        self.public_key = b64url(raw)
        self._tokens: dict[str, tuple[str, float]] = {}

    @classmethod
    def load_or_create(cls, path: Path, subject: str, generate: bool) -> VapidKey:
        """Reads the PEM at ``path``; when ``generate`` and it is missing, makes one (0600), race-free across
        processes sharing the directory (the first link wins, the others read it)."""
        if not path.exists() and generate:
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            create_secret_file(path, pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the VAPID key must be an EC (P-256) private key")
        return cls(key, subject)

    def authorization(self, audience: str, now: float | None = None) -> str:
        """``vapid t=<JWT>, k=<public key>`` for one push service origin; a token is reused for half its life."""
        now = time.time() if now is None else now
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - now < VAPID_LIFETIME / 2:
            expires = int(now) + VAPID_LIFETIME
            token = jwt.encode({"aud": audience, "exp": expires, "sub": self.subject}, self._key, algorithm="ES256")
            cached = (token, float(expires))
            self._tokens[audience] = cached
        return f"vapid t={cached[0]}, k={self.public_key}"


# -- senders --------------------------------------------------------------------------------------------------

class SendFailed(Exception):
    """A message did not go out. ``retry``: trying later may help. The text never holds personal data."""

    def __init__(self, detail: str, retry: bool = True) -> None:
        super().__init__(detail)
        self.retry = retry


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None:
        """Hands one SMS to the gateway; raises SendFailed."""


class HttpSmsSender:
    """The SMS gateway's HTTP API: ``POST {url}/messages`` ``{"phone", "text"}`` with ``X-Api-Key``; 2xx = taken."""

    def __init__(self, http: httpx.AsyncClient, url: str, api_key: str, timeout: float) -> None:
        self.http = http
        self.url = url.rstrip("/") + "/messages"
        self.api_key = api_key
        self.timeout = timeout

    async def send(self, phone: str, text: str) -> None:
        try:
            r = await self.http.post(self.url, json={"phone": phone, "text": text},
                                     headers={"X-Api-Key": self.api_key}, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise SendFailed(f"sms gateway timeout ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(f"sms gateway unreachable ({type(exc).__name__})") from exc
        if r.is_success:
            return
        retry = r.status_code in {408, 425, 429} or r.status_code >= 500
        raise SendFailed(f"sms gateway answered {r.status_code}", retry=retry)


PushOutcome = Literal["sent", "gone", "retry", "refused"]


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


def encrypt(target: PushTarget, payload: bytes) -> bytes:
    """RFC 8291 (aes128gcm) for one browser's keys, with a fresh ephemeral key and salt each time."""
    info = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
    body: bytes = WebPusher(info).encode(payload, "aes128gcm")["body"]
    return body


class PushSender:
    """Encrypts a payload for one browser (aes128gcm) and POSTs it to its push service with a VAPID header."""

    def __init__(self, http: httpx.AsyncClient, key: VapidKey, extra_origins: tuple[str, ...], ttl: int,
                 timeout: float) -> None:
        self.http = http
        self.key = key
        self.extra_origins = extra_origins
        self.ttl = ttl
        self.timeout = timeout

    def allowed(self, endpoint: str) -> bool:
        return endpoint_allowed(endpoint, self.extra_origins)

    async def send(self, target: PushTarget, payload: bytes, topic: str | None = None,
                   urgency: str = "normal") -> tuple[PushOutcome, str]:
        """``sent``; ``gone`` (404/410: the subscription is over); ``retry`` (429, 5xx, network); ``refused``
        (anything else, or an endpoint not on the allow-list). The second item says why, without personal data."""
        origin = endpoint_origin(target.endpoint)
        if origin is None or not self.allowed(target.endpoint):
            return "refused", "endpoint not allowed"
        try:
            body = encrypt(target, payload)
        except Exception as exc:  # a malformed stored key: that subscription can never be used
            return "refused", f"encryption failed ({type(exc).__name__})"
        headers = {
            "Authorization": self.key.authorization(origin),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl),
            "Urgency": urgency,
        }
        if topic:
            headers["Topic"] = topic  # a newer message replaces one still waiting at the push service
        try:
            r = await self.http.post(target.endpoint, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            return "retry", f"push service timeout ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            return "retry", f"push service unreachable ({type(exc).__name__})"
        if r.is_success:
            return "sent", str(r.status_code)
        if r.status_code in {404, 410}:
            return "gone", str(r.status_code)
        if r.status_code in {408, 425, 429} or r.status_code >= 500:
            return "retry", f"push service answered {r.status_code}"
        return "refused", f"push service answered {r.status_code}"
