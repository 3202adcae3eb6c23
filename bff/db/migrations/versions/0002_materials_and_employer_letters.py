"""materials and employer letters

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bff.lib.holders import holder_key


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_sub', sa.String(length=128), nullable=False),
    sa.Column('material', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('forward_key', sa.String(length=200), nullable=True),
    sa.Column('forward_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_owner_sub'), ['owner_sub'], unique=False)

    op.create_table('application_documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('material', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('attached_by', sa.String(length=16), nullable=False),
    sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'material', 'role', name='uq_application_documents_need')
    )
    with op.batch_alter_table('application_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_documents_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_documents_document_id'), ['document_id'], unique=False)

    op.create_table('document_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('upload_sha256', sa.String(length=64), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('original_key', sa.String(length=200), nullable=False),
    sa.Column('display_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'file_id', name='uq_document_files_file')
    )
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_files_document_id'), ['document_id'], unique=False)

    op.create_table('letter_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('material', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('unit_uscc', sa.String(length=18), nullable=False),
    sa.Column('unit_name', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('document_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by', sa.String(length=150), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_requests_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_requests_unit_uscc'), ['unit_uscc'], unique=False)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('initiated_by', sa.String(length=16), nullable=False,
                                      server_default='person'))
        batch_op.add_column(sa.Column('unit_uscc', sa.String(length=18), nullable=True))
        batch_op.alter_column('status',
               existing_type=sa.VARCHAR(length=16),
               type_=sa.String(length=32),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_applications_holder_key'), ['holder_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_unit_uscc'), ['unit_uscc'], unique=False)

    # Applications made before this revision belong to the person in their details.
    applications = sa.table('applications', sa.column('id', sa.Uuid()), sa.column('details', sa.JSON()),
                            sa.column('holder_key', sa.String()))
    connection = op.get_bind()
    for row in connection.execute(sa.select(applications.c.id, applications.c.details)).all():
        applicant = row.details.get('applicant', {})
        key = holder_key(str(applicant.get('id_type', '')), str(applicant.get('id_number', '')))
        connection.execute(applications.update().where(applications.c.id == row.id).values(holder_key=key))
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.alter_column('holder_key', existing_type=sa.String(length=64), nullable=False)



def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_unit_uscc'))
        batch_op.drop_index(batch_op.f('ix_applications_holder_key'))
        batch_op.alter_column('status',
               existing_type=sa.String(length=32),
               type_=sa.VARCHAR(length=16),
               existing_nullable=False)
        batch_op.drop_column('unit_uscc')
        batch_op.drop_column('initiated_by')
        batch_op.drop_column('holder_key')

    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_requests_unit_uscc'))
        batch_op.drop_index(batch_op.f('ix_letter_requests_application_id'))

    op.drop_table('letter_requests')
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_files_document_id'))

    op.drop_table('document_files')
    with op.batch_alter_table('application_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_documents_document_id'))
        batch_op.drop_index(batch_op.f('ix_application_documents_application_id'))

    op.drop_table('application_documents')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_owner_sub'))

    op.drop_table('documents')
