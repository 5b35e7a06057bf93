"""change numbers: a sequence that numbers the changes published through Redis

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL only: several hosts share changes through Redis only on PostgreSQL (see
# authgate.redisfeed); one host's SQLite has its own feed.
SEQUENCE = "authgate_change_seq"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
