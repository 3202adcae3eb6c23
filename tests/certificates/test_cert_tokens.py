"""QR tokens: ES256 with RFC 7638 key ids, rotation, and one error for every kind of bad token."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bff.domain.verification.tokens import InvalidToken, TokenKeys

CLAIMS = {"cid": "VBUMMB7UQYICZDHX3SEDR773", "knd": "archive_certificate", "iat": 1794998400}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def keys(tmp_path: Path) -> TokenKeys:
    return TokenKeys.load_or_create(tmp_path / "keys")


def test_round_trip(keys: TokenKeys) -> None:
    token = keys.issue(CLAIMS)
    assert keys.verify(token) == CLAIMS
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": keys.current_kid}


def test_kid_is_the_rfc7638_thumbprint(keys: TokenKeys) -> None:
    (jwk,) = keys.jwks()["keys"]
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    assert jwk["kid"] == b64u(hashlib.sha256(canonical.encode()).digest()) == keys.current_kid


def test_jwks_has_public_keys_only_and_verifies_tokens(keys: TokenKeys) -> None:
    jwks = keys.jwks()
    assert all(set(k) == {"kty", "crv", "x", "y", "kid", "alg", "use"} for k in jwks["keys"])
    assert '"d"' not in json.dumps(jwks)
    token = keys.issue(CLAIMS)
    public = jwt.PyJWKSet.from_dict(jwks)[keys.current_kid]
    assert jwt.decode(token, public.key, algorithms=["ES256"]) == CLAIMS


def test_tampered_payload_is_refused(keys: TokenKeys) -> None:
    header, _payload, signature = keys.issue(CLAIMS).split(".")
    forged = b64u(json.dumps({**CLAIMS, "cid": "AAAAAAAAAAAAAAAAAAAAAAAA"}).encode())
    with pytest.raises(InvalidToken):
        keys.verify(f"{header}.{forged}.{signature}")


def test_token_from_another_key_is_refused(keys: TokenKeys, tmp_path: Path) -> None:
    other = TokenKeys.load_or_create(tmp_path / "other")
    with pytest.raises(InvalidToken, match="unknown key"):
        keys.verify(other.issue(CLAIMS))
    # Another key claiming our kid: the signature does not verify.
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(CLAIMS, stranger, algorithm="ES256", headers={"kid": keys.current_kid})
    with pytest.raises(InvalidToken):
        keys.verify(forged)


def test_wrong_algorithms_are_refused(keys: TokenKeys) -> None:
    (jwk,) = keys.jwks()["keys"]
    public_pem = jwt.PyJWK.from_dict(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64u(json.dumps({"alg": "HS256", "kid": keys.current_kid}).encode())
    payload = b64u(json.dumps(CLAIMS).encode())
    import hmac

    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="algorithm"):
        keys.verify(f"{header}.{payload}.{b64u(mac)}")  # HMAC keyed with the public key
    none_header = b64u(json.dumps({"alg": "none", "kid": keys.current_kid}).encode())
    with pytest.raises(InvalidToken):
        keys.verify(f"{none_header}.{payload}.")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "....", "x" * 5000, "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"])
def test_malformed_tokens_are_refused(keys: TokenKeys, token: str) -> None:
    with pytest.raises(InvalidToken):
        keys.verify(token)


def test_rotation_keeps_old_tokens_valid(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    first = TokenKeys.load_or_create(directory)
    old_token = first.issue(CLAIMS)
    rotated = TokenKeys.rotate(directory)
    assert rotated.current_kid != first.current_kid
    assert rotated.kids == (first.current_kid, rotated.current_kid)
    assert rotated.verify(old_token) == CLAIMS
    assert jwt.get_unverified_header(rotated.issue(CLAIMS))["kid"] == rotated.current_kid
    reloaded = TokenKeys.load_or_create(directory)  # no new key when some exist
    assert reloaded.kids == rotated.kids
    assert len(reloaded.jwks()["keys"]) == 2


def test_key_files_are_private(tmp_path: Path) -> None:
    TokenKeys.load_or_create(tmp_path)
    (pem,) = tmp_path.glob("*.pem")
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600


def test_a_key_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "a.pem").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(ValueError, match="P-256"):
        TokenKeys.load_or_create(tmp_path)
