"""The units of work and `Prepared` statements on PostgreSQL (asyncpg), same tests."""

import pytest

from tests.test_db_units import (  # noqa: F401  (collected here, on the PostgreSQL fixtures)
    test_a_refused_refresh_does_not_spend_the_token,
    test_a_unit_that_raises_is_rolled_back,
    test_concurrent_writes_each_keep_their_own_outcome,
    test_prepared_values_round_trip_like_core_statements,
    test_prepared_without_columns_counts_rows,
)

pytestmark = pytest.mark.postgres
