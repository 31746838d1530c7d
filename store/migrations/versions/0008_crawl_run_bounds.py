"""crawl runs record their bounds (pages, time, products only) and what stopped them

Revision ID: 0008_crawl_run_bounds
Revises: 0007_prn_one_rule
Create Date: 2026-12-07 14:00:00

A trial crawl of a big shop is bounded (``spotcheck crawl NAME --max-pages N --max-duration
30m --products-only``, or the profile's limits).  Such a run did not look everywhere, so it
never marks unseen listings as removed; ``crawl_run.bounds`` says so on the run itself
(``{"max_pages": N, "max_duration": s, "products_only": b, "stopped_by": ...}``; NULL for
an unbounded crawl, which every earlier run was).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_crawl_run_bounds'
down_revision: str | None = '0007_prn_one_rule'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_run', recreate='never') as batch:
        batch.add_column(sa.Column('bounds', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Never by copying the table (SQLite's batch mode): dropping the old table would
    # cascade to the rows that reference it.  SQLite >= 3.35 drops a column in place.
    with op.batch_alter_table('crawl_run', recreate='never') as batch:
        batch.drop_column('bounds')
