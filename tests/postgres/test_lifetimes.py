"""The absolute session lifetime on PostgreSQL, whose refresh rotation is one statement."""

import pytest

from authgate import create_app
from tests.sessions.test_lifetimes import (  # noqa: F401 (collected here, on PostgreSQL)
    ABSOLUTE,
    test_refresh_rotation_never_extends_a_session_past_its_deadline,
    test_the_oauth2_refresh_grant_answers_the_capped_expiry,
)


@pytest.fixture
async def app(pg_settings, clock):  # type: ignore[no-untyped-def]
    settings = pg_settings.model_copy(
        update={"session_absolute_lifetime": ABSOLUTE, "refresh_token_lifetime": 600}
    )
    application = create_app(settings)
    application.state.clock = clock
    async with application.router.lifespan_context(application):
        yield application
