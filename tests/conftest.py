"""Shared fixtures: a DuckDB file per test, the bundled sample, and the browser-availability rule."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.store import Store

TESTS_DIR = Path(__file__).resolve().parent
MALL_CSV = PROJECT_DIR / "data" / "mall_customers.csv"
INPUTS_DIR = TESTS_DIR / "inputs"  # the bad-input corpus
DATA_DIR = TESTS_DIR / "data"  # good fixtures (CDNOW sample, dirty fixture, ...)


def browser_available() -> bool:
    chrome = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium")
    return bool(chrome and Path(chrome).exists() and shutil.which("chromedriver"))


def pytest_collection_modifyitems(config, items):
    # Browser tests may skip on a laptop without a browser, never in CI: there they run and fail.
    if browser_available() or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return
    skip = pytest.mark.skip(reason="no chromium/chromedriver here (install them, or run in CI)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, memory_limit="2GB", threads=2)


@pytest.fixture
def store(tmp_path: Path, settings: Settings) -> Store:
    """A real DuckDB file on disk in the test's own folder; can read the repo's test data."""
    s = Store(tmp_path / "test.duckdb", settings, allowed_dirs=[tmp_path, TESTS_DIR, PROJECT_DIR / "data"])
    yield s
    s.close()


@pytest.fixture(scope="session")
def mall_csv() -> Path:
    return MALL_CSV
