"""risk scores in their own narrow table (listing_risk) with shared reason sets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:40:00

Scoring a million listings rewrote a million wide crawled rows and four risk-ordered indexes
(12 of 17 seconds).  The score, its time and a reference to a shared reason set now live in
``listing_risk`` (one narrow row per scored listing, one index), the reason texts once each in
``risk_reason_set``.  Existing scores and reasons are carried over.
"""
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_RISK_INDEXES = {
    'ix_listing_risk': [],
    'ix_listing_platform_risk': ['platform_id'],
    'ix_listing_sector_risk': ['sector'],
    'ix_listing_class_risk': ['supervision_class'],
}


def _risk_order(bind: Any, column: str, key: str) -> list[Any]:
    # SQLite has no NULLS LAST in an index, and needs none: its DESC order puts NULLs last.
    nulls = ' NULLS LAST' if bind.dialect.name == 'postgresql' else ''
    return [sa.text(f'{column} DESC{nulls}'), sa.text(f'{key} DESC')]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        'risk_reason_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_reason_set')),
    )
    op.create_table(
        'listing_risk',
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('reason_set_id', sa.Integer(), nullable=True),
        sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['listing.id'],
                                name=op.f('fk_listing_risk_listing_id_listing'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_listing_risk')),
    )
    op.create_index('ix_listing_risk_score', 'listing_risk',
                    _risk_order(bind, 'score', 'listing_id'))
    _carry_over(bind)
    for name in OLD_RISK_INDEXES:
        op.drop_index(name, table_name='listing')
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.drop_column('risk_scored_at')
        batch.drop_column('risk_reasons')
        batch.drop_column('risk_score')


def _carry_over(bind: Any) -> None:
    """Copy every stored score and its reasons, each distinct reason text stored once."""
    bind.execute(sa.text(
        "INSERT INTO listing_risk (listing_id, score, reason_set_id, scored_at) "
        "SELECT id, risk_score, NULL, COALESCE(risk_scored_at, CURRENT_TIMESTAMP) FROM listing "
        "WHERE risk_scored_at IS NOT NULL OR risk_score IS NOT NULL"))
    rows = bind.execute(sa.text(
        "SELECT l.id, CAST(l.risk_reasons AS TEXT) FROM listing AS l "
        "JOIN listing_risk AS r ON r.listing_id = l.id")).all()
    sets: dict[str, int] = {}
    links: list[dict[str, int]] = []
    for listing_id, reasons in rows:
        if reasons and json.loads(reasons):
            links.append({'l': listing_id, 's': sets.setdefault(reasons, len(sets) + 1)})
    if not sets:
        return
    reason_set = sa.table('risk_reason_set', sa.column('id', sa.Integer),
                          sa.column('reasons', sa.JSON))
    op.bulk_insert(reason_set, [{'id': i, 'reasons': json.loads(t)} for t, i in sets.items()])
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('risk_reason_set', 'id'), "
                             "(SELECT MAX(id) FROM risk_reason_set))"))
    bind.execute(sa.text("UPDATE listing_risk SET reason_set_id = :s WHERE listing_id = :l"),
                 links)


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.add_column(sa.Column('risk_score', sa.Float(), nullable=True))
        batch.add_column(sa.Column('risk_reasons', sa.JSON(), nullable=False,
                                   server_default='[]'))
        batch.add_column(sa.Column('risk_scored_at', sa.DateTime(timezone=True), nullable=True))
    reasons = ("(SELECT CAST(r.reasons AS TEXT) FROM risk_reason_set AS r "
               "WHERE r.id = listing_risk.reason_set_id)")
    if bind.dialect.name == 'postgresql':
        reasons = f"CAST(COALESCE({reasons}, '[]') AS JSON)"
    else:
        reasons = f"COALESCE({reasons}, '[]')"
    bind.execute(sa.text(
        f"UPDATE listing SET risk_score = listing_risk.score, risk_reasons = {reasons}, "
        "risk_scored_at = listing_risk.scored_at FROM listing_risk "
        "WHERE listing_risk.listing_id = listing.id"))
    for name, lead in OLD_RISK_INDEXES.items():
        op.create_index(name, 'listing', [*lead, *_risk_order(bind, 'risk_score', 'id')])
    op.drop_index('ix_listing_risk_score', table_name='listing_risk')
    op.drop_table('listing_risk')
    op.drop_table('risk_reason_set')
