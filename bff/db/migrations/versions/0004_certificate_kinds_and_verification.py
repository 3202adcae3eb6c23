"""certificates: several per application (reissue), status-list index, salted holder hash, expiry; review shares

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the unnamed UNIQUE(application_id) of 0001, as each database named it
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('certificates', naming_convention=_SQLITE_NAMES) as batch_op:
            batch_op.drop_constraint('uq_certificates_application_id', type_='unique')
    else:
        op.drop_constraint('certificates_application_id_key', 'certificates', type_='unique')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_on', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('salt', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('id_hash', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_certificates_application_id'), ['application_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_status_index'), ['status_index'])

    op.create_table('review_shares',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('certificate_id', sa.String(length=32), nullable=False),
    sa.Column('access_code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('certificate_id')
    )


def downgrade() -> None:
    op.drop_table('review_shares')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_certificates_status_index'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_certificates_application_id'))
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('id_hash')
        batch_op.drop_column('salt')
        batch_op.drop_column('status_index')
        batch_op.drop_column('expires_on')
        batch_op.create_unique_constraint('uq_certificates_application_id', ['application_id'])
