"""personal data encrypted at rest (AES-256-GCM, bff.lib.crypto); applications.purged_at for the retention purge

Revision ID: 0005
Revises: 0004

Every existing value of the columns below is rewritten encrypted with the first key of DATA_ENCRYPTION_KEYS
(or the development key under DATA_DIR/keys/, made if missing), the key the BFF will use. The JSON columns stay
JSON (the value becomes a JSON string, so the big tables are not rebuilt); the short text columns become TEXT.
A value already encrypted (a re-run) is left alone. Downgrade decrypts everything back.
"""
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, primary key, column, JSON?) — the context bound as associated data is "table.column"
COLUMNS = [
    ('applications', 'id', 'details', True),
    ('status_events', 'id', 'extra', True),
    ('status_events', 'id', 'note', False),
    ('letter_requests', 'id', 'reason', False),
    ('letter_requests', 'id', 'decided_by', False),
    ('ratings', 'application_id', 'comment', False),
    ('document_files', 'id', 'name', False),
]
# text columns whose ciphertext does not fit the old length: (table, column, old type, nullable)
WIDENED = [
    ('letter_requests', 'decided_by', sa.String(length=150), True),
    ('ratings', 'comment', sa.String(length=500), False),
    ('document_files', 'name', sa.String(length=100), False),
]
BATCH = 500


def _keyring() -> Any:
    from bff.lib.crypto import Keyring
    from bff.settings import Settings

    return Keyring.from_settings(Settings.from_env().crypto)


def _batches(table: str, pk: str, column: str, kind: sa.types.TypeEngine[Any]) -> Iterator[Sequence[Any]]:
    bind = op.get_bind()
    t = sa.table(table, sa.column(pk), sa.column(column, kind))
    last = None
    while True:
        query = sa.select(t.c[pk], t.c[column]).order_by(t.c[pk]).limit(BATCH)
        if last is not None:
            query = query.where(t.c[pk] > last)
        rows = bind.execute(query).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _rewrite(change: Callable[[Any, Any, str, bool], tuple[bool, Any]]) -> None:
    """Applies ``change(keyring, value, context, is_json) -> (changed, new value)`` to every row; the keyring is
    only loaded when there is a row (an empty database needs no key)."""
    bind = op.get_bind()
    keyring = None
    for table, pk, column, is_json in COLUMNS:
        kind: sa.types.TypeEngine[Any] = sa.JSON(none_as_null=True) if is_json else sa.Text()
        t = sa.table(table, sa.column(pk), sa.column(column, kind))
        update = t.update().where(t.c[pk] == sa.bindparam('_pk')).values({column: sa.bindparam('_v', type_=kind)})
        for rows in _batches(table, pk, column, kind):
            if keyring is None:
                keyring = _keyring()
            changes = []
            for key, value in rows:
                changed, new = change(keyring, value, f'{table}.{column}', is_json)
                if changed:
                    changes.append({'_pk': key, '_v': new})
            if changes:
                bind.execute(update, changes)


def _encrypt(keyring: Any, value: Any, context: str, is_json: bool) -> tuple[bool, Any]:
    if value is None:
        return False, None
    if isinstance(value, str) and value.startswith('enc1:'):
        try:
            keyring.decrypt(value, context)
            return False, value  # already encrypted
        except Exception:  # noqa: S110 - plaintext that happens to look like a ciphertext
            pass
    return True, keyring.seal_json(value, context) if is_json else keyring.seal_text(value, context)


def _decrypt(keyring: Any, value: Any, context: str, is_json: bool) -> tuple[bool, Any]:
    if not isinstance(value, str) or not value.startswith('enc1:'):
        return False, value
    return True, keyring.open_json(value, context) if is_json else keyring.open_text(value, context)


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    for table, column, old, nullable in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=old, type_=sa.Text(), existing_nullable=nullable)
    _rewrite(_encrypt)


def downgrade() -> None:
    _rewrite(_decrypt)
    for table, column, old, nullable in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=old, existing_nullable=nullable)
    if op.get_bind().dialect.name == 'sqlite':  # natively: batch mode would rebuild a table others point to
        op.execute('ALTER TABLE applications DROP COLUMN purged_at')
    else:
        op.drop_column('applications', 'purged_at')
