"""Signed QR tokens (compact JWS, ES256) that point a verifier at one issued certificate.

The token carries only an opaque certificate id and the kind (claims ``cid``, ``knd``, ``iat``), never
personal data: whoever scans it learns nothing until the server looks the certificate up.

Keys are P-256 private keys stored as PEM files in one directory, shared by every BFF instance.
All of them verify; the one whose file name sorts last signs. Generated files are named
``qr-<UTC timestamp>.pem``, so "sorts last" is "newest". To rotate: :meth:`TokenKeys.rotate` (or drop
a new PEM in), restart or reload the instances, and keep the old files for as long as certificates
signed with them must still verify. The key id (``kid``) is the RFC 7638 JWK thumbprint.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"
MAX_TOKEN_LENGTH = 2048
KEY_GLOB = "*.pem"


class InvalidToken(Exception):
    """The token is not one we issued: malformed, wrong algorithm, unknown key, or bad signature.

    ``detail`` says which, for logs only; show verifiers a single message whatever it is.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64u(numbers.x.to_bytes(32, "big")),
        "y": _b64u(numbers.y.to_bytes(32, "big")),
    }


def jwk_thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    canonical = json.dumps(_public_jwk(key), sort_keys=True, separators=(",", ":"))
    return _b64u(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class TokenKey:
    kid: str
    path: Path
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


def _load_key(path: Path) -> TokenKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path.name}: QR token keys must be EC P-256 private keys")
    return TokenKey(kid=jwk_thumbprint(key.public_key()), path=path, private_key=key)


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Serialise key creation between instances starting at once on a shared directory."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(directory / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_new_key(directory: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"qr-{stamp}.pem"
    while path.exists():  # two rotations within a microsecond
        time.sleep(0.001)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = directory / f"qr-{stamp}.pem"
    tmp = directory / f".{path.name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


class TokenKeys:
    """The QR token key set: the newest key signs, every key verifies. Immutable, thread-safe."""

    def __init__(self, keys: list[TokenKey]) -> None:
        if not keys:
            raise ValueError("at least one token key is needed")
        self._keys = list(keys)
        self._by_kid: dict[str, TokenKey] = {k.kid: k for k in keys}
        self._current = keys[-1]

    @classmethod
    def load(cls, directory: Path) -> TokenKeys:
        """Load every ``*.pem`` in ``directory`` (sorted by name; the last one signs)."""
        paths = sorted(p for p in Path(directory).glob(KEY_GLOB) if p.is_file())
        if not paths:
            raise FileNotFoundError(f"no QR token keys in {directory}")
        return cls([_load_key(p) for p in paths])

    @classmethod
    def load_or_create(cls, directory: Path) -> TokenKeys:
        """Load the keys in ``directory``, generating the first one if there is none."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with _dir_lock(directory):
            if not any(p.is_file() for p in directory.glob(KEY_GLOB)):
                _write_new_key(directory)
        return cls.load(directory)

    @classmethod
    def rotate(cls, directory: Path) -> TokenKeys:
        """Add a new signing key to ``directory``; older keys stay for verifying."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with _dir_lock(directory):
            _write_new_key(directory)
        return cls.load(directory)

    @property
    def current_kid(self) -> str:
        """The kid of the key that signs new tokens."""
        return self._current.kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(k.kid for k in self._keys)

    def issue(self, claims: Mapping[str, Any]) -> str:
        """Sign ``claims`` with the current key; the header carries ``alg`` and ``kid`` only."""
        return jwt.encode(
            dict(claims),
            self._current.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self._current.kid, "typ": None},  # no typ: a shorter token, a smaller QR
        )

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a token we signed, or raise :class:`InvalidToken`."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("empty or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
        kid = header.get("kid")
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown key id")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                options={"require": [], "verify_aud": False, "verify_iss": False},
                leeway=300,  # clocks of the instances may differ a little (iat in the future)
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"rejected: {exc}") from exc
        if not isinstance(claims, dict):  # pragma: no cover - pyjwt always returns a dict
            raise InvalidToken("claims are not an object")
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK Set, for ``/.well-known/jwks.json``."""
        return {
            "keys": [{**_public_jwk(k.public_key), "kid": k.kid, "alg": ALGORITHM, "use": "sig"} for k in self._keys]
        }
