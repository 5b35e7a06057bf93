"""Origins allowed at run time, beside the ones in settings."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime, utcnow


class CorsOrigin(Base):
    __tablename__ = "cors_origin"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
