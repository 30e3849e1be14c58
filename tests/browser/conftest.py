"""Browser fixtures: the real app (create_app) on a temporary DuckDB file, driven by dash_duo."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from core.config import PROJECT_DIR, Settings
from core.store import Store

from dashboard_page import Dashboard

TESTS_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_store(tmp_path):
    settings = Settings(data_dir=tmp_path, db_file=str(tmp_path / "app.duckdb"), memory_limit="1GB", threads=2)
    store = Store(settings.db_path, settings, allowed_dirs=[tmp_path, TESTS_DIR, PROJECT_DIR / "data"])
    yield store, settings
    store.close()


@pytest.fixture
def dashboard(app_store, dash_duo) -> Dashboard:
    """The dashboard open in headless Chromium on the bundled sample (the store outlives the server)."""
    store, settings = app_store
    app = create_app(store, settings)
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(app)
    return Dashboard(dash_duo, store).wait_loaded()
