"""notice matching keys: GTINs, batches, marketplaces, pictures, measures, risk types; notice_key

Revision ID: 0005_notice_keys
Revises: 0004
Create Date: 2026-12-07 14:00:00

Safety Gate's weekly export carries barcodes, batch numbers, the marketplaces a product was sold
on (with ASINs or URLs), pictures and a run-together ``measures`` text; CPSC's recalls carry
UPCs.  They were flattened into ``raw`` and never matched on.  They get their own columns (split
into lists), fields cut to their bound on import are recorded per field (``truncated``), and the
exact keys (gtin, asin, url, model) go into ``notice_key`` with an index, so a listing showing
one of them is found by look-up, not by fuzzy text.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_notice_keys'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_COLUMNS = ('gtins', 'batches', 'online', 'pictures', 'measures', 'risk_types')


def upgrade() -> None:
    with op.batch_alter_table('foreign_notice') as batch:
        for name in LIST_COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('truncated', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table(
        'notice_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['notice_id'], ['foreign_notice.id'],
                                name=op.f('fk_notice_key_notice_id_foreign_notice'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_key')),
        sa.UniqueConstraint('notice_id', 'kind', 'value',
                            name=op.f('uq_notice_key_notice_id_kind_value')),
    )
    op.create_index('ix_notice_key_kind_value', 'notice_key', ['kind', 'value'])


def downgrade() -> None:
    op.drop_index('ix_notice_key_kind_value', table_name='notice_key')
    op.drop_table('notice_key')
    with op.batch_alter_table('foreign_notice') as batch:
        for name in (*LIST_COLUMNS, 'truncated'):
            batch.drop_column(name)
