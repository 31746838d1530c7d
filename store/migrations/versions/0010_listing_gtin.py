"""listings carry their GTIN (EAN/UPC barcode), 14 digits, indexed

Revision ID: 0010_listing_gtin
Revises: 0009_listing_availability
Create Date: 2026-12-07 16:50:00

The same product sold on several platforms, and named in a foreign notice, is found first by
its barcode.  The crawl read GTINs already but kept them only in ``raw["fields"]["gtin"]``;
now the crawl writer stores them in the GS1 normal form (14 digits, valid check digit, the
form notices' ``gtins`` use) in an indexed column.  Listings stored before are filled from
their ``raw`` here (the rule is copied, not imported: a migration must not change when the
code does).  NULL: no valid GTIN seen.
"""
import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0010_listing_gtin'
down_revision: str | None = '0009_listing_availability'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def _gtin(value: Any) -> str | None:
    """store.gtin.normalise_gtin as of this revision."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    code = re.sub(r"[\s\-.\u00a0\u2009\u202f]", "", value.strip())
    if not code.isascii() or not code.isdigit() or len(code) not in (8, 12, 13, 14) \
            or not code.strip('0'):
        return None
    digits = [int(c) for c in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return code.zfill(14) if (10 - total % 10) % 10 == digits[-1] else None


def _backfill(bind: Any) -> None:
    listing = sa.table('listing', sa.column('id', sa.Integer), sa.column('raw', sa.JSON),
                       sa.column('gtin', sa.String))
    last = 0
    while True:
        rows = bind.execute(sa.select(listing.c.id, listing.c.raw)
                            .where(listing.c.id > last).order_by(listing.c.id)
                            .limit(_BATCH)).all()
        if not rows:
            return
        last = rows[-1][0]
        found = []
        for listing_id, raw in rows:
            if isinstance(raw, str):
                try:
                    raw = json.loads(raw)
                except ValueError:
                    continue
            fields = raw.get('fields') if isinstance(raw, dict) else None
            code = _gtin(fields.get('gtin')) if isinstance(fields, dict) else None
            if code is not None:
                found.append({'lid': listing_id, 'code': code})
        if found:
            bind.execute(sa.update(listing).where(listing.c.id == sa.bindparam('lid'))
                         .values(gtin=sa.bindparam('code')), found)


def upgrade() -> None:
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.add_column(sa.Column('gtin', sa.String(length=14), nullable=True))
    op.create_index('ix_listing_gtin', 'listing', ['gtin'])
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_listing_gtin', table_name='listing')
    # Never by copying the table (SQLite's batch mode): see 0009.
    with op.batch_alter_table('listing', recreate='never') as batch:
        batch.drop_column('gtin')
