"""The audit trail on PostgreSQL: the core event tests, run against the `app` of this folder."""

import pytest

from tests.audit.test_events import (  # noqa: F401 (collected here too)
    test_admin_change_and_deactivation,
    test_deletion_keeps_the_history,
    test_failed_logins_are_queued_then_written,
    test_no_event_when_the_change_rolls_back,
    test_password_change_ends_every_session,
    test_refresh_reuse,
    test_signup_records_signup_and_login,
    test_token_logout_and_logout_all,
)
from tests.audit.test_factor_events import (  # noqa: F401
    test_reauthentication_outcomes,
    test_totp_on_off_and_each_login_step,
)
from tests.audit.test_router import (  # noqa: F401
    test_admin_audit_filters,
    test_admin_audit_pages_newest_first,
    test_own_events_only,
)
from tests.audit.test_trail import test_retention_deletes_old_events_in_batches  # noqa: F401

pytestmark = pytest.mark.postgres
