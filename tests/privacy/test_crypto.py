"""The keyring on its own: the stored form, rotation, tampering, the key list's errors and the development key."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bff.lib.crypto import DecryptionFailed, KeyConfigError, Keyring, b64url, new_key_spec, parse_keys
from bff.settings import CryptoSettings

ID_NUMBER, PHONE, NAME = "110105199805120012", "13800138000", "张伟"
DETAILS = {"phone": PHONE, "applicant": {"name": NAME, "id_type": "01", "id_number": ID_NUMBER}}


def ring(*specs: str) -> Keyring:
    return Keyring(parse_keys(",".join(specs)))


def test_a_value_is_stored_under_the_first_key_and_reads_back() -> None:
    k1 = new_key_spec("k1")
    keys = ring(k1)
    stored = keys.seal_json(DETAILS, "applications.details")
    assert stored.startswith("enc1:k1:")
    assert all(s not in stored for s in (ID_NUMBER, PHONE, NAME, b64url(NAME.encode())))
    assert keys.open_json(stored, "applications.details") == DETAILS
    assert keys.seal_json(DETAILS, "applications.details") != stored  # a fresh nonce every time
    assert keys.open_text(keys.seal_text("", "ratings.comment"), "ratings.comment") == ""


def test_rotation_the_new_key_encrypts_and_the_old_one_still_decrypts() -> None:
    k1, k2 = new_key_spec("k1"), new_key_spec("k2")
    old = ring(k1).seal_text(NAME, "letter_requests.decided_by")
    rotated = ring(k2, k1)
    assert rotated.current_kid == "k2" and rotated.kids == ("k2", "k1")
    assert rotated.open_text(old, "letter_requests.decided_by") == NAME
    assert rotated.seal_text(NAME, "letter_requests.decided_by").startswith("enc1:k2:")
    with pytest.raises(DecryptionFailed, match="key 'k1' is not configured"):
        ring(k2).open_text(old, "letter_requests.decided_by")


def test_an_altered_or_moved_value_is_refused_and_alerted(caplog: pytest.LogCaptureFixture) -> None:
    keys = ring(new_key_spec("k1"))
    stored = keys.seal_text(PHONE, "status_events.note")
    body = stored.rsplit(":", 1)[1]
    flipped = stored[: -len(body)] + body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    with caplog.at_level(logging.ERROR, logger="bff.crypto"):
        with pytest.raises(DecryptionFailed, match="does not authenticate under key 'k1'"):
            keys.open_text(flipped, "status_events.note")
    assert "ALERT" in caplog.text and PHONE not in caplog.text
    with pytest.raises(DecryptionFailed, match="does not authenticate"):  # the same bytes in another column
        keys.open_text(stored, "ratings.comment")
    with pytest.raises(DecryptionFailed, match="does not authenticate"):  # another key under the same id
        ring(new_key_spec("k1")).open_text(stored, "status_events.note")
    with pytest.raises(DecryptionFailed, match="not encrypted"):
        keys.open_text(PHONE, "status_events.note")
    with pytest.raises(DecryptionFailed, match="does not authenticate"):  # cut short
        keys.open_text(stored[:20], "status_events.note")


@pytest.mark.parametrize(("spec", "message"), [
    ("", "no key given"),
    ("k1", "expected kid:base64url"),
    ("bad kid:" + b64url(bytes(32)), "expected kid:base64url"),
    ("k1:" + b64url(bytes(16)), "has 16 bytes; AES-256 needs 32"),
    ("k1:!!!not-base64!!!", "not base64url"),
    (f"k1:{b64url(bytes(32))},k1:{b64url(bytes(32))}", "listed twice"),
])
def test_a_wrong_key_list_is_refused_without_quoting_the_key(spec: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message) as caught:
        parse_keys(spec)
    assert "AAAAAAAA" not in str(caught.value)


def test_the_key_list_takes_padding_and_spaces() -> None:
    k1 = new_key_spec("k1")
    kid, encoded = k1.split(":")
    assert [k for k, _ in parse_keys(f" {kid}:{encoded}= , k2:{b64url(bytes(32))}")] == ["k1", "k2"]


def test_without_keys_a_development_key_is_made_once_private_and_warned_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = CryptoSettings(keys="", dev_key_file=tmp_path / "keys" / "data-encryption.key")
    with caplog.at_level(logging.WARNING, logger="bff.crypto"):
        first = Keyring.from_settings(settings)
    assert "DATA_ENCRYPTION_KEYS is not set" in caplog.text and "made now" in caplog.text
    path = settings.dev_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.current_kid.startswith("dev-")
    stored = first.seal_text(NAME, "document_files.name")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bff.crypto"):
        second = Keyring.from_settings(settings)  # another instance (or a restart) reads the same key
    assert "kept in" in caplog.text
    assert second.current_kid == first.current_kid
    assert second.open_text(stored, "document_files.name") == NAME


def test_with_keys_no_development_key_is_made(tmp_path: Path) -> None:
    settings = CryptoSettings(keys=new_key_spec("prod-2026"), dev_key_file=tmp_path / "keys" / "data-encryption.key")
    assert Keyring.from_settings(settings).current_kid == "prod-2026"
    assert not settings.dev_key_file.exists()
    assert settings.keys.split(":")[1] not in repr(settings)  # the key never reaches a log line or a traceback
