"""Offline verification: a scanned URL checked with the downloaded JWKS and status list only."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bff.domain.verification.offline import OfflineResult, token_from_url, verify_offline
from bff.domain.verification.statuslist import signed_status_list
from bff.domain.verification.tokens import InvalidToken, TokenClaims, TokenKeys

BASE = "https://dangan.example.gov.cn"
START = datetime(2026, 1, 1, tzinfo=UTC)
# 16:30 UTC on 21 November is 00:30 on 22 November in Beijing.
NOW = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)
REVOKED_INDEX = 17


def write_key(directory: Path, start: datetime) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (directory / f"qr-{start:%Y%m%dT%H%M%S%f}Z.pem").write_bytes(pem)


def make_claims(**changes: Any) -> TokenClaims:
    claims = TokenClaims(
        certificate_id="MFRGGZDFMZTWQ2LK",
        kind="no_criminal_record",
        status_index=3,
        issued_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        expires_on=date(2027, 5, 20),
        content_hash=b"\x11" * 16,
        name_hash=b"\x22" * 8,
        id_hash=b"\x33" * 8,
    )
    return dataclasses.replace(claims, **changes)


def url_of(token: str) -> str:
    return f"HTTPS://DANGAN.EXAMPLE.GOV.CN/V/{token}"


@pytest.fixture
def keys(tmp_path: Path) -> TokenKeys:
    write_key(tmp_path / "keys", START)
    return TokenKeys.load(tmp_path / "keys")


@pytest.fixture
def jwks(keys: TokenKeys) -> dict[str, Any]:
    """What a verifier downloaded: plain JSON, no key objects."""
    downloaded: dict[str, Any] = json.loads(json.dumps(keys.jwks()))
    return downloaded


@pytest.fixture
def status_list(keys: TokenKeys) -> str:
    return signed_status_list(keys, BASE, [REVOKED_INDEX, 99], NOW - timedelta(minutes=40))


def test_genuine(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    claims = make_claims()
    token = keys.issue(claims)
    result = verify_offline(url_of(token), jwks, status_list, now=NOW)
    assert result == OfflineResult("genuine", dataclasses.replace(claims, kid=keys.current_kid))
    # The online verifier agrees on the claims.
    assert result.claims == keys.verify(token, now=NOW)
    assert verify_offline(url_of(token).lower(), jwks, status_list, now=NOW).verdict == "genuine"
    assert verify_offline(token, jwks, status_list, now=NOW).verdict == "genuine"


def test_revoked(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims(status_index=REVOKED_INDEX))
    result = verify_offline(url_of(token), jwks, status_list, now=NOW)
    assert result.verdict == "revoked"
    assert result.claims is not None and result.claims.status_index == REVOKED_INDEX
    neighbours = [keys.issue(make_claims(status_index=i)) for i in (REVOKED_INDEX - 1, REVOKED_INDEX + 1)]
    assert [verify_offline(t, jwks, status_list, now=NOW).verdict for t in neighbours] == ["genuine", "genuine"]


def test_expired_by_the_date_in_beijing(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    # It is already 22 November in Beijing although still 21 November in UTC.
    expired = keys.issue(make_claims(expires_on=date(2026, 11, 21)))
    result = verify_offline(url_of(expired), jwks, status_list, now=NOW)
    assert result.verdict == "expired" and result.claims is not None
    last_day = keys.issue(make_claims(expires_on=date(2026, 11, 22)))
    assert verify_offline(url_of(last_day), jwks, status_list, now=NOW).verdict == "genuine"
    # Half an hour earlier it was still 21 November in Beijing.
    earlier = NOW - timedelta(minutes=31)
    assert verify_offline(url_of(expired), jwks, status_list, now=earlier).verdict == "genuine"


def test_revoked_wins_over_expired(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims(status_index=REVOKED_INDEX, expires_on=date(2026, 1, 2)))
    assert verify_offline(token, jwks, status_list, now=NOW).verdict == "revoked"


def test_forged_by_an_unknown_key(keys: TokenKeys, jwks: dict[str, Any], status_list: str, tmp_path: Path) -> None:
    write_key(tmp_path / "other", START)
    other = TokenKeys.load(tmp_path / "other")
    token = other.issue(make_claims())
    assert verify_offline(url_of(token), jwks, status_list, now=NOW) == OfflineResult("forged", None)


def test_forged_by_an_altered_byte(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims(status_index=REVOKED_INDEX))
    raw = bytearray(base64.b32decode(token + "===="))
    raw[19] ^= 0x01  # status index 17 -> 16: "un-revoke" it
    altered = base64.b32encode(bytes(raw)).decode().rstrip("=")
    assert verify_offline(url_of(altered), jwks, status_list, now=NOW) == OfflineResult("forged", None)
    for position in (0, 5, 16, 23, 40, 57, 58, 100, 121):
        raw = bytearray(base64.b32decode(token + "===="))
        raw[position] ^= 0x40
        altered = base64.b32encode(bytes(raw)).decode().rstrip("=")
        assert verify_offline(altered, jwks, status_list, now=NOW).verdict == "forged"


def test_forged_by_a_retired_key_after_its_period(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    write_key(directory, START)
    old = TokenKeys.load(directory)
    write_key(directory, datetime(2026, 6, 1, tzinfo=UTC))
    current = TokenKeys.load(directory)
    jwks = json.loads(json.dumps(current.jwks()))
    status_list = signed_status_list(current, BASE, [], NOW)
    before = old.issue(make_claims(issued_at=datetime(2026, 3, 1, tzinfo=UTC)))
    assert verify_offline(before, jwks, status_list, now=NOW).verdict == "genuine"
    after = old.issue(make_claims(issued_at=datetime(2026, 11, 20, tzinfo=UTC)))
    assert verify_offline(after, jwks, status_list, now=NOW).verdict == "forged"
    with pytest.raises(InvalidToken, match="validity period"):
        current.verify(after, now=NOW)  # online says the same


def test_forged_when_an_attacker_swaps_a_jwks_key_under_our_kid(
    keys: TokenKeys, jwks: dict[str, Any], status_list: str, tmp_path: Path
) -> None:
    write_key(tmp_path / "attacker", START)
    attacker = TokenKeys.load(tmp_path / "attacker")
    (theirs,) = attacker.jwks()["keys"]
    (ours,) = jwks["keys"]
    poisoned = {"keys": [{**theirs, "kid": ours["kid"]}]}
    forged = bytearray(base64.b32decode(attacker.issue(make_claims()) + "===="))
    forged[1:6] = base64.b32decode(ours["kid"])
    # Whatever the signature, a JWKS entry whose kid is not its own thumbprint is not used.
    token = base64.b32encode(bytes(forged)).decode().rstrip("=")
    assert verify_offline(token, poisoned, status_list, now=NOW).verdict == "forged"
    # The inconsistent entry is dropped altogether, not filed under its real thumbprint either.
    own = attacker.issue(make_claims())
    assert verify_offline(own, {"keys": [theirs]}, signed_status_list(attacker, BASE, [], NOW), now=NOW).verdict == (
        "genuine"
    )
    assert verify_offline(own, poisoned, status_list, now=NOW).verdict == "forged"


def test_forged_when_issued_in_the_future(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims(issued_at=NOW + timedelta(hours=1)))
    assert verify_offline(token, jwks, status_list, now=NOW).verdict == "forged"


def test_a_bad_status_list_gives_no_verdict(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims())
    with pytest.raises(InvalidToken, match="expired"):
        verify_offline(token, jwks, status_list, now=NOW + timedelta(hours=2))
    header, payload, signature = status_list.split(".")
    with pytest.raises(InvalidToken):
        verify_offline(token, jwks, f"{header}.{payload[:-4]}AAAA.{signature}", now=NOW)
    # A forged token needs no status list to be called forged.
    assert verify_offline("A" * 196, jwks, "garbage", now=NOW).verdict == "forged"


def test_a_status_index_beyond_the_list(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    token = keys.issue(make_claims(status_index=131072))
    with pytest.raises(InvalidToken, match="does not cover"):
        verify_offline(token, jwks, status_list, now=NOW)


def test_token_from_url() -> None:
    token = "A" * 196
    assert token_from_url(f"HTTPS://DANGAN.EXAMPLE.GOV.CN/V/{token}") == token
    assert token_from_url(f"https://dangan.example.gov.cn/v/{token.lower()}") == token.lower()
    assert token_from_url(f"  https://dangan.example.gov.cn/v/{token}/ ") == token
    assert token_from_url(f"https://example.gov.cn/dangan/v/{token}?src=qr#top") == token
    assert token_from_url(token) == token
    for bad in (
        f"ftp://dangan.example.gov.cn/v/{token}",
        f"https://dangan.example.gov.cn/x/{token}",
        "https://dangan.example.gov.cn/v/",
        f"/v/{token}",
    ):
        with pytest.raises(InvalidToken):
            token_from_url(bad)


def test_naive_now_is_refused(keys: TokenKeys, jwks: dict[str, Any], status_list: str) -> None:
    with pytest.raises(ValueError):
        verify_offline(keys.issue(make_claims()), jwks, status_list, now=NOW.replace(tzinfo=None))
