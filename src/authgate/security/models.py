"""Signing key pairs kept in the database, so that every instance signs and verifies alike."""

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime


class SigningKeyRow(Base):
    """One key pair: the private key as PKCS#8 PEM, sealed with AES-256-GCM (`keystore`)."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    private_key: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext and GCM tag
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a newer key took over signing; the key verifies until it is pruned.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
