"""product photos: content-addressed images with perceptual hashes, linked to listings and
notices

Revision ID: 0011_product_images
Revises: 0010_listing_gtin
Create Date: 2026-12-07 17:00:00

The same product sold by many sellers is found by its photos: a crawl downloads a listing's
images (bounded), keeps each file once in the data folder's artifacts (by SHA-256), and its
PDQ and pHash here; ``listing_image`` / ``notice_image`` say which listing or notice shows
which photo, at which position (a failed fetch keeps its error and no image).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_product_images'
down_revision: str | None = '0010_listing_gtin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _links(table: str, owner: str, owner_table: str) -> None:
    op.create_table(
        table,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('image_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['image_id'], ['product_image.id'],
                                name=op.f(f'fk_{table}_image_id_product_image'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint([owner], [f'{owner_table}.id'],
                                name=op.f(f'fk_{table}_{owner}_{owner_table}'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.UniqueConstraint(owner, 'position', name=op.f(f'uq_{table}_{owner}_position')),
    )
    op.create_index(op.f(f'ix_{table}_image_id'), table, ['image_id'])


def upgrade() -> None:
    op.create_table(
        'product_image',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('pdq', sa.String(length=64), nullable=False),
        sa.Column('pdq_quality', sa.Integer(), nullable=False),
        sa.Column('pdq_crops', sa.JSON(), nullable=False),
        sa.Column('phash', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_image')),
        sa.UniqueConstraint('sha256', name=op.f('uq_product_image_sha256')),
    )
    op.create_index(op.f('ix_product_image_pdq'), 'product_image', ['pdq'])
    _links('listing_image', 'listing_id', 'listing')
    _links('notice_image', 'notice_id', 'foreign_notice')


def downgrade() -> None:
    op.drop_table('notice_image')
    op.drop_table('listing_image')
    op.drop_table('product_image')
