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


def worker_scope(nodeid: str) -> str:
    """What runs whole on one pytest-xdist worker (make test: `-n 2 --dist loadscope`): every Spark
    test (one SparkSession, one JVM), every browser test (one Chromium at a time), and each other
    module (its module-scoped fixtures are built once)."""
    path = nodeid.split("::", 1)[0]
    for folder in ("tests/spark/", "tests/browser/"):
        if path.startswith(folder):
            return folder
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's loadscope with `worker_scope` as the scope. (Its loadgroup marks do not work with
    pytest 9.2: they rename item._nodeid, which pytest no longer reads.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkerScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_scope(nodeid)

    return WorkerScopeScheduling(config, log)


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
