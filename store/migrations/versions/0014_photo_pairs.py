"""photo pairs: copies found among stored photos, kept so a link build searches only new ones

Revision ID: 0014_photo_pairs
Revises: 0013_risk_runs
Create Date: 2026-12-07 23:10:00

Linking every product photo of a large store to its copies is a self-join over millions of
hashes (store.photopairs).  ``photo_pair`` keeps the pairs found, ``photo_pass`` each search
(up to which photo, with which parameters), so the next build searches only the photos added
since; photos never change, so a pair once found stays one.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_photo_pairs'
down_revision: str | None = '0013_risk_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'photo_pair',
        sa.Column('image_id', sa.Integer(), nullable=False),
        sa.Column('other_image_id', sa.Integer(), nullable=False),
        sa.Column('distance', sa.Integer(), nullable=False),
        sa.Column('phash_distance', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['image_id'], ['product_image.id'],
                                name=op.f('fk_photo_pair_image_id_product_image'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['other_image_id'], ['product_image.id'],
                                name=op.f('fk_photo_pair_other_image_id_product_image'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('image_id', 'other_image_id', name=op.f('pk_photo_pair')),
    )
    op.create_index(op.f('ix_photo_pair_other_image_id'), 'photo_pair', ['other_image_id'])
    op.create_table(
        'photo_pass',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('upto_image_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('searched', sa.Integer(), nullable=False),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_pass')),
    )


def downgrade() -> None:
    op.drop_table('photo_pass')
    op.drop_index(op.f('ix_photo_pair_other_image_id'), table_name='photo_pair')
    op.drop_table('photo_pair')
