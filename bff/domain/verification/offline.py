"""Checking a scanned e-certificate QR code with no server.

A verifier downloads ``/.well-known/jwks.json`` and ``/status/1`` once (the status list is valid for an
hour), then checks any scanned URL locally: the token's signature against the published public keys and
the key's period, then the revocation bit, then the expiry date (Asia/Shanghai). No private key and no
:class:`~bff.domain.verification.tokens.TokenKeys` is involved; the decoder is the one the server uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from bff.domain.verification.statuslist import bit_is_set, read_status_list
from bff.domain.verification.tokens import InvalidToken, TokenClaims, verify_token, verifying_keys_from_jwks
from bff.lib.clock import CHINA

Verdict = Literal["genuine", "revoked", "expired", "forged"]


@dataclass(frozen=True)
class OfflineResult:
    verdict: Verdict
    claims: TokenClaims | None  # None when forged


def token_from_url(url: str) -> str:
    """The token of ``HTTPS://HOST/V/<TOKEN>`` (any case); a bare token is returned as it is.

    Raises :class:`InvalidToken` for a URL that is not a verification address.
    """
    text = url.strip()
    if "/" not in text:
        return text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("https", "http") or not parts.netloc:
        raise InvalidToken("not an http(s) URL")
    segments = parts.path.rstrip("/").split("/")
    if len(segments) < 3 or segments[-2].upper() != "V" or not segments[-1]:
        raise InvalidToken("not a verification URL")
    return segments[-1]


def verify_offline(
    url_or_token: str, jwks: Mapping[str, Any], status_list_jws: str, *, now: dt.datetime
) -> OfflineResult:
    """The verdict on a scanned URL (or bare token) from the JWKS and the status list JWS alone.

    ``forged`` covers anything that is not a token signed by a published key within its period.
    Raises :class:`InvalidToken` when the status list itself is unusable (tampered, expired, signed by an
    unknown key, or too short for the token's index): fetch a fresh one, the token has no verdict yet.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    keys = verifying_keys_from_jwks(jwks)
    try:
        claims = verify_token(token_from_url(url_or_token), keys.get, now=now)
    except InvalidToken:
        return OfflineResult("forged", None)
    bitstring = read_status_list(status_list_jws, jwks, now=now)
    try:
        revoked = bit_is_set(bitstring, claims.status_index)
    except IndexError as exc:
        raise InvalidToken(f"the status list does not cover index {claims.status_index}") from exc
    if revoked:
        return OfflineResult("revoked", claims)
    if claims.expires_on < now.astimezone(CHINA).date():
        return OfflineResult("expired", claims)
    return OfflineResult("genuine", claims)
