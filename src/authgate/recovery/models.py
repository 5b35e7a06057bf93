"""One-time tokens sent by e-mail; only their SHA-256 hashes are stored."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime


class OneTimeToken(Base):
    __tablename__ = "one_time_token"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "reset" | "verify"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # verify: the address it was sent to; it is refused once the account has another one.
    email_key: Mapped[str | None] = mapped_column(String(320))
    # reset: a fingerprint of the password hash it was made under; any password change kills it.
    password_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # spent or superseded
