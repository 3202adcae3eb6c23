"""The revocation status list of e-certificates, in the shape of W3C Bitstring Status List v1.0.

Every token carries a ``status_index``; the bit at that index is set when the certificate is revoked or
superseded (the online page says which). The list is published at ``/status/1`` as a compact JWS
(``typ: vc+jwt``) signed with the current QR token key, so a verifier holding ``/.well-known/jwks.json``
can check it with no server. Index 0 is the most significant bit of the first byte.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from bff.domain.verification.tokens import ALGORITHM, MAX_FUTURE_SKEW, InvalidToken, TokenKeys, verifying_keys_from_jwks

STATUS_LIST_SIZE = 131072  # bits (16 KiB), the specification's minimum
STATUS_LIST_ID = "1"
JWS_TYPE = "vc+jwt"
MAX_BITSTRING_BYTES = (1 << 24) // 8  # every index a token can hold (uint24); bounds decompression
_B64U = re.compile(r"[A-Za-z0-9_-]*")


def encode_bitstring(indices: Iterable[int], size: int = STATUS_LIST_SIZE) -> str:
    """``u`` (multibase base64url) + base64url without padding of the GZIP-compressed bitstring."""
    if size <= 0 or size % 8:
        raise ValueError("the status list size must be a positive multiple of 8")
    bits = bytearray(size // 8)
    for index in indices:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} outside the list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)  # mtime 0: the same list gives the same bytes
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_bitstring(encoded: str) -> bytes:
    """The raw bitstring of an ``encodedList``; ValueError when it is not one."""
    if not isinstance(encoded, str) or not encoded.startswith("u") or not _B64U.fullmatch(encoded[1:]):
        raise ValueError("encodedList must be 'u' followed by base64url")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error as exc:
        raise ValueError(f"encodedList is not base64url: {exc}") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP container only
    try:
        bits = inflater.decompress(compressed, MAX_BITSTRING_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"encodedList is not GZIP: {exc}") from exc
    if len(bits) > MAX_BITSTRING_BYTES:
        raise ValueError("the status list is too large")
    if not inflater.eof or inflater.unused_data:
        raise ValueError("encodedList is a truncated or trailing-garbage GZIP stream")
    if not bits:
        raise ValueError("the status list is empty")
    return bits


def bit_is_set(bitstring: bytes, index: int) -> bool:
    """Whether the bit at ``index`` is set; IndexError when the list is shorter."""
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError(f"status index {index} outside the list of {len(bitstring) * 8} bits")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("status list times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_credential(
    base_url: str, list_id: str, encoded: str, valid_from: dt.datetime, valid_until: dt.datetime
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential for ``{base_url}/status/{list_id}``."""
    base_url = base_url.rstrip("/")
    list_url = f"{base_url}/status/{list_id}"
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": base_url,
        "validFrom": _timestamp(valid_from),
        "validUntil": _timestamp(valid_until),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }


def signed_status_list(
    keys: TokenKeys,
    base_url: str,
    revoked: Iterable[int],
    now: dt.datetime,
    ttl: dt.timedelta = dt.timedelta(hours=1),
) -> str:
    """The status list credential as a compact JWS (``typ: vc+jwt``, claims ``iat``/``exp`` too).

    ``revoked`` are the status indices of revoked or superseded certificates.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if ttl <= dt.timedelta(0):
        raise ValueError("ttl must be positive")
    issued = now.astimezone(dt.UTC).replace(microsecond=0)
    until = issued + ttl
    credential = status_list_credential(base_url, STATUS_LIST_ID, encode_bitstring(revoked), issued, until)
    return keys.sign_jws({**credential, "iat": int(issued.timestamp()), "exp": int(until.timestamp())}, JWS_TYPE)


def _parse_time(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InvalidToken(f"{name} missing")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidToken(f"{name} is not a date-time") from exc
    if parsed.tzinfo is None:
        raise InvalidToken(f"{name} has no time zone")
    return parsed


def _int_claim(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken(f"claim {name} missing or not an integer")
    return value


def read_status_list(jws: str, jwks: Mapping[str, Any], *, now: dt.datetime) -> bytes:
    """Verify a status list JWS against the JWKS alone and return its bitstring.

    Raises :class:`InvalidToken` when it is malformed, signed by a key not in the JWKS or outside that
    key's period, badly signed, expired (``exp`` or ``validUntil``), or not a revocation status list.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(jws, str) or not jws:
        raise InvalidToken("empty status list")
    try:
        header = jwt.get_unverified_header(jws)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed status list: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"status list algorithm {header.get('alg')!r} not accepted")
    if header.get("typ") != JWS_TYPE:
        raise InvalidToken(f"status list typ {header.get('typ')!r} not accepted")
    kid = header.get("kid")
    key = verifying_keys_from_jwks(jwks).get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("status list signed by an unknown key")
    try:
        payload = jwt.decode(
            jws,
            key.public_key,
            algorithms=[ALGORITHM],
            # Times are checked below against the caller's ``now``, which PyJWT cannot take.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"status list rejected: {exc}") from exc
    issued_at, expires = _int_claim(payload, "iat"), _int_claim(payload, "exp")
    stamp = int(now.timestamp())
    if issued_at > stamp + MAX_FUTURE_SKEW.total_seconds():
        raise InvalidToken("status list issued in the future")
    if not key.covers(issued_at):
        raise InvalidToken(f"status list iat outside the validity period of key {kid}")
    if expires <= stamp or _parse_time(payload.get("validUntil"), "validUntil") <= now:
        raise InvalidToken("status list expired")
    if _parse_time(payload.get("validFrom"), "validFrom") > now + MAX_FUTURE_SKEW:
        raise InvalidToken("status list not yet valid")
    types = payload.get("type")
    subject = payload.get("credentialSubject")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types or not isinstance(subject, dict):
        raise InvalidToken("not a BitstringStatusListCredential")
    if subject.get("type") != "BitstringStatusList" or subject.get("statusPurpose") != "revocation":
        raise InvalidToken("not a revocation status list")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise InvalidToken("status list has no encodedList")
    try:
        return decode_bitstring(encoded)
    except ValueError as exc:
        raise InvalidToken(f"status list: {exc}") from exc
