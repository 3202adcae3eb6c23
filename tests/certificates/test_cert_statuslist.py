"""The revocation status list: W3C Bitstring Status List bits, GZIP + base64url, a signed vc+jwt."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bff.domain.verification.statuslist import (
    MAX_BITSTRING_BYTES,
    STATUS_LIST_SIZE,
    bit_is_set,
    decode_bitstring,
    encode_bitstring,
    read_status_list,
    signed_status_list,
    status_list_credential,
)
from bff.domain.verification.tokens import InvalidToken, TokenKeys

BASE = "https://dangan.example.gov.cn"
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 10, 15, 30, 250000, tzinfo=UTC)
EDGES = [0, 7, 8, STATUS_LIST_SIZE - 1]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_key(directory: Path, start: datetime) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (directory / f"qr-{start:%Y%m%dT%H%M%S%f}Z.pem").write_bytes(pem)


@pytest.fixture
def keys(tmp_path: Path) -> TokenKeys:
    write_key(tmp_path / "keys", START)
    return TokenKeys.load(tmp_path / "keys")


@pytest.fixture
def jwks(keys: TokenKeys) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(keys.jwks()))
    return loaded


def resign(keys: TokenKeys, jws: str, **changes: Any) -> str:
    """The same list with some payload members changed, properly signed again."""
    payload = jwt.decode(jws, options={"verify_signature": False})
    payload.update(changes)
    return keys.sign_jws(payload, "vc+jwt")


# --- the bitstring ---------------------------------------------------------------------------------------


def test_bits_at_the_edges() -> None:
    bits = decode_bitstring(encode_bitstring(EDGES))
    assert len(bits) == STATUS_LIST_SIZE // 8 == 16384
    assert bits[0] == 0b1000_0001  # index 0 is the most significant bit of the first byte, 7 the least
    assert bits[1] == 0b1000_0000
    assert bits[-1] == 0b0000_0001
    assert sum(bin(b).count("1") for b in bits) == 4
    for index in EDGES:
        assert bit_is_set(bits, index)
    for index in (1, 6, 9, 15, 16, STATUS_LIST_SIZE - 2):
        assert not bit_is_set(bits, index)


def test_bits_are_cleared_when_left_out() -> None:
    bits = decode_bitstring(encode_bitstring([0, 8, STATUS_LIST_SIZE - 1]))
    assert not bit_is_set(bits, 7)
    assert bits[0] == 0b1000_0000
    empty = decode_bitstring(encode_bitstring([]))
    assert empty == bytes(16384)
    assert not any(bit_is_set(empty, i) for i in EDGES)


def test_gzip_base64url_round_trip() -> None:
    encoded = encode_bitstring([3, 1000, 99999])
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded and "/" not in encoded
    raw = gzip.decompress(b64u_decode(encoded[1:]))  # any GZIP reader can read it
    assert raw == decode_bitstring(encoded)
    assert raw[3 // 8] == 0x80 >> 3
    # Deterministic: the same list gives the same text (no timestamp in the GZIP header).
    assert encode_bitstring([99999, 3, 1000, 3]) == encoded
    # A list compressed by someone else (GZIP with a timestamp and another level) reads the same.
    assert decode_bitstring("u" + b64u(gzip.compress(raw, compresslevel=1, mtime=1234567))) == raw


def test_out_of_range_indices() -> None:
    with pytest.raises(ValueError):
        encode_bitstring([STATUS_LIST_SIZE])
    with pytest.raises(ValueError):
        encode_bitstring([-1])
    with pytest.raises(ValueError):
        encode_bitstring([], size=12)
    bits = decode_bitstring(encode_bitstring([]))
    with pytest.raises(IndexError):
        bit_is_set(bits, STATUS_LIST_SIZE)
    with pytest.raises(IndexError):
        bit_is_set(bits, -1)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "u",
        b64u(gzip.compress(bytes(16))),  # no multibase prefix
        "z" + b64u(gzip.compress(bytes(16))),
        "u" + base64.b64encode(gzip.compress(b"\xff" * 64)).decode(),  # standard base64 with padding
        "u" + b64u(bytes(16)),  # not GZIP
        "u" + b64u(gzip.compress(bytes(16))[:-3]),  # truncated
        "u" + b64u(gzip.compress(bytes(16)) + b"junk"),  # trailing data
        "u" + b64u(gzip.compress(b"")),  # empty
    ],
)
def test_bad_encoded_lists_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        decode_bitstring(encoded)


def test_decompression_is_bounded() -> None:
    # 2 MiB holds every index a token can carry (uint24); one byte more is refused, and a GZIP bomb
    # (a few KiB that inflate to gigabytes) is never inflated past that bound.
    largest = bytes(MAX_BITSTRING_BYTES - 1) + b"\x01"
    assert bit_is_set(decode_bitstring("u" + b64u(gzip.compress(largest))), (1 << 24) - 1)
    with pytest.raises(ValueError, match="too large"):
        decode_bitstring("u" + b64u(gzip.compress(bytes(MAX_BITSTRING_BYTES + 1))))
    with pytest.raises(ValueError, match="too large"):
        decode_bitstring("u" + b64u(gzip.compress(bytes(64 * 1024 * 1024))))


# --- the credential --------------------------------------------------------------------------------------


def test_credential_shape() -> None:
    encoded = encode_bitstring([5])
    credential = status_list_credential(BASE + "/", "1", encoded, NOW, NOW + timedelta(hours=1))
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"{BASE}/status/1",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": BASE,
        "validFrom": "2026-11-21T10:15:30Z",
        "validUntil": "2026-11-21T11:15:30Z",
        "credentialSubject": {
            "id": f"{BASE}/status/1#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    beijing = NOW.astimezone(datetime(2026, 1, 1).astimezone().tzinfo)
    assert status_list_credential(BASE, "1", encoded, beijing, NOW)["validFrom"] == "2026-11-21T10:15:30Z"
    with pytest.raises(ValueError):
        status_list_credential(BASE, "1", encoded, NOW.replace(tzinfo=None), NOW)


def test_signed_list_round_trip(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, EDGES, NOW)
    assert jwt.get_unverified_header(jws) == {"alg": "ES256", "kid": keys.current_kid, "typ": "vc+jwt"}
    payload = jwt.decode(jws, options={"verify_signature": False})
    issued = int(NOW.replace(microsecond=0).timestamp())
    assert (payload["iat"], payload["exp"]) == (issued, issued + 3600)
    assert (payload["validFrom"], payload["validUntil"]) == ("2026-11-21T10:15:30Z", "2026-11-21T11:15:30Z")
    assert payload["id"] == f"{BASE}/status/1"
    assert payload["credentialSubject"]["statusPurpose"] == "revocation"
    bits = read_status_list(jws, jwks, now=NOW + timedelta(minutes=59))
    assert [i for i in (0, 1, 7, 8, 9, STATUS_LIST_SIZE - 1) if bit_is_set(bits, i)] == EDGES
    # An ordinary JOSE library with the published key agrees.
    public = jwt.PyJWKSet.from_dict(jwks)[keys.current_kid].key
    jwt.decode(jws, public, algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False})


def test_ttl(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, [], NOW, ttl=timedelta(minutes=10))
    read_status_list(jws, jwks, now=NOW + timedelta(minutes=9))
    with pytest.raises(InvalidToken, match="expired"):
        read_status_list(jws, jwks, now=NOW + timedelta(minutes=11))
    with pytest.raises(ValueError):
        signed_status_list(keys, BASE, [], NOW, ttl=timedelta(0))


def test_an_expired_list_is_refused(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, [1], NOW)
    with pytest.raises(InvalidToken, match="expired"):
        read_status_list(jws, jwks, now=NOW + timedelta(hours=1))
    # validUntil is checked on its own, not only the JWT exp ...
    stale = resign(keys, jws, validUntil="2026-11-21T10:20:00Z")
    read_status_list(stale, jwks, now=NOW + timedelta(minutes=4))
    with pytest.raises(InvalidToken, match="expired"):
        read_status_list(stale, jwks, now=NOW + timedelta(minutes=5))
    # ... and exp on its own, not only validUntil.
    short = resign(keys, jws, exp=int(NOW.timestamp()) + 60)
    with pytest.raises(InvalidToken, match="expired"):
        read_status_list(short, jwks, now=NOW + timedelta(minutes=2))


def test_a_list_from_the_future_is_refused(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, [1], NOW + timedelta(minutes=10))
    with pytest.raises(InvalidToken, match="future"):
        read_status_list(jws, jwks, now=NOW)
    read_status_list(jws, jwks, now=NOW + timedelta(minutes=6))


def test_a_tampered_list_is_refused(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, [42], NOW)
    header, payload, signature = jws.split(".")
    claims = json.loads(b64u_decode(payload))
    claims["credentialSubject"]["encodedList"] = encode_bitstring([])  # un-revoke certificate 42
    forged = f"{header}.{b64u(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        read_status_list(forged, jwks, now=NOW)
    sig = bytearray(b64u_decode(signature))
    sig[10] ^= 1
    with pytest.raises(InvalidToken):
        read_status_list(f"{header}.{payload}.{b64u(bytes(sig))}", jwks, now=NOW)
    assert bit_is_set(read_status_list(jws, jwks, now=NOW), 42)


def test_lists_signed_by_other_keys_are_refused(keys: TokenKeys, jwks: dict[str, Any], tmp_path: Path) -> None:
    write_key(tmp_path / "other", START)
    other = TokenKeys.load(tmp_path / "other")
    with pytest.raises(InvalidToken, match="unknown key"):
        read_status_list(signed_status_list(other, BASE, [], NOW), jwks, now=NOW)
    # Another key using our kid in its header: the signature does not verify.
    theirs = jwt.decode(signed_status_list(other, BASE, [], NOW), options={"verify_signature": False})
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(theirs, stranger, algorithm="ES256", headers={"kid": keys.current_kid, "typ": "vc+jwt"})
    with pytest.raises(InvalidToken):
        read_status_list(forged, jwks, now=NOW)


def test_wrong_headers_are_refused(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    payload = jwt.decode(signed_status_list(keys, BASE, [], NOW), options={"verify_signature": False})
    for typ in ("JWT", None):
        with pytest.raises(InvalidToken, match="typ"):
            read_status_list(keys.sign_jws(payload, typ), jwks, now=NOW)  # type: ignore[arg-type]
    header = b64u(json.dumps({"alg": "none", "kid": keys.current_kid, "typ": "vc+jwt"}).encode())
    with pytest.raises(InvalidToken, match="algorithm"):
        read_status_list(f"{header}.{b64u(json.dumps(payload).encode())}.", jwks, now=NOW)
    for garbage in ("", "a.b.c", "x" * 40):
        with pytest.raises(InvalidToken):
            read_status_list(garbage, jwks, now=NOW)


def test_other_credentials_are_refused(keys: TokenKeys, jwks: dict[str, Any]) -> None:
    jws = signed_status_list(keys, BASE, [], NOW)
    payload = jwt.decode(jws, options={"verify_signature": False})
    subject = payload["credentialSubject"]
    for changes in (
        {"credentialSubject": {**subject, "statusPurpose": "suspension"}},
        {"credentialSubject": {**subject, "type": "StatusList2021"}},
        {"credentialSubject": {**subject, "encodedList": "not a list"}},
        {"credentialSubject": {**subject, "encodedList": None}},
        {"type": ["VerifiableCredential"]},
        {"iat": None},
        {"exp": "tomorrow"},
        {"validUntil": "2026-11-21T12:00:00"},  # no time zone
        {"validFrom": "2026-11-22T00:00:00Z"},  # not yet valid
    ):
        with pytest.raises(InvalidToken):
            read_status_list(resign(keys, jws, **changes), jwks, now=NOW)
    read_status_list(resign(keys, jws), jwks, now=NOW)  # re-signing alone changes nothing


def test_a_retired_key_cannot_sign_a_fresh_list(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    write_key(directory, START)
    old = TokenKeys.load(directory)
    write_key(directory, datetime(2026, 6, 1, tzinfo=UTC))
    rotated = TokenKeys.load(directory)
    jwks = json.loads(json.dumps(rotated.jwks()))
    read_status_list(signed_status_list(rotated, BASE, [], NOW), jwks, now=NOW)
    # The old key, still held by someone, signs a list now: its period ended on 1 June.
    with pytest.raises(InvalidToken, match="validity period"):
        read_status_list(signed_status_list(old, BASE, [], NOW), jwks, now=NOW)
    may = datetime(2026, 5, 31, 23, tzinfo=UTC)
    read_status_list(signed_status_list(old, BASE, [], may), jwks, now=may)
