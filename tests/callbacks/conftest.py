"""Fixtures for callback tests: a real DuckDB store with the bundled sample loaded and segmented."""
from __future__ import annotations

import pytest

from cb_helpers import Sample, open_store
from core.pipeline import ensure_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    """Read-only tests share one store per module."""
    store = open_store(tmp_path_factory.mktemp("callbacks"))
    yield Sample(store, ensure_sample(store))
    store.close()


@pytest.fixture
def fresh(tmp_path) -> Sample:
    """Tests that write (uploads, runs) get their own store."""
    store = open_store(tmp_path)
    yield Sample(store, ensure_sample(store))
    store.close()
