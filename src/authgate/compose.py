"""One place builds the service's collaborators from its settings: for `create_app` and for
the command line alike."""

from dataclasses import dataclass

from authgate.audit.trail import AuditTrail
from authgate.changes import ChangeFeed
from authgate.cors.registry import OriginRegistry
from authgate.db import Database, is_sqlite_url
from authgate.feeds import PostgresFeed
from authgate.hostfeed import HostFeed
from authgate.mail.mailer import Mailer
from authgate.metrics import Metrics
from authgate.mfa.service import totp_cipher
from authgate.net import ClientResolver
from authgate.passkeys.service import RelyingParty, relying_party
from authgate.redisfeed import RedisFeed
from authgate.security.keyring import KeyRing
from authgate.security.keys import load_secret_key
from authgate.security.keystore import KeyCipher
from authgate.security.passwords import PasswordHasher
from authgate.security.ratelimit import Limits
from authgate.security.tokens import TokenCodec
from authgate.sessions.store import SessionStore
from authgate.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    feed: ChangeFeed
    db: Database
    secret_key: str
    keys: KeyRing
    hasher: PasswordHasher
    tokens: TokenCodec
    sessions: SessionStore
    clients: ClientResolver
    cors: OriginRegistry
    limits: Limits
    mail: Mailer
    totp_cipher: KeyCipher
    passkeys: RelyingParty
    audit: AuditTrail
    metrics: Metrics

    async def close(self) -> None:
        self.hasher.close()
        await self.db.dispose()
        self.feed.close()


def build_feed(settings: Settings) -> ChangeFeed:
    """The change feed: through the data folder for SQLite (one host); across hosts through
    Redis when it is configured, else through PostgreSQL itself."""
    url = settings.effective_database_url
    if is_sqlite_url(url):
        return HostFeed(settings.data_dir)
    if settings.redis_url:
        return RedisFeed(settings.redis_url, url)
    return PostgresFeed(url)


def build(settings: Settings) -> Services:
    feed = build_feed(settings)
    db = Database(settings.effective_database_url, feed)
    secret_key = load_secret_key(settings)
    keys = KeyRing(settings, secret_key, db)
    return Services(
        settings=settings,
        feed=feed,
        db=db,
        secret_key=secret_key,
        keys=keys,
        hasher=PasswordHasher(settings),
        tokens=TokenCodec(settings, keys),
        sessions=SessionStore(db, feed),
        clients=ClientResolver(settings.trusted_proxies),
        cors=OriginRegistry(settings, db),
        limits=Limits(settings),
        mail=Mailer(settings, db),
        totp_cipher=totp_cipher(secret_key),
        passkeys=relying_party(settings, secret_key),
        audit=AuditTrail(db, settings.audit_retention_days),
        metrics=Metrics(),
    )
