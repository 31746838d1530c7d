"""listings carry their availability (in stock, out of stock, pre-order, discontinued)

Revision ID: 0009_listing_availability
Revises: 0008_crawl_run_bounds
Create Date: 2026-12-07 14:00:00

The crawl reads whether a listing can be bought; a change of it is a listing change (a
snapshot), a campaign may leave listings that cannot be bought out of its frame, and a
purchase finds it again at checkout.  NULL: the page did not say (every earlier listing).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_listing_availability'
down_revision: str | None = '0008_crawl_run_bounds'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.add_column(sa.Column('availability', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Never by copying the table (SQLite's batch mode): dropping the old table would
    # cascade to the rows that reference it.  SQLite >= 3.35 drops a column in place.
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.drop_column('availability')
