"""Text search over listings (title, brand, model, external id) and their sellers' names.

Inspectors search for substrings, often Chinese ones without word boundaries ("保温杯" inside
"儿童保温杯316不锈钢"), so the search is a case-insensitive substring match — what
``ILIKE '%q%'`` means — but without reading the whole listing table:

* SQLite: FTS5 tables with the ``trigram`` tokenizer (SQLite ≥ 3.34), ``listing_fts`` over
  ``listing`` and ``seller_fts`` over ``seller`` (external content, kept in sync by triggers;
  migration 0003).  A query is one quoted FTS phrase, which with trigrams is exactly a substring.
* PostgreSQL: ``pg_trgm`` GIN indexes on the same columns; ``ILIKE`` uses them by itself.

Trigrams need three characters, so one- and two-character queries ("台灯") fall back to a
plain ``LIKE`` scan; ordered by an index and limited (the console's pages), that still stops
early for common words.

Anything that rebuilds the ``listing`` or ``seller`` table on SQLite (an Alembic batch
migration) drops its triggers: such a migration must call :func:`create_sqlite_triggers`
again (tests/store/test_search.py fails otherwise).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, column, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.models import Listing, Seller

#: FTS5 virtual tables (SQLite) and trigram indexes (PostgreSQL) that live outside the models;
#: schema comparison (alembic autogenerate, tests) ignores them and their shadow tables.
FTS_TABLES = ("listing_fts", "seller_fts")
TRGM_INDEXES = ("ix_listing_trgm", "ix_seller_name_trgm")
#: Listing columns in the listing FTS table / trigram index.
LISTING_TEXT_COLUMNS = ("title", "brand", "model", "external_id")
MIN_TRIGRAM = 3
#: Up to this many matching sellers go into the listing query as literal ids (PostgreSQL).
SELLER_IDS_INLINE = 1000


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether *name* is one of the search structures the models do not describe."""
    if not name:
        return False
    if type_ == "table":
        return any(name == t or name.startswith(t + "_") for t in FTS_TABLES)
    return type_ == "index" and name in TRGM_INDEXES


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: compare everything but the search structures."""
    return not is_search_object(name, type_)


# --- SQLite FTS5 ----------------------------------------------------------------------------

def _trigger_sql(table: str, fts: str, cols: tuple[str, ...]) -> list[str]:
    names = ", ".join(cols)
    new = ", ".join(f"new.{c}" for c in cols)
    old = ", ".join(f"old.{c}" for c in cols)
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


_SQLITE_FTS = {"listing_fts": ("listing", LISTING_TEXT_COLUMNS), "seller_fts": ("seller", ("name",))}


def sqlite_has_trigram(conn: Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        conn.exec_driver_sql("CREATE VIRTUAL TABLE temp._trigram_probe USING fts5(x, "
                             "tokenize='trigram')")
    except Exception:  # no FTS5, or no trigram tokenizer: the LIKE path
        return False
    conn.exec_driver_sql("DROP TABLE temp._trigram_probe")
    return True


def create_sqlite_triggers(conn: Connection) -> None:
    """(Re)create the triggers that keep the FTS tables in step with their content tables."""
    for fts, (table, cols) in _SQLITE_FTS.items():
        for sql in _trigger_sql(table, fts, cols):
            conn.exec_driver_sql(sql)


def create_sqlite_fts(conn: Connection) -> bool:
    """Create the FTS5 tables and triggers and index what is there; False without trigram."""
    if not sqlite_has_trigram(conn):
        return False
    for fts, (table, cols) in _SQLITE_FTS.items():
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({', '.join(cols)}, "
            f"content='{table}', content_rowid='id', tokenize='trigram')")
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    create_sqlite_triggers(conn)
    return True


def drop_sqlite_fts(conn: Connection) -> None:
    for fts in _SQLITE_FTS:
        for suffix in ("ai", "ad", "au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")


def _sqlite_fts_ready(session: Session) -> bool:
    return session.execute(text(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('listing_fts', 'seller_fts')"
    )).scalar_one() == 2


# --- PostgreSQL pg_trgm ---------------------------------------------------------------------

def pg_trgm_schema(conn: Connection, create: bool = True) -> str | None:
    """The schema holding pg_trgm, creating the extension if it is available and allowed.

    It goes into ``public`` when that schema exists (not the first schema of the search path,
    which may be a short-lived one), and a failure (no privilege, not installed) leaves the
    surrounding transaction usable: the search then works without the index.
    """
    def installed() -> str | None:
        value = conn.execute(text("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                  "WHERE extname = 'pg_trgm'")).scalar()
        return None if value is None else str(value)

    found = installed()
    if found is not None or not create:
        return found
    if conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
                    ).scalar() is None:
        return None
    has_public = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")
                              ).scalar() is not None
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"
                              + (" SCHEMA public" if has_public else "")))
    except Exception:  # no privilege or a concurrent creator: no index
        return installed()
    return installed()


def create_pg_trgm_indexes(conn: Connection) -> bool:
    """GIN trigram indexes for ILIKE on the listing text columns and seller names."""
    schema = pg_trgm_schema(conn)
    if schema is None:
        return False
    ops = f'"{schema}".gin_trgm_ops' if not schema.startswith('"') else f"{schema}.gin_trgm_ops"
    cols = ", ".join(f"{c} {ops}" for c in LISTING_TEXT_COLUMNS)
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_listing_trgm ON listing USING gin ({cols})"))
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_seller_name_trgm ON seller "
                      f"USING gin (name {ops})"))
    return True


def drop_pg_trgm_indexes(conn: Connection) -> None:
    """Drop the indexes; the extension stays (other databases' objects may use it)."""
    for name in TRGM_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


# --- the query condition --------------------------------------------------------------------

def like_pattern(q: str) -> str:
    """A LIKE pattern matching *q* literally anywhere (``%``, ``_`` and ``\\`` escaped)."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


def listing_text_condition(session: Session, q: str) -> ColumnElement[bool]:
    """A WHERE condition on :class:`~store.models.Listing`: *q* (stripped) occurs, ignoring
    case, in its title, brand, model or external id, or in its seller's name.

    Uses the FTS5 tables on SQLite and reads as ILIKE on PostgreSQL (where the trigram indexes
    serve it); queries shorter than three characters are plain LIKE scans.
    """
    q = q.strip()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and len(q) >= MIN_TRIGRAM and _sqlite_fts_ready(session):
        phrase = _fts_phrase(q)
        ids = text(
            "SELECT rowid FROM listing_fts WHERE listing_fts MATCH :listing_q UNION ALL "
            "SELECT id FROM listing WHERE seller_id IN "
            "(SELECT rowid FROM seller_fts WHERE seller_fts MATCH :seller_q)"
        ).bindparams(bindparam("listing_q", phrase, unique=True),
                     bindparam("seller_q", phrase, unique=True)
                     ).columns(column("rowid", Integer))
        return Listing.id.in_(ids)
    pattern = like_pattern(q)
    by_seller = select(Seller.id).where(Seller.name.ilike(pattern, escape="\\"))
    in_text = [getattr(Listing, c).ilike(pattern, escape="\\") for c in LISTING_TEXT_COLUMNS]
    if dialect == "postgresql" and len(q) >= MIN_TRIGRAM:
        # The sellers first (their trigram index), as a list of ids: then the planner can
        # either walk the risk index and filter (common words) or OR the trigram and seller
        # indexes together (rare ones) — a subquery in the OR would rule the second out.
        sellers = list(session.scalars(by_seller.limit(SELLER_IDS_INLINE + 1)))
        if len(sellers) <= SELLER_IDS_INLINE:
            return or_(*in_text, Listing.seller_id.in_(sellers)) if sellers else or_(*in_text)
    return or_(*in_text, Listing.seller_id.in_(by_seller))
