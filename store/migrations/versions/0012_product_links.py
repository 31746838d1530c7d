"""product links: listings and notices that are the same product, by identifier, photo or title

Revision ID: 0012_product_links
Revises: 0011_product_images
Create Date: 2026-12-07 17:15:00

A failed product sold by twenty sellers on three platforms is one product: ``product_link``
keeps each piece of evidence that two listings (or a listing and a notice) are the same
product, its kind and strength, and an inspector's confirmation or rejection, which later
rebuilds keep.  Clusters are computed from the accepted links (sampler.products).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_product_links'
down_revision: str | None = '0011_product_images'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'product_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('other_listing_id', sa.Integer(), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('strength', sa.Float(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reviewed_by', sa.String(length=100), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['listing.id'],
                                name=op.f('fk_product_link_listing_id_listing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['other_listing_id'], ['listing.id'],
                                name=op.f('fk_product_link_other_listing_id_listing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notice_id'], ['foreign_notice.id'],
                                name=op.f('fk_product_link_notice_id_foreign_notice'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_link')),
        sa.UniqueConstraint('key', name=op.f('uq_product_link_key')),
    )
    for col in ('kind', 'listing_id', 'other_listing_id', 'notice_id'):
        op.create_index(op.f(f'ix_product_link_{col}'), 'product_link', [col])


def downgrade() -> None:
    op.drop_table('product_link')
