"""Signed QR tokens for e-certificates: a compact binary record, ES256-signed, written in base32.

The token is made to fit a small QR code: the verification URL (``HTTPS://HOST/V/<TOKEN>``) uses only
characters of the QR alphanumeric set, so the whole URL is encoded in alphanumeric mode and stays at
version <= 10 at error correction M. It carries no personal data in clear: an opaque certificate id,
the kind, a status list index, dates, and salted hashes whose salt only the server knows.

Format version 1, big-endian, 122 bytes, then RFC 4648 base32 without padding (196 characters)::

    offset size field
         0    1 format version (1)
         1    5 key id: the first 5 bytes of the RFC 7638 JWK SHA-256 thumbprint of the signing key
         6   10 certificate id (80 random bits)
        16    1 kind code (see KIND_CODES)
        17    3 status list index (uint24)
        20    4 issued_at (uint32 seconds since the Unix epoch)
        24    2 expires_on (uint16 days since 1970-01-01)
        26   16 content hash
        42    8 name hash
        50    8 id hash
        58   64 ES256 signature (raw r || s) over bytes 0..57

Keys are P-256 private keys stored as PEM files in one directory shared by every BFF instance. A key is
valid from the UTC timestamp in its file name (``qr-20261121T101500123456Z.pem``; for other names, the
file's modification time) until the next key starts; the newest key signs and has no end. Every key
verifies, but only tokens whose ``issued_at`` lies in that key's period, so a retired key that leaks
cannot mint tokens that look new. To rotate: :meth:`TokenKeys.rotate` (or drop a new PEM in), then
reload every instance promptly: an instance still signing with the retired key issues tokens that fail.

The verification itself (:func:`verify_token`) needs only public keys and their periods, which the JWKS
publishes, so the offline verifier uses the very same decoder.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import secrets
import struct
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ALGORITHM = "ES256"
KEY_GLOB = "*.pem"
FORMAT_VERSION = 1
KID_BYTES = 5
CERTIFICATE_ID_BYTES = 10
SIGNED_LENGTH = 58
SIGNATURE_LENGTH = 64
TOKEN_BYTES = SIGNED_LENGTH + SIGNATURE_LENGTH  # 122
TOKEN_LENGTH = 196  # base32 characters of TOKEN_BYTES, without padding
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)

KIND_CODES: dict[str, int] = {
    "archive_certificate": 1,  # 存档证明
    "experience_certificate": 2,  # 经历证明
    "kinship_certificate": 3,  # 亲属关系证明
    "no_criminal_record": 4,  # 无犯罪记录证明
    "political_review": 5,  # 政审回复函
}
_KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}

# version, kid, certificate id, kind, status index (3 bytes, read separately), issued_at, expires_on, hashes
_LAYOUT = struct.Struct(">B5s10sB3sIH16s8s8s")
assert _LAYOUT.size == SIGNED_LENGTH

_B32_ALPHABET = re.compile(r"[A-Z2-7]+")
_EPOCH_DAY = dt.date(1970, 1, 1)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_STAMP_RE = re.compile(r"^qr-(\d{8}T\d{6})(\d{6})?Z\.pem$")
_STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"


class InvalidToken(Exception):
    """The token is not one we issued: malformed, unknown key, bad signature, or outside the key's period.

    ``detail`` says which, for logs only; show verifiers a single message whatever it is.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says. ``kid`` is filled by verification and ignored when issuing."""

    certificate_id: str  # base32 of 10 bytes, 16 uppercase characters
    kind: str  # a key of KIND_CODES
    status_index: int  # bit index in the status list
    issued_at: dt.datetime  # aware, whole seconds
    expires_on: dt.date
    content_hash: bytes  # 16 bytes
    name_hash: bytes  # 8 bytes, see holder_hash
    id_hash: bytes  # 8 bytes, see holder_hash
    kid: str = ""


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    """A public key and the period (Unix seconds) in which tokens it signed may have been issued."""

    kid: str
    public_key: ec.EllipticCurvePublicKey
    not_before: int
    not_after: int | None  # None: the current key, no end yet

    def covers(self, issued_at: int) -> bool:
        return issued_at >= self.not_before and (self.not_after is None or issued_at < self.not_after)


KeyLookup = Callable[[str], VerifyingKey | None]


# --- small encodings -------------------------------------------------------------------------------------


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _b32decode(text: str) -> bytes:
    """Decode unpadded base32 (uppercase, already checked against the alphabet)."""
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(text: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64u(numbers.x.to_bytes(32, "big")),
        "y": _b64u(numbers.y.to_bytes(32, "big")),
    }


def jwk_thumbprint(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace (32 raw bytes)."""
    canonical = json.dumps(_public_jwk(key), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).digest()


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """The textual kid: base32 of the thumbprint's first 5 bytes, 8 uppercase characters."""
    return _b32(jwk_thumbprint(key)[:KID_BYTES])


def new_certificate_id() -> str:
    """80 random bits as base32: 16 uppercase characters."""
    return _b32(secrets.token_bytes(CERTIFICATE_ID_BYTES))


def holder_hash(salt: bytes, field: Literal["name", "id"], value: str) -> bytes:
    """8 bytes binding a holder field to the token without revealing it.

    SHA-256(salt || field || 0x00 || normalised value)[:8]; the name is NFKC-normalised and stripped,
    the ID number stripped and uppercased. ``salt`` is the certificate's random 16 bytes, kept on the
    server only, so the hash cannot be brute-forced from the QR code.
    """
    if field == "name":
        normalised = unicodedata.normalize("NFKC", value).strip()
    elif field == "id":
        normalised = value.strip().upper()
    else:
        raise ValueError(f"unknown holder field {field!r}")
    if len(salt) < 16:
        raise ValueError("the holder hash salt must have at least 16 bytes")
    digest = hashlib.sha256(salt + field.encode("ascii") + b"\x00" + normalised.encode("utf-8")).digest()
    return digest[:8]


# --- the binary token ------------------------------------------------------------------------------------


def _utc_seconds(value: dt.datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    if value.microsecond:
        raise ValueError("issued_at must be whole seconds (use .replace(microsecond=0))")
    return int(value.timestamp())


def _signed_part(claims: TokenClaims, kid: str) -> bytes:
    """The 58 bytes that the signature covers; ValueError when a claim does not fit the format."""
    try:
        kid_raw = _b32decode(kid)
        cid_raw = _b32decode(claims.certificate_id)
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"kid and certificate_id must be base32: {exc}") from exc
    if len(kid_raw) != KID_BYTES or len(kid) != 8:
        raise ValueError("kid must be 8 base32 characters")
    if len(cid_raw) != CERTIFICATE_ID_BYTES or claims.certificate_id != _b32(cid_raw):
        raise ValueError("certificate_id must be 16 uppercase base32 characters")
    if claims.kind not in KIND_CODES:
        raise ValueError(f"unknown certificate kind {claims.kind!r}")
    if not 0 <= claims.status_index < 1 << 24:
        raise ValueError("status_index must fit in 24 bits")
    issued_at = _utc_seconds(claims.issued_at)
    if not 0 <= issued_at < 1 << 32:
        raise ValueError("issued_at out of range")
    if not isinstance(claims.expires_on, dt.date) or isinstance(claims.expires_on, dt.datetime):
        raise ValueError("expires_on must be a date")
    expires = (claims.expires_on - _EPOCH_DAY).days
    if not 0 <= expires < 1 << 16:
        raise ValueError("expires_on must lie between 1970 and 2149")
    for name, value, size in (
        ("content_hash", claims.content_hash, 16),
        ("name_hash", claims.name_hash, 8),
        ("id_hash", claims.id_hash, 8),
    ):
        if not isinstance(value, bytes) or len(value) != size:
            raise ValueError(f"{name} must be {size} bytes")
    return _LAYOUT.pack(
        FORMAT_VERSION,
        kid_raw,
        cid_raw,
        KIND_CODES[claims.kind],
        claims.status_index.to_bytes(3, "big"),
        issued_at,
        expires,
        claims.content_hash,
        claims.name_hash,
        claims.id_hash,
    )


def _sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    r, s = decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
    if s > _P256_ORDER // 2:  # low-s form: exactly one valid signature per message
        s = _P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _signature_ok(public_key: ec.EllipticCurvePublicKey, message: bytes, signature: bytes) -> bool:
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _P256_ORDER and 0 < s <= _P256_ORDER // 2):
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _token_bytes(token: object) -> bytes:
    """Base32 text to the 122 token bytes; InvalidToken for anything but a canonical token."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("wrong length or not ASCII")
    text = token.upper()
    if not _B32_ALPHABET.fullmatch(text):
        raise InvalidToken("characters outside base32")
    raw = _b32decode(text)
    if len(raw) != TOKEN_BYTES or _b32(raw) != text:  # no stray bits in the last character
        raise InvalidToken("not a canonical base32 token")
    if raw[0] != FORMAT_VERSION:
        raise InvalidToken(f"unknown token format version {raw[0]}")
    return raw


def verify_token(token: str, key_for: KeyLookup, *, now: dt.datetime | None = None) -> TokenClaims:
    """Decode and check a token, looking its key up by kid; the one decoder, online and offline.

    Raises :class:`InvalidToken` when the token is malformed, its key unknown, its signature bad, its
    ``issued_at`` more than 5 minutes ahead of ``now`` or outside the signing key's period.
    """
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    raw = _token_bytes(token)
    message, signature = raw[:SIGNED_LENGTH], raw[SIGNED_LENGTH:]
    _version, kid_raw, cid_raw, kind_code, index_raw, issued_at, expires, content, name, id_ = _LAYOUT.unpack(message)
    kid = _b32(kid_raw)
    key = key_for(kid)
    if key is None:
        raise InvalidToken(f"unknown key id {kid}")
    if not _signature_ok(key.public_key, message, signature):
        raise InvalidToken("bad signature")
    issued = dt.datetime.fromtimestamp(issued_at, dt.UTC)
    if issued > now + MAX_FUTURE_SKEW:
        raise InvalidToken("issued in the future")
    if not key.covers(issued_at):
        raise InvalidToken(f"issued_at outside the validity period of key {kid}")
    kind = _KINDS_BY_CODE.get(kind_code)
    if kind is None:
        raise InvalidToken(f"unknown kind code {kind_code}")
    return TokenClaims(
        certificate_id=_b32(cid_raw),
        kind=kind,
        status_index=int.from_bytes(index_raw, "big"),
        issued_at=issued,
        expires_on=_EPOCH_DAY + dt.timedelta(days=expires),
        content_hash=content,
        name_hash=name,
        id_hash=id_,
        kid=kid,
    )


# --- the JWKS, read back ---------------------------------------------------------------------------------


def _int_member(entry: Mapping[str, Any], name: str) -> int | None:
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


def verifying_keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, VerifyingKey]:
    """The usable keys of a JWKS, by kid: EC P-256 signing keys whose kid is their thumbprint.

    Entries that are not such keys (other types, a kid that does not match, no ``nbf``) are skipped, so a
    token or status list signed with them is refused as signed by an unknown key.
    """
    keys: dict[str, VerifyingKey] = {}
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        return keys
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        try:
            x, y = _b64u_decode(entry["x"]), _b64u_decode(entry["y"])
            if len(x) != 32 or len(y) != 32:
                continue
            public_key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
            not_before, not_after = _int_member(entry, "nbf"), _int_member(entry, "exp")
        except (KeyError, ValueError, binascii.Error):
            continue
        kid = key_id(public_key)
        if entry.get("kid") != kid or not_before is None:
            continue
        keys[kid] = VerifyingKey(kid=kid, public_key=public_key, not_before=not_before, not_after=not_after)
    return keys


# --- the private key set ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenKey:
    kid: str
    path: Path
    private_key: ec.EllipticCurvePrivateKey
    starts_at: dt.datetime  # aware UTC

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


def _key_start(path: Path) -> dt.datetime:
    match = _STAMP_RE.match(path.name)
    if match:
        return dt.datetime.strptime(f"{match[1]}{match[2] or '000000'}Z", _STAMP_FORMAT).replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _load_key(path: Path) -> TokenKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path.name}: QR token keys must be EC P-256 private keys")
    return TokenKey(kid=key_id(key.public_key()), path=path, private_key=key, starts_at=_key_start(path))


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
    stamp = dt.datetime.now(dt.UTC).strftime(_STAMP_FORMAT)
    path = directory / f"qr-{stamp}.pem"
    while path.exists():  # two rotations within a microsecond
        time.sleep(0.001)
        stamp = dt.datetime.now(dt.UTC).strftime(_STAMP_FORMAT)
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
    """The QR token key set: the newest key signs, every key verifies within its period. Immutable.

    Tokens it has verified are remembered (up to ``VERIFIED_CACHE_SIZE``, the oldest forgotten first): the same QR
    code scanned again skips the ECDSA check (~0.2 ms of CPU). That is exact, not a shortcut: the key set never
    changes, and the one check that depends on the time (issued no later than 5 minutes from now) is repeated.
    Only tokens that passed are kept, so a flood of made-up tokens cannot push out the real ones faster than it
    would anyway, and costs the full check each time.
    """

    VERIFIED_CACHE_SIZE = 20_000

    def __init__(self, keys: list[TokenKey]) -> None:
        if not keys:
            raise ValueError("at least one token key is needed")
        ordered = sorted(keys, key=lambda k: (k.starts_at, k.path.name))
        by_kid: dict[str, VerifyingKey] = {}
        for i, key in enumerate(ordered):
            if key.kid in by_kid:
                raise ValueError(f"{key.path.name}: key id {key.kid} is already used by another key")
            # Whole seconds, as in tokens: the period opens at the floor of its start and closes at the
            # ceiling of the next key's start, so a token signed just before a rotation still verifies.
            end = ordered[i + 1].starts_at.timestamp() if i + 1 < len(ordered) else None
            by_kid[key.kid] = VerifyingKey(
                kid=key.kid,
                public_key=key.public_key,
                not_before=math.floor(key.starts_at.timestamp()),
                not_after=None if end is None else math.ceil(end),
            )
        self._keys = ordered
        self._private: dict[str, TokenKey] = {k.kid: k for k in ordered}
        self._verifying = by_kid
        self._current = ordered[-1]
        self._verified: dict[str, TokenClaims] = {}

    @classmethod
    def load(cls, directory: Path) -> TokenKeys:
        """Load every ``*.pem`` in ``directory``; the one that starts last signs."""
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
        """Add a new signing key to ``directory``; older keys stay for verifying what they signed."""
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
        """Every kid, oldest first."""
        return tuple(k.kid for k in self._keys)

    def verifying_key(self, kid: str) -> VerifyingKey | None:
        return self._verifying.get(kid)

    def issue(self, claims: TokenClaims) -> str:
        """Sign ``claims`` (its ``kid`` is ignored) with the current key: 196 base32 characters.

        ValueError when a claim does not fit the format, or ``issued_at`` is before the current key starts
        (the token would not verify).
        """
        current = self._verifying[self._current.kid]
        message = _signed_part(claims, current.kid)
        if not current.covers(_utc_seconds(claims.issued_at)):
            raise ValueError("issued_at is before the current signing key starts")
        return _b32(message + _sign(self._current.private_key, message))

    def verify(self, token: str, *, now: dt.datetime | None = None) -> TokenClaims:
        """Return the claims of a token we signed, or raise :class:`InvalidToken`."""
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = verify_token(token, self._verifying.get, now=now)
            if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # another thread got there first
                    del self._verified[next(iter(self._verified))]
            self._verified[token] = claims
            return claims
        if now is None:
            now = dt.datetime.now(dt.UTC)
        elif now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        if claims.issued_at > now + MAX_FUTURE_SKEW:  # the only check that depends on the time: as verify_token
            raise InvalidToken("issued in the future")
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public keys with their periods as a JWK Set, for ``/.well-known/jwks.json``."""
        keys: list[dict[str, Any]] = []
        for key in self._keys:
            period = self._verifying[key.kid]
            entry: dict[str, Any] = {
                **_public_jwk(key.public_key),
                "kid": key.kid,
                "alg": ALGORITHM,
                "use": "sig",
                "nbf": period.not_before,
            }
            if period.not_after is not None:
                entry["exp"] = period.not_after
            entry["status"] = "current" if key is self._current else "retired"
            keys.append(entry)
        return {"keys": keys}

    def sign_jws(self, payload: Mapping[str, Any], typ: str) -> str:
        """A compact JWS of ``payload`` signed with the current key (header: alg ES256, kid, typ)."""
        return jwt.encode(
            dict(payload),
            self._current.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self._current.kid, "typ": typ},
        )
