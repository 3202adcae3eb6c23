"""QR tokens: the compact 122-byte ES256 format, key ids, key periods, rotation and one error for every bad token."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import stat
import struct
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import qrcode
import qrcode.constants
import qrcode.util
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from bff.domain.verification.tokens import (
    KIND_CODES,
    InvalidToken,
    TokenClaims,
    TokenKeys,
    holder_hash,
    new_certificate_id,
)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
BASE_URL = "HTTPS://DANGAN.EXAMPLE.GOV.CN/V/"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_claims(**changes: object) -> TokenClaims:
    claims = TokenClaims(
        certificate_id="VBUMMB7UQYICZDHX",
        kind="kinship_certificate",
        status_index=70000,
        issued_at=utc_now(),
        expires_on=date(2031, 6, 30),
        content_hash=bytes(range(16)),
        name_hash=bytes(range(100, 108)),
        id_hash=bytes(range(200, 208)),
    )
    return dataclasses.replace(claims, **changes)  # type: ignore[arg-type]


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_public_key(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    x, y = (int.from_bytes(b64u_decode(jwk[c]), "big") for c in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def signed_token(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """A token built here, independently of the module: message + raw low-s r||s."""
    r, s = decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
    s = min(s, P256_ORDER - s)
    return b32(message + r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    encoding, fmt = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, fmt, serialization.NoEncryption())


@pytest.fixture
def keys(tmp_path: Path) -> TokenKeys:
    return TokenKeys.load_or_create(tmp_path / "keys")


# --- format -----------------------------------------------------------------------------------------------


def test_round_trip(keys: TokenKeys) -> None:
    claims = make_claims()
    token = keys.issue(claims)
    assert len(token) == 196 and token.isupper() and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert keys.verify(token) == dataclasses.replace(claims, kid=keys.current_kid)
    assert keys.issue(dataclasses.replace(claims, kid="IGNORED!")) != ""  # the kid given is not used


def test_layout_is_exactly_the_documented_one(keys: TokenKeys) -> None:
    claims = make_claims(kind="political_review", status_index=0xABCDE, expires_on=date(2030, 1, 2))
    raw = unb32(keys.issue(claims))
    assert len(raw) == 122
    version, kid, cid, kind, index, issued, expires, content, name, id_ = struct.unpack(">B5s10sB3sIH16s8s8s", raw[:58])
    assert version == 1
    assert b32(kid) == keys.current_kid
    assert b32(cid) == claims.certificate_id
    assert kind == 5 == KIND_CODES["political_review"]
    assert int.from_bytes(index, "big") == 0xABCDE
    assert issued == int(claims.issued_at.timestamp())
    assert expires == (date(2030, 1, 2) - date(1970, 1, 1)).days
    assert (content, name, id_) == (claims.content_hash, claims.name_hash, claims.id_hash)
    # The signature is plain ES256 (SHA-256, P-256, raw r||s) over the first 58 bytes, by the JWKS key.
    (jwk,) = keys.jwks()["keys"]
    r, s = int.from_bytes(raw[58:90], "big"), int.from_bytes(raw[90:], "big")
    jwk_public_key(jwk).verify(encode_dss_signature(r, s), raw[:58], ec.ECDSA(hashes.SHA256()))


def test_kind_codes() -> None:
    assert KIND_CODES == {
        "archive_certificate": 1,
        "experience_certificate": 2,
        "kinship_certificate": 3,
        "no_criminal_record": 4,
        "political_review": 5,
    }


@pytest.mark.parametrize("kind", list(KIND_CODES))
def test_every_kind_round_trips(keys: TokenKeys, kind: str) -> None:
    assert keys.verify(keys.issue(make_claims(kind=kind))).kind == kind


def test_kid_is_the_rfc7638_thumbprint_prefix(keys: TokenKeys) -> None:
    (jwk,) = keys.jwks()["keys"]
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    expected = base64.b32encode(hashlib.sha256(canonical.encode()).digest()[:5]).decode()
    assert len(expected) == 8 and "=" not in expected
    assert jwk["kid"] == expected == keys.current_kid


def test_lowercase_is_accepted(keys: TokenKeys) -> None:
    token = keys.issue(make_claims())
    assert keys.verify(token.lower()) == keys.verify(token)
    mixed = "".join(c.lower() if i % 2 else c for i, c in enumerate(token))
    assert keys.verify(mixed).certificate_id == "VBUMMB7UQYICZDHX"


def test_unicode_lookalikes_are_refused(keys: TokenKeys) -> None:
    # "ſ".upper() == "S" and "ı".upper() == "I": uppercasing before checking would let them through.
    for status_index in range(1000):
        token = keys.issue(make_claims(status_index=status_index))
        if "S" in token:
            break
    assert "S" in token
    keys.verify(token.replace("S", "s", 1))
    with pytest.raises(InvalidToken):
        keys.verify(token.replace("S", "ſ", 1))


def test_every_single_bit_flip_is_refused(keys: TokenKeys) -> None:
    raw = unb32(keys.issue(make_claims()))
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(InvalidToken):
            keys.verify(b32(bytes(flipped)))


def test_non_canonical_last_character_is_refused(keys: TokenKeys) -> None:
    # 122 bytes fill 196 characters with 4 spare bits in the last one; setting them must not pass.
    token = keys.issue(make_claims())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    last = alphabet.index(token[-1])
    assert last & 0b01111 == 0
    for spare in range(1, 16):
        variant = token[:-1] + alphabet[last | spare]
        assert unb32(variant) == unb32(token)  # the same bytes under a lenient decoder
        with pytest.raises(InvalidToken, match="canonical"):
            keys.verify(variant)


def test_the_high_s_twin_signature_is_refused(keys: TokenKeys) -> None:
    raw = unb32(keys.issue(make_claims()))
    s = int.from_bytes(raw[90:], "big")
    twin = raw[:90] + (P256_ORDER - s).to_bytes(32, "big")
    (jwk,) = keys.jwks()["keys"]
    r = int.from_bytes(raw[58:90], "big")
    jwk_public_key(jwk).verify(encode_dss_signature(r, P256_ORDER - s), raw[:58], ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidToken, match="signature"):
        keys.verify(b32(twin))


def test_token_from_another_key_set_is_refused(keys: TokenKeys, tmp_path: Path) -> None:
    other = TokenKeys.load_or_create(tmp_path / "other")
    with pytest.raises(InvalidToken, match="unknown key"):
        keys.verify(other.issue(make_claims()))


def test_unknown_kid_is_refused(keys: TokenKeys) -> None:
    raw = bytearray(unb32(keys.issue(make_claims())))
    raw[1:6] = b"\x00\x01\x02\x03\x04"
    with pytest.raises(InvalidToken, match="unknown key id AAAQEAYE"):
        keys.verify(b32(bytes(raw)))


def test_another_key_claiming_our_kid_is_refused(keys: TokenKeys) -> None:
    message = unb32(keys.issue(make_claims()))[:58]  # our kid, our layout
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidToken, match="bad signature"):
        keys.verify(signed_token(stranger, message))


def test_unknown_format_version_is_refused(keys: TokenKeys) -> None:
    message = bytearray(unb32(keys.issue(make_claims()))[:58])
    message[0] = 2
    # Signed by anyone: the version is refused before any key is looked up.
    with pytest.raises(InvalidToken, match="version"):
        keys.verify(signed_token(ec.generate_private_key(ec.SECP256R1()), bytes(message)))


def test_unknown_kind_code_is_refused_even_when_signed(tmp_path: Path) -> None:
    directory = tmp_path / "k"
    directory.mkdir()
    private = ec.generate_private_key(ec.SECP256R1())
    (directory / "qr-20260101T000000000000Z.pem").write_bytes(pem(private))
    keys = TokenKeys.load(directory)
    message = bytearray(unb32(keys.issue(make_claims()))[:58])
    message[16] = 9
    token = signed_token(private, bytes(message))
    with pytest.raises(InvalidToken, match="kind"):
        keys.verify(token)
    message[16] = 4
    assert keys.verify(signed_token(private, bytes(message))).kind == "no_criminal_record"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "A" * 195,
        "A" * 197,
        "A" * 196,  # right shape, version 0
        "0" * 196,
        "1" + "A" * 195,
        "=" * 196,
        "A" * 192 + "====",
        "\u00e9" * 196,
        "A" * 5000,
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    ],
)
def test_malformed_tokens_are_refused(keys: TokenKeys, token: str) -> None:
    with pytest.raises(InvalidToken):
        keys.verify(token)


def test_wrong_characters_in_a_real_token_are_refused(keys: TokenKeys) -> None:
    token = keys.issue(make_claims())
    for bad in "0189=-_ /+":
        with pytest.raises(InvalidToken):
            keys.verify(bad + token[1:])
    with pytest.raises(InvalidToken):
        keys.verify(token + "=" * 4)
    with pytest.raises(InvalidToken):
        keys.verify(" " + token[:-1])


def test_issued_at_in_the_future(keys: TokenKeys) -> None:
    now = utc_now()
    soon = keys.issue(make_claims(issued_at=now + timedelta(minutes=4)))
    assert keys.verify(soon, now=now).issued_at == now + timedelta(minutes=4)
    later = keys.issue(make_claims(issued_at=now + timedelta(minutes=6)))
    with pytest.raises(InvalidToken, match="future"):
        keys.verify(later, now=now)
    assert keys.verify(later, now=now + timedelta(minutes=2)).issued_at == now + timedelta(minutes=6)


def test_issue_refuses_claims_that_do_not_fit(keys: TokenKeys) -> None:
    now = utc_now()
    for changes in (
        {"issued_at": now.replace(tzinfo=None)},
        {"issued_at": now.replace(microsecond=5)},
        {"issued_at": now - timedelta(days=1)},  # before the only key starts: the token would never verify
        {"kind": "diploma"},
        {"status_index": 1 << 24},
        {"status_index": -1},
        {"certificate_id": "vbummb7uqyiczdhx"},
        {"certificate_id": "VBUMMB7UQYICZDH"},
        {"certificate_id": "VBUMMB7UQYICZDHXAA"},
        {"content_hash": b"x" * 15},
        {"name_hash": b"x" * 9},
        {"id_hash": "x" * 8},
        {"expires_on": date(1969, 12, 31)},
        {"expires_on": date(2150, 1, 1)},
        {"expires_on": datetime(2030, 1, 1, tzinfo=UTC)},
    ):
        with pytest.raises(ValueError):
            keys.issue(make_claims(**changes))


def test_issued_at_keeps_its_instant_across_time_zones(keys: TokenKeys) -> None:
    beijing = utc_now().astimezone(datetime.now().astimezone().tzinfo)
    claims = keys.verify(keys.issue(make_claims(issued_at=beijing)))
    assert claims.issued_at == beijing and claims.issued_at.tzinfo == UTC


# --- helpers ----------------------------------------------------------------------------------------------


def test_new_certificate_id() -> None:
    ids = {new_certificate_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert re.fullmatch(r"[A-Z2-7]{16}", cid)
        assert len(unb32(cid)) == 10 and b32(unb32(cid)) == cid


def test_holder_hash() -> None:
    salt = bytes(range(16))
    expected = hashlib.sha256(salt + b"name\x00" + "张三".encode()).digest()[:8]
    assert holder_hash(salt, "name", "张三") == expected
    assert holder_hash(salt, "name", "  张三 ") == expected
    assert holder_hash(salt, "name", "Ｚｈａｎｇ　Ｓａｎ") == holder_hash(salt, "name", "Zhang San")  # NFKC
    assert unicodedata.normalize("NFKC", "Ｚｈａｎｇ") == "Zhang"
    id_expected = hashlib.sha256(salt + b"id\x00" + b"11010519491231002X").digest()[:8]
    assert holder_hash(salt, "id", " 11010519491231002x ") == id_expected
    assert holder_hash(salt, "name", "11010519491231002X") != id_expected  # the field is bound
    assert holder_hash(bytes(16), "id", "11010519491231002X") != id_expected  # so is the salt
    assert holder_hash(salt, "name", "zhang san") != holder_hash(salt, "name", "Zhang San")  # names keep case
    with pytest.raises(ValueError):
        holder_hash(salt, "phone", "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        holder_hash(b"short", "name", "张三")


def test_hashes_travel_in_the_token(keys: TokenKeys) -> None:
    salt = os.urandom(16)
    claims = make_claims(name_hash=holder_hash(salt, "name", "李四"), id_hash=holder_hash(salt, "id", "110101x"))
    verified = keys.verify(keys.issue(claims))
    assert verified.name_hash == holder_hash(salt, "name", "李四 ")
    assert verified.id_hash == holder_hash(salt, "id", "110101X")


# --- QR code ---------------------------------------------------------------------------------------------


def test_the_verification_url_fits_a_version_10_qr_in_alphanumeric_mode(keys: TokenKeys) -> None:
    url = BASE_URL + keys.issue(make_claims(status_index=(1 << 24) - 1))
    assert len(url) == 228
    assert set(url) <= QR_ALPHANUMERIC
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    assert qr.version <= 10
    assert [chunk.mode for chunk in qr.data_list] == [qrcode.util.MODE_ALPHA_NUM]
    # The same URL in lowercase would need byte mode and a bigger symbol.
    lower = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    lower.add_data(url.lower())
    lower.make(fit=True)
    assert lower.version > qr.version


# --- keys, periods and rotation ---------------------------------------------------------------------------


def test_jwks_has_public_keys_only(keys: TokenKeys) -> None:
    jwks = keys.jwks()
    (entry,) = jwks["keys"]
    assert set(entry) == {"kty", "crv", "x", "y", "kid", "alg", "use", "nbf", "status"}
    assert (entry["kty"], entry["crv"], entry["alg"], entry["use"], entry["status"]) == (
        "EC",
        "P-256",
        "ES256",
        "sig",
        "current",
    )
    assert isinstance(entry["nbf"], int) and "exp" not in entry
    assert '"d"' not in json.dumps(jwks)


def test_rotation_keeps_old_tokens_valid(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    first = TokenKeys.load_or_create(directory)
    old_claims = make_claims()
    old_token = first.issue(old_claims)
    rotated = TokenKeys.rotate(directory)
    assert rotated.current_kid != first.current_kid
    assert rotated.kids == (first.current_kid, rotated.current_kid)
    assert rotated.verify(old_token) == dataclasses.replace(old_claims, kid=first.current_kid)
    new_token = rotated.issue(make_claims())
    assert b32(unb32(new_token)[1:6]) == rotated.current_kid == rotated.verify(new_token).kid
    with pytest.raises(InvalidToken, match="unknown key"):
        first.verify(new_token)  # an instance not yet reloaded does not know the new key
    old, new = rotated.jwks()["keys"]
    assert (old["kid"], old["status"], new["kid"], new["status"]) == (
        first.current_kid,
        "retired",
        rotated.current_kid,
        "current",
    )
    assert old["nbf"] <= old["exp"] and "exp" not in new
    assert old["exp"] - 1 <= new["nbf"] <= old["exp"]  # the next key starts where the old one ends
    reloaded = TokenKeys.load_or_create(directory)  # no new key when some exist
    assert reloaded.kids == rotated.kids
    assert reloaded.jwks() == rotated.jwks()


def test_a_retired_key_cannot_sign_after_its_period(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    first = TokenKeys.load_or_create(directory)
    rotated = TokenKeys.rotate(directory)
    later = utc_now() + timedelta(minutes=2)
    # ``first`` still believes its key is current (as a leaked key or an instance not reloaded would).
    forged = first.issue(make_claims(issued_at=later))
    assert first.verify(forged, now=later).kid == first.current_kid
    with pytest.raises(InvalidToken, match="validity period"):
        rotated.verify(forged, now=later)


def test_periods_come_from_file_names_and_else_modification_times(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    a, b, c = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    (directory / "qr-20270301T080000500000Z.pem").write_bytes(pem(b))
    (directory / "qr-20280101T000000000000Z.pem").write_bytes(pem(c))
    legacy = directory / "zz-legacy.pem"  # sorts last by name, but started first
    legacy.write_bytes(pem(a))
    mtime = datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()
    os.utime(legacy, (mtime, mtime))
    keys = TokenKeys.load(directory)
    first, second, third = keys.jwks()["keys"]
    starts = [
        int(mtime),
        int(datetime(2027, 3, 1, 8, tzinfo=UTC).timestamp()),
        int(datetime(2028, 1, 1, tzinfo=UTC).timestamp()),
    ]
    assert (first["nbf"], first["exp"]) == (starts[0], starts[1] + 1)  # 08:00:00.5 rounds up for the end
    assert (second["nbf"], second["exp"]) == (starts[1], starts[2])
    assert third["nbf"] == starts[2] and "exp" not in third
    assert [k["status"] for k in (first, second, third)] == ["retired", "retired", "current"]
    assert keys.current_kid == third["kid"]
    in_first = datetime(2026, 6, 1, tzinfo=UTC)
    in_second = datetime(2027, 3, 1, 8, tzinfo=UTC)
    now = datetime(2029, 1, 1, tzinfo=UTC)
    template = unb32(keys.issue(make_claims(issued_at=datetime(2028, 1, 1, tzinfo=UTC))))[:58]

    def token(private: ec.EllipticCurvePrivateKey, issued: datetime) -> str:
        message = bytearray(template)
        message[1:6] = unb32(keys.kids[[a, b, c].index(private)])
        message[20:24] = int(issued.timestamp()).to_bytes(4, "big")
        return signed_token(private, bytes(message))

    # 08:00:00 lies in a's period (it ends at 08:00:01) and in b's (it starts at 08:00:00).
    for private, issued in ((a, in_first), (a, in_second), (b, in_second), (c, datetime(2028, 5, 1, tzinfo=UTC))):
        assert keys.verify(token(private, issued), now=now).issued_at == issued
    for private, issued in (
        (a, datetime(2025, 12, 31, tzinfo=UTC)),
        (a, in_second + timedelta(seconds=1)),
        (b, in_first),
        (b, datetime(2028, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (c, in_second),
    ):
        with pytest.raises(InvalidToken, match="validity period"):
            keys.verify(token(private, issued), now=now)


def test_issue_refuses_issued_at_before_the_current_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    (directory / "qr-20260101T000000000000Z.pem").write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    keys = TokenKeys.load(directory)
    keys.issue(make_claims(issued_at=datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(ValueError, match="before"):
        keys.issue(make_claims(issued_at=datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)))


def test_the_same_key_twice_is_refused(tmp_path: Path) -> None:
    key = pem(ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "qr-20260101T000000000000Z.pem").write_bytes(key)
    (tmp_path / "qr-20270101T000000000000Z.pem").write_bytes(key)
    with pytest.raises(ValueError, match="already used"):
        TokenKeys.load(tmp_path)


def test_key_files_are_private(tmp_path: Path) -> None:
    TokenKeys.load_or_create(tmp_path)
    TokenKeys.rotate(tmp_path)
    pems = list(tmp_path.glob("*.pem"))
    assert len(pems) == 2
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in pems)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_key_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "a.pem").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(ValueError, match="P-256"):
        TokenKeys.load_or_create(tmp_path)


def test_sign_jws(keys: TokenKeys) -> None:
    jws = keys.sign_jws({"hello": "世界"}, "vc+jwt")
    assert jwt.get_unverified_header(jws) == {"alg": "ES256", "kid": keys.current_kid, "typ": "vc+jwt"}
    public = jwt.PyJWKSet.from_dict(keys.jwks())[keys.current_kid]
    assert jwt.decode(jws, public.key, algorithms=["ES256"]) == {"hello": "世界"}
