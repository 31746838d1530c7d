"""one rule for a listing's permanent random number; old numbers kept and recorded

Revision ID: 0007_prn_one_rule
Revises: 0006_cli_sessions
Create Date: 2026-12-07 13:55:00

The crawl writer derived a listing's PRN from ``{platform_code}\\x1f{external_id}``; the sampler
gave listings stored without one ``prn:{platform_id}:{external_id}`` and wrote it into the
listing.  ``store.prn`` is now the one rule (the crawl writer's, which names the listing by
what it is in any database).  Existing numbers are KEPT: past plans froze them in their frames
and coordinated samples (Pareto, rotation) rest on a listing's number never changing, so
recomputing them would silently decouple the next draw from the last.  Instead each listing
whose stored number differs from the rule is recorded in ``listing_prn_legacy`` (kept value and
the rule's value), and listings without a number get the rule's.  The formula is copied here,
not imported: a migration must give the same result whatever the code later becomes.
"""
import datetime as dt
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_prn_one_rule'
down_revision: str | None = '0006_cli_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _prn(platform_code: str, external_id: str) -> float:
    digest = hashlib.sha256(f"{platform_code}\x1f{external_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def upgrade() -> None:
    op.create_table(
        'listing_prn_legacy',
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('prn', sa.Float(), nullable=False),
        sa.Column('canonical_prn', sa.Float(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['listing.id'],
                                name=op.f('fk_listing_prn_legacy_listing_id_listing'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_listing_prn_legacy')),
    )
    bind = op.get_bind()
    listing = sa.table('listing', sa.column('id', sa.Integer), sa.column('prn', sa.Float),
                       sa.column('external_id', sa.String), sa.column('platform_id', sa.Integer))
    platform = sa.table('platform', sa.column('id', sa.Integer), sa.column('code', sa.String))
    legacy = sa.table('listing_prn_legacy', sa.column('listing_id', sa.Integer),
                      sa.column('prn', sa.Float), sa.column('canonical_prn', sa.Float),
                      sa.column('recorded_at', sa.DateTime(timezone=True)))
    now = dt.datetime.now(dt.UTC)
    rows = bind.execute(sa.select(listing.c.id, listing.c.prn, listing.c.external_id,
                                  platform.c.code)
                        .join(platform, platform.c.id == listing.c.platform_id)).all()
    fill, record = [], []
    for lid, prn, external_id, code in rows:
        rule = _prn(code, external_id)
        if prn is None or not 0.0 < prn < 1.0:
            fill.append({'lid': lid, 'new_prn': rule})
        elif prn != rule:
            record.append({'listing_id': lid, 'prn': prn, 'canonical_prn': rule,
                           'recorded_at': now})
    if fill:
        bind.execute(listing.update().where(listing.c.id == sa.bindparam('lid'))
                     .values(prn=sa.bindparam('new_prn')), fill)
    if record:
        bind.execute(legacy.insert(), record)


def downgrade() -> None:
    op.drop_table('listing_prn_legacy')
