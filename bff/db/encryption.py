"""The encrypted columns as a whole: the check at startup, and rotation (``python -m bff reencrypt [--check]``).

The columns are found in the models (every column typed ``EncryptedText`` / ``EncryptedJSON``), so a new one is
covered by both without a list to keep. Values are read and written raw (the ciphertext, not through the column
type), and a rewrite only lands if the row still holds what was read: a row the portal changed meanwhile was
written under the current key anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Text, cast, column, select, table, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import TableClause

from bff.db.engine import create_engine
from bff.db.models import Base
from bff.lib.crypto import DecryptionFailed, EncryptedJSON, EncryptedText, Keyring
from bff.lib.logging import configure_logging
from bff.settings import Settings

log = logging.getLogger("bff.crypto")
BATCH = 500


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    pk: str
    column: str
    is_json: bool

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"

    def raw(self) -> TableClause:
        """The table as the database stores it: the ciphertext, untouched by the column type."""
        kind = JSON(none_as_null=True) if self.is_json else Text()
        return table(self.table, column(self.pk), column(self.column, kind))


def encrypted_columns() -> list[EncryptedColumn]:
    found = []
    for t in Base.metadata.sorted_tables:
        for c in t.columns:
            if isinstance(c.type, EncryptedText | EncryptedJSON):
                if c.type.context != f"{t.name}.{c.name}":
                    raise AssertionError(f"{t.name}.{c.name} is encrypted under the context {c.type.context!r}")
                [pk] = t.primary_key.columns
                found.append(EncryptedColumn(t.name, pk.name, c.name, isinstance(c.type, EncryptedJSON)))
    return found


def _stored(raw: str | None, is_json: bool) -> Any:
    """The stored value as the column type would get it (a JSON column holds the ciphertext as a JSON string)."""
    if raw is None:
        return None
    return json.loads(raw) if is_json else raw


class KeysMissing(RuntimeError):
    """Stored personal data that the configured keys cannot decrypt: the portal must not start."""


async def check_keys(engine: AsyncEngine, keyring: Keyring) -> None:
    """At startup: the first stored value of every encrypted column decrypts with the configured keys, or
    :class:`KeysMissing` names the column and the key id. A database not migrated yet has nothing to check."""
    problems: list[str] = []
    async with engine.connect() as conn:
        for col in encrypted_columns():
            t = col.raw()
            try:
                raw = await conn.scalar(select(cast(t.c[col.column], Text)).where(t.c[col.column].is_not(None))
                                        .order_by(t.c[col.pk]).limit(1))
            except DBAPIError:
                log.info("encryption key check skipped: the database is not migrated yet")
                return
            stored = _stored(raw, col.is_json)
            if stored is None:
                continue
            if not isinstance(stored, str):
                problems.append(f"{col.context}: a value is not encrypted (run `python -m bff migrate`)")
                continue
            try:
                keyring.decrypt(stored, col.context, alert=False)
            except DecryptionFailed as exc:
                problems.append(f"{col.context}: {exc.reason}")
    if problems:
        raise KeysMissing("stored personal data cannot be decrypted with the keys in " + keyring.source + ": "
                          + "; ".join(problems) + ". Put the missing key back in DATA_ENCRYPTION_KEYS (any "
                          "position after the first) and start again; see docs/privacy.md.")


@dataclass
class ColumnReport:
    context: str
    by_kid: Counter[str] = field(default_factory=Counter)
    rewritten: int = 0
    failed: list[str] = field(default_factory=list)  # primary keys of values that do not decrypt

    def line(self, current: str, write: bool) -> str:
        total = sum(self.by_kid.values())
        kids = ", ".join(f"{n} under {kid}" for kid, n in sorted(self.by_kid.items())) or "none"
        text = f"{self.context}: {total} values ({kids})"
        if write:
            text += f"; {self.rewritten} rewritten under {current}"
        if self.failed:
            shown = ", ".join(self.failed[:10]) + (" …" if len(self.failed) > 10 else "")
            text += f"; {len(self.failed)} DO NOT DECRYPT (rows {shown})"
        return text


async def reencrypt(engine: AsyncEngine, keyring: Keyring, *, write: bool = True) -> list[ColumnReport]:
    """Every encrypted value decrypted (so a missing key or an altered value shows) and, with ``write``, each one
    under an older key rewritten under the current one."""
    reports = []
    for col in encrypted_columns():
        report = ColumnReport(col.context)
        t = col.raw()
        raw_value = cast(t.c[col.column], Text)
        last: Any = None
        while True:
            query = (select(t.c[col.pk], raw_value).where(t.c[col.column].is_not(None))
                     .order_by(t.c[col.pk]).limit(BATCH))
            if last is not None:
                query = query.where(t.c[col.pk] > last)
            async with engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            if not rows:
                break
            last = rows[-1][0]
            changes = []
            for pk, raw in rows:
                stored = _stored(raw, col.is_json)
                if stored is None:
                    continue
                kid = keyring.kid_of(stored) if isinstance(stored, str) else None
                report.by_kid[kid or "(not encrypted)"] += 1
                try:
                    plain = keyring.decrypt(stored if isinstance(stored, str) else "", col.context, alert=False)
                except DecryptionFailed:
                    report.failed.append(str(pk))
                    continue
                if write and kid != keyring.current_kid:
                    changes.append({"pk": pk, "old": raw, "new": keyring.encrypt(plain, col.context)})
            if changes:
                async with engine.begin() as conn:
                    for change in changes:
                        done = await conn.execute(update(t).where(t.c[col.pk] == change["pk"],
                                                                  raw_value == change["old"])
                                                  .values({col.column: change["new"]}))
                        report.rewritten += done.rowcount
        reports.append(report)
    return reports


def reencrypt_command(settings: Settings, args: list[str]) -> int:
    """Rewrites every encrypted value under the first key of DATA_ENCRYPTION_KEYS (key rotation); ``--check``
    only decrypts everything and counts values per key. Exit 1 when some value does not decrypt."""
    parser = argparse.ArgumentParser(prog="python -m bff reencrypt",
                                     description="Move encrypted personal data to the current key (docs/privacy.md).")
    parser.add_argument("--check", action="store_true", help="decrypt and count per key; change nothing")
    options = parser.parse_args(args)
    configure_logging(settings.server.log_level)
    keyring = Keyring.from_settings(settings.crypto)

    async def run() -> list[ColumnReport]:
        engine = create_engine(settings.database)
        try:
            return await reencrypt(engine, keyring, write=not options.check)
        finally:
            await engine.dispose()

    reports = asyncio.run(run())
    print(f"keys: {', '.join(keyring.kids)} (current: {keyring.current_kid})")
    for report in reports:
        print("  " + report.line(keyring.current_kid, write=not options.check))
    failed = sum(len(r.failed) for r in reports)
    if failed:
        print(f"{failed} values do not decrypt: a key is missing from DATA_ENCRYPTION_KEYS, or they were altered")
        return 1
    return 0
