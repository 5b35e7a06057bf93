"""The outbox: every mail, written in the same transaction as what caused it, until it is sent."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime


class OutboxMail(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # "password_reset" | "email_verification"
    recipient: Mapped[str] = mapped_column(String(320))
    # The whole RFC 5322 message. It holds a live link until sent, then it is emptied.
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a sender may next try it; indexed, it is what every poll asks for.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A claim: the sender that holds the lease, and until when. A lapsed lease can be retaken.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # refused for good
    last_error: Mapped[str | None] = mapped_column(String(500))
