"""second factors: TOTP, recovery codes, log-in challenges, passkeys; sessions' auth_time, amr

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authgate.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["user.id"], name=op.f(f"fk_{table}_user_id_user"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "totp_factor",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", authgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        _user_fk("totp_factor"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_factor")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", authgate.db.UTCDateTime(timezone=True), nullable=True),
        _user_fk("recovery_code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_code_code_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_user_id"), ["user_id"], unique=False)
    op.create_table(
        "mfa_challenge",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("password_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", authgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _user_fk("mfa_challenge"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_mfa_challenge")),
    )
    with op.batch_alter_table("mfa_challenge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mfa_challenge_user_id"), ["user_id"], unique=False)
    op.create_table(
        "passkey",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1024), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("created_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", authgate.db.UTCDateTime(timezone=True), nullable=True),
        _user_fk("passkey"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkey_credential_id")),
    )
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passkey_user_id"), ["user_id"], unique=False)
    op.create_table(
        "webauthn_challenge",
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", authgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", authgate.db.UTCDateTime(timezone=True), nullable=True),
        _user_fk("webauthn_challenge"),
        sa.PrimaryKeyConstraint("challenge_hash", name=op.f("pk_webauthn_challenge")),
    )
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_time", authgate.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("amr", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.drop_column("amr")
        batch_op.drop_column("auth_time")
    op.drop_table("webauthn_challenge")
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkey_user_id"))
    op.drop_table("passkey")
    with op.batch_alter_table("mfa_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfa_challenge_user_id"))
    op.drop_table("mfa_challenge")
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_user_id"))
    op.drop_table("recovery_code")
    op.drop_table("totp_factor")
