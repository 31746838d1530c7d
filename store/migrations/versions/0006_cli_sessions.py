"""command-line sessions (cli_session) and atomic login throttling (login_attempt)

Revision ID: 0006_cli_sessions
Revises: 0005_notice_keys
Create Date: 2026-12-07 14:00:00

Privileged CLI actions (approving plans, revealing personas, rotating keys, managing users)
need an authenticated user instead of a ``--user`` claim: ``spotcheck login`` stores a token
whose SHA-256 is kept here.  Login throttling counts attempts per name and per address in
``login_attempt`` with one atomic upsert before the password is checked.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_cli_sessions'
down_revision: str | None = '0005_notice_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'cli_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('origin', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_cli_session_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cli_session')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_cli_session_token_sha256')),
    )
    op.create_index(op.f('ix_cli_session_user_id'), 'cli_session', ['user_id'], unique=False)
    op.create_table(
        'login_attempt',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_attempt')),
    )


def downgrade() -> None:
    op.drop_table('login_attempt')
    op.drop_index(op.f('ix_cli_session_user_id'), table_name='cli_session')
    op.drop_table('cli_session')
