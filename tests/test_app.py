"""`create_served_app`: the app each `authgate serve` worker runs."""

import gc

import pytest

from authgate.app import create_app, create_served_app
from tests.conftest import TEST_SECRET


@pytest.fixture
def served_env(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    monkeypatch.setenv("AUTHGATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("AUTHGATE_SECRET_KEY", TEST_SECRET)


@pytest.mark.usefixtures("restore_root_logging")
async def test_a_served_worker_freezes_its_start_up_heap(served_env: None) -> None:
    app = create_served_app()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_an_app_built_by_create_app_leaves_the_collector_alone(settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
