"""certificates: status-list indexes from a sequence, so certificates issued at the same moment never share one

Revision ID: 0007
Revises: 0006

Each certificate's token carries its bit in the signed status list (``status_index``), chosen before the PDF is
rendered and signed. ``max(status_index) + 1`` gave two certificates issued at once the same index, and the second
one's insert failed on ``uq_certificates_status_index`` after its render. A PostgreSQL sequence hands out each
index once, outside any transaction (a failed issue leaves an unused bit, which is harmless). SQLite (development
and tests) has one writer at a time and keeps ``max + 1``.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE certificate_status_index_seq AS integer MINVALUE 1 MAXVALUE 16777215")
    op.execute("SELECT setval('certificate_status_index_seq', coalesce(max(status_index), 0) + 1, false) "
               "FROM certificates")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE certificate_status_index_seq")
