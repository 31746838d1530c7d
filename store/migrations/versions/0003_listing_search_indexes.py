"""listing search: risk-ordered indexes, FTS5 trigram tables (SQLite), pg_trgm indexes (PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 21:40:00

The console's listing search read the whole table for every page: ordering by risk and
substring text search had no index.  The risk-ordered indexes are in the models; the text
search structures are not (SQLAlchemy cannot say FTS5 or GIN trigram) and are described in
store/search.py, which also creates them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store import search

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RISK_INDEXES = {
    'ix_listing_risk': [],
    'ix_listing_platform_risk': ['platform_id'],
    'ix_listing_sector_risk': ['sector'],
    'ix_listing_class_risk': ['supervision_class'],
}


def upgrade() -> None:
    bind = op.get_bind()
    # SQLite has no NULLS LAST in an index, and needs none: its DESC order puts NULLs last.
    risk = ('risk_score DESC NULLS LAST' if bind.dialect.name == 'postgresql'
            else 'risk_score DESC')
    for name, lead in RISK_INDEXES.items():
        op.create_index(name, 'listing', [*lead, sa.text(risk), sa.text('id DESC')])
    if bind.dialect.name == 'sqlite':
        search.create_sqlite_fts(bind)
    elif bind.dialect.name == 'postgresql':
        search.create_pg_trgm_indexes(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        search.drop_sqlite_fts(bind)
    elif bind.dialect.name == 'postgresql':
        search.drop_pg_trgm_indexes(bind)
    for name in RISK_INDEXES:
        op.drop_index(name, table_name='listing')
