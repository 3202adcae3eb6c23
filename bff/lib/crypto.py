"""Personal data encrypted at rest: AES-256-GCM with rotating keys, and column types that apply it.

A value is stored as ``enc1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>``. The key id says which key decrypts it,
so keys rotate: ``DATA_ENCRYPTION_KEYS`` lists ``kid:base64url(32 bytes)`` separated by commas; the first one
encrypts, every one decrypts, and ``python -m bff reencrypt`` moves old rows to the first. The associated data
binds the table and column (``applications.details``), so a ciphertext moved to another column does not decrypt.

Without ``DATA_ENCRYPTION_KEYS`` a development key is made once under ``DATA_DIR/keys/`` (0600) and a warning is
logged: every instance must share the same keys, so production sets the variable.

A value that does not decrypt (no such key, or altered) raises :class:`DecryptionFailed` and logs an ALERT line:
nothing is served from it. The engine made by ``create_app`` carries its own keyring (:func:`use_keyring`); any
other engine (an operator command, a test) uses the keys the environment names, i.e. the same ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, Dialect, Text
from sqlalchemy.types import TypeDecorator

from bff.lib.secretfiles import create_secret_file

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bff.settings import CryptoSettings

log = logging.getLogger("bff.crypto")

PREFIX = "enc1"
KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
KEY_BYTES = 32


class KeyConfigError(ValueError):
    """``DATA_ENCRYPTION_KEYS`` (or the development key file) is not a list of ``kid:base64url(32 bytes)``."""


class DecryptionFailed(Exception):
    """A stored value could not be decrypted: its key is not configured, or it was altered or moved."""

    def __init__(self, context: str, kid: str | None, reason: str) -> None:
        self.context, self.kid, self.reason = context, kid, reason
        super().__init__(f"cannot decrypt {context}: {reason}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_spec(kid: str) -> str:
    """A fresh ``kid:base64url(32 random bytes)`` entry for ``DATA_ENCRYPTION_KEYS``."""
    if not KID.match(kid):
        raise KeyConfigError("a key id is 1 to 32 letters, digits, '-' or '_'")
    return f"{kid}:{b64url(secrets.token_bytes(KEY_BYTES))}"


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``kid:base64url(32 bytes)[,kid:...]`` → [(kid, key)], in order; errors never quote the key."""
    keys: list[tuple[str, bytes]] = []
    for n, item in enumerate((part.strip() for part in spec.split(",")), start=1):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not KID.match(kid):
            raise KeyConfigError(f"entry {n}: expected kid:base64url(32 bytes), the kid being 1 to 32 letters, "
                                 "digits, '-' or '_'")
        try:
            key = b64url_decode(encoded.strip())
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"key {kid!r} is not base64url") from None
        if len(key) != KEY_BYTES:
            raise KeyConfigError(f"key {kid!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if any(k == kid for k, _ in keys):
            raise KeyConfigError(f"key id {kid!r} is listed twice")
        keys.append((kid, key))
    if not keys:
        raise KeyConfigError("no key given")
    return keys


class Keyring:
    """The data-encryption keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Iterable[tuple[str, bytes]], source: str = "DATA_ENCRYPTION_KEYS") -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        if not self._keys:
            raise KeyConfigError("no key given")
        self.current_kid = next(iter(self._keys))
        self.source = source

    def __repr__(self) -> str:
        return f"Keyring(kids={self.kids!r}, source={self.source!r})"

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @classmethod
    def from_settings(cls, settings: CryptoSettings) -> Keyring:
        if settings.keys.strip():
            return cls(parse_keys(settings.keys))
        path = settings.dev_key_file
        created = _create_dev_key(path)
        log.warning("DATA_ENCRYPTION_KEYS is not set: personal data is encrypted with a development key %s %s; "
                    "every instance must use the same key, so set DATA_ENCRYPTION_KEYS in production",
                    "made now in" if created else "kept in", str(path))
        try:
            return cls(parse_keys(path.read_text()), source=str(path))
        except KeyConfigError as exc:
            raise KeyConfigError(f"{path}: {exc}") from None

    @staticmethod
    def _aad(kid: str, context: str) -> bytes:
        return f"{PREFIX}:{kid}:{context}".encode()

    def encrypt(self, plaintext: bytes, context: str) -> str:
        kid = self.current_kid
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[kid].encrypt(nonce, plaintext, self._aad(kid, context))
        return f"{PREFIX}:{kid}:{b64url(nonce + sealed)}"

    def decrypt(self, stored: str, context: str, *, alert: bool = True) -> bytes:
        """The plaintext, or DecryptionFailed (logged as an ALERT unless the caller reports it itself)."""
        prefix, _, rest = stored.partition(":")
        kid, _, body = rest.partition(":")
        if prefix != PREFIX or not kid or not body:
            raise self._failed(context, None, "the value is not encrypted", alert)
        key = self._keys.get(kid)
        if key is None:
            raise self._failed(context, kid, f"key {kid!r} is not configured (configured: {', '.join(self.kids)})",
                               alert)
        try:
            raw = b64url_decode(body)
            if len(raw) < NONCE_BYTES + 16:
                raise ValueError("too short")
            return key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(kid, context))
        except (InvalidTag, ValueError, binascii.Error):
            raise self._failed(context, kid, f"the value does not authenticate under key {kid!r} "
                                             "(altered, or moved from another column)", alert) from None

    @staticmethod
    def _failed(context: str, kid: str | None, reason: str, alert: bool = True) -> DecryptionFailed:
        if alert:
            log.error("ALERT personal data could not be decrypted",
                      extra={"event": {"column": context, "kid": kid, "reason": reason}})
        return DecryptionFailed(context, kid, reason)

    def kid_of(self, stored: str) -> str | None:
        prefix, _, rest = stored.partition(":")
        kid = rest.partition(":")[0]
        return kid if prefix == PREFIX and kid else None

    # one shape per kind of column, shared by the column types, the migration and ``reencrypt``
    def seal_text(self, value: str, context: str) -> str:
        return self.encrypt(value.encode("utf-8"), context)

    def open_text(self, stored: str, context: str) -> str:
        return self.decrypt(stored, context).decode("utf-8")

    def seal_json(self, value: Any, context: str) -> str:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), context)

    def open_json(self, stored: str, context: str) -> Any:
        return json.loads(self.decrypt(stored, context))


def _create_dev_key(path: Path) -> bool:
    """Makes the development key file unless it exists; True when this call made it."""
    return create_secret_file(path, (new_key_spec(f"dev-{secrets.token_hex(4)}") + "\n").encode())


# -- which keyring a statement uses ------------------------------------------------------------------------------

_ATTRIBUTE = "_portal_keyring"
_default: Keyring | None = None
_default_lock = threading.Lock()


def use_keyring(engine: AsyncEngine, keyring: Keyring) -> None:
    """Makes every statement on ``engine`` use ``keyring`` (the column types find it on the engine's dialect)."""
    setattr(engine.sync_engine.dialect, _ATTRIBUTE, keyring)


def default_keyring() -> Keyring:
    """The keys the environment names, for engines nobody gave a keyring (operator commands, tests)."""
    global _default
    with _default_lock:
        if _default is None:
            from bff.settings import Settings

            _default = Keyring.from_settings(Settings.from_env().crypto)
        return _default


def keyring_for(dialect: Dialect) -> Keyring:
    found = getattr(dialect, _ATTRIBUTE, None)
    return found if isinstance(found, Keyring) else default_keyring()


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted; ``context`` ("table.column") is bound as associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_for(dialect).seal_text(value, self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_for(dialect).open_text(value, self.context)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON column whose whole value is stored encrypted, as a JSON string (the column stays JSON, so no
    table rewrite); Python ``None`` is SQL NULL."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring_for(dialect).seal_json(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise Keyring._failed(self.context, None, "the value is not encrypted")
        return keyring_for(dialect).open_json(value, self.context)
