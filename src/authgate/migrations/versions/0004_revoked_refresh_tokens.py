"""refresh tokens of deleted accounts, remembered until they expire

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authgate.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_refresh_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_revoked_refresh_token")),
    )
    with op.batch_alter_table("revoked_refresh_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_refresh_token_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("revoked_refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_refresh_token_expires_at"))
    op.drop_table("revoked_refresh_token")
