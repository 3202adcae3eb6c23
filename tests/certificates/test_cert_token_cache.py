"""A token verified once is remembered (no second ECDSA check), with exactly the same answers as before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bff.domain.verification.tokens import InvalidToken, TokenClaims, TokenKeys


def claims(issued_at: datetime) -> TokenClaims:
    return TokenClaims(certificate_id="VBUMMB7UQYICZDHX", kind="kinship_certificate", status_index=7,
                       issued_at=issued_at, expires_on=date(2031, 6, 30), content_hash=bytes(16),
                       name_hash=bytes(8), id_hash=bytes(8))


def test_the_same_token_again_gives_the_same_claims_and_a_changed_one_is_still_refused(tmp_path: Path) -> None:
    keys = TokenKeys.load_or_create(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    token = keys.issue(claims(now))
    first = keys.verify(token)
    assert keys.verify(token) == first == dataclasses.replace(claims(now), kid=keys.current_kid)
    forged = token[:60] + ("A" if token[60] != "A" else "B") + token[61:]
    with pytest.raises(InvalidToken):
        keys.verify(forged)


def test_the_time_check_is_made_again_for_a_remembered_token(tmp_path: Path) -> None:
    keys = TokenKeys.load_or_create(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    token = keys.issue(claims(now))
    keys.verify(token)
    with pytest.raises(InvalidToken, match="future"):  # as a verifier whose clock is an hour behind would see
        keys.verify(token, now=now - timedelta(hours=1))
    with pytest.raises(ValueError, match="aware"):
        keys.verify(token, now=now.replace(tzinfo=None))
