"""risk runs: each scoring run with the weights it used

Revision ID: 0013_risk_runs
Revises: 0012_product_links
Create Date: 2026-12-07 20:00:00

A person confirming or rejecting a notice match re-scores that listing at once; it must use the
weights the last scoring run used (a campaign's, a weights file's), not whatever the defaults
are, or one listing would be scored on another scale than the rest.  ``risk_run`` records every
run: when, over what (``all`` or ``listings``), the campaign and the weights as used.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_risk_runs'
down_revision: str | None = '0012_product_links'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'risk_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('weights', sa.JSON(), nullable=False),
        sa.Column('listings', sa.Integer(), nullable=False),
        sa.Column('written', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_risk_run_campaign_id_campaign'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_run')),
    )
    op.create_index(op.f('ix_risk_run_started_at'), 'risk_run', ['started_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_risk_run_started_at'), table_name='risk_run')
    op.drop_table('risk_run')
