"""Renaming and deleting datasets (one transaction), content hashes, and the catalogue migration."""
from __future__ import annotations

import hashlib

import duckdb
import pytest

from core.errors import InputError
from core.ingest import load_file
from core.pipeline import ensure_sample
from core.segmentation import run_segmentation
from core.store import Store


def _tables(store: Store) -> set[str]:
    with store.cursor() as cur:
        return {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_delete_removes_the_dataset_its_runs_and_nothing_else(store, mall_csv):
    keep = ensure_sample(store)
    other = load_file(store, mall_csv, "second copy")
    r1 = run_segmentation(store, other.dataset_id, ["Age", "Annual Income (k$)"], k=3)
    r2 = run_segmentation(store, other.dataset_id, ["Age", "Annual Income (k$)"], k=4)
    removed = store.delete_dataset(other.dataset_id)
    assert sorted(removed) == sorted([r1.run_id, r2.run_id])
    tables = _tables(store)
    assert f"ds_{other.dataset_id}" not in tables and f"run_{r1.run_id}" not in tables
    assert f"ds_{keep.dataset_id}" in tables and f"run_{keep.run_id}" in tables
    assert [d.dataset_id for d in store.list_datasets()] == [keep.dataset_id]
    with store.cursor() as cur:
        left = cur.execute("SELECT count(*) FROM runs WHERE dataset_id = ?", [other.dataset_id]).fetchone()[0]
    assert left == 0
    with pytest.raises(InputError):
        store.delete_dataset(other.dataset_id)


def test_rename_trims_and_refuses_empty(store, mall_csv):
    info = load_file(store, mall_csv, "x")
    assert store.rename_dataset(info.dataset_id, "  Mall   March  ").name == "Mall March"
    for bad in ("", "   ", None, 5):
        with pytest.raises(InputError):
            store.rename_dataset(info.dataset_id, bad)
    with pytest.raises(InputError):
        store.rename_dataset("0" * 12, "y")


def test_content_hash_finds_the_earlier_dataset(store, mall_csv):
    info = load_file(store, mall_csv, "x")
    digest = hashlib.sha256(mall_csv.read_bytes()).hexdigest()
    assert store.find_by_hash(digest) is None
    with store.transaction() as cur:
        store.set_content_hash(cur, info.dataset_id, digest)
    assert store.find_by_hash(digest).dataset_id == info.dataset_id


def test_an_old_database_gains_the_new_column(tmp_path, settings):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE datasets (dataset_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, source VARCHAR, "
                "kind VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT now(), rows_read BIGINT, "
                "rows_loaded BIGINT, columns JSON NOT NULL, id_column VARCHAR, quality JSON NOT NULL)")
    con.close()
    s = Store(path, settings)
    try:
        assert "content_hash" in s.table_columns("datasets")
    finally:
        s.close()
