"""`Mailer`: what routes and the app's lifespan see of e-mail (letters, the sender)."""

from authgate.db import Database
from authgate.mail.compose import Letter
from authgate.mail.sender import MailSender
from authgate.mail.transport import transport_for
from authgate.settings import Settings

RESET_PAGE = "/ui/reset-password?token={token}"
VERIFY_PAGE = "/ui/verify-email?token={token}"


class Mailer:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.sender = MailSender(db, transport_for(settings), settings)
        base = settings.public_url.rstrip("/")
        self._templates = {
            "password_reset": settings.password_reset_url or base + RESET_PAGE,
            "email_verification": settings.email_verify_url or base + VERIFY_PAGE,
        }
        self._lifetimes = {
            "password_reset": settings.password_reset_lifetime,
            "email_verification": settings.email_verify_lifetime,
        }

    def letter(self, kind: str, language: str) -> Letter:
        return Letter(
            kind=kind,
            language=language,
            sender=self.settings.email_from,
            link_template=self._templates[kind],
            lifetime=self._lifetimes[kind],
        )

    def start(self) -> None:
        self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()

    def wake(self) -> None:
        self.sender.wake()
