"""Fixtures for callback tests: a real DuckDB store with the bundled sample loaded and segmented."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.models import Run
from core.pipeline import ensure_sample
from core.store import Store, run_table

TESTS_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Sample:
    store: Store
    run: Run

    def spec(self, **fields) -> dict:
        return {"run_id": self.run.run_id, **fields}

    def sql_count(self, where: str = "TRUE", params: list | None = None) -> int:
        """An independent count straight from the run table, to check what the views say."""
        with self.store.cursor() as cur:
            return cur.execute(
                f"SELECT count(*) FROM {run_table(self.run.run_id)} WHERE {where}", params or []
            ).fetchone()[0]


def _open(folder: Path) -> Store:
    settings = Settings(data_dir=folder, memory_limit="1GB", threads=2)
    return Store(folder / "callbacks.duckdb", settings, allowed_dirs=[folder, TESTS_DIR, PROJECT_DIR / "data"])


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    """Read-only tests share one store per module."""
    store = _open(tmp_path_factory.mktemp("callbacks"))
    yield Sample(store, ensure_sample(store))
    store.close()


@pytest.fixture
def fresh(tmp_path) -> Sample:
    """Tests that write (uploads, runs) get their own store."""
    store = _open(tmp_path)
    yield Sample(store, ensure_sample(store))
    store.close()
