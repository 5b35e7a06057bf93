"""The mails people receive: localised subject, plain-text and HTML bodies, never a password."""

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from authgate.i18n import translate

SERVICE = "authgate"
# kind -> the catalogue's key prefix
PREFIXES = {"password_reset": "mail_reset", "email_verification": "mail_verify"}


@dataclass(frozen=True, slots=True)
class Letter:
    """What one kind of mail says, in one language; `write` makes the message for one person."""

    kind: str  # "password_reset" | "email_verification"
    language: str
    sender: str
    link_template: str  # `{token}` is replaced
    lifetime: int  # seconds

    def link(self, token: str) -> str:
        return self.link_template.replace("{token}", token)

    def write(self, *, recipient: str, username: str, token: str) -> EmailMessage:
        texts = self._texts(recipient, username)
        link = self.link(token)
        message = EmailMessage()
        message["Subject"] = texts["subject"]
        message["From"] = self.sender
        message["To"] = recipient
        message["Date"] = formatdate(localtime=False)
        # A domain given, so that make_msgid never asks DNS for this host's name.
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message["Content-Language"] = self.language
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(_plain(texts, link))
        message.add_alternative(_html(texts, link, self.language), subtype="html")
        return message

    def _texts(self, recipient: str, username: str) -> dict[str, str]:
        prefix, language = PREFIXES[self.kind], self.language
        values = {"service": SERVICE, "username": username, "email": recipient}
        texts = {
            part: translate(f"{prefix}_{part}", language, **values)
            for part in ("subject", "intro", "action", "not_you")
        }
        texts["validity"] = translate(
            f"{prefix}_validity", language, duration=duration(self.lifetime, language)
        )
        texts["hint"] = translate("mail_link_hint", language)
        texts["footer"] = translate("mail_footer", language, service=SERVICE)
        return texts


def duration(seconds: int, language: str) -> str:
    if seconds >= 7200 and seconds % 3600 == 0:
        return translate("duration_hours", language, n=seconds // 3600)
    return translate("duration_minutes", language, n=max(1, seconds // 60))


def _plain(texts: dict[str, str], link: str) -> str:
    paragraphs = (texts["intro"], link, texts["validity"], texts["not_you"], "-- ", texts["footer"])
    return "\n\n".join(paragraphs) + "\n"


def _html(texts: dict[str, str], link: str, language: str) -> str:
    e = {name: html.escape(text) for name, text in texts.items()}
    href = html.escape(link, quote=True)
    button = (
        "display:inline-block;padding:10px 18px;background:#1f5fbf;color:#ffffff;"
        "text-decoration:none;border-radius:4px"
    )
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><title>{e["subject"]}</title></head>
<body style="font-family:sans-serif;line-height:1.5;color:#222222;max-width:36em">
<p>{e["intro"]}</p>
<p><a href="{href}" style="{button}">{e["action"]}</a></p>
<p>{e["validity"]}</p>
<p>{e["not_you"]}</p>
<p style="font-size:small">{e["hint"]}<br><a href="{href}">{href}</a></p>
<hr><p style="font-size:small;color:#666666">{e["footer"]}</p>
</body></html>
"""
