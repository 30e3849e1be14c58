"""Shared by the Spark test modules: one file segmented by both engines into one fresh store, and
how many customers the two runs put in the same segment."""
from __future__ import annotations

from pathlib import Path

from core.config import Settings
from core.models import SEGMENT
from core.pipeline import segment_path
from core.spark.engine import segment_spark
from core.store import Store, run_table


def fresh_store(folder: Path, allowed: Path) -> Store:
    """A DuckDB file of its own (1 GB, 1 thread: beside the Spark JVM on 2 cores) that may read `allowed`."""
    return Store(folder / "t.duckdb", Settings(data_dir=folder, memory_limit="1GB", threads=1),
                 allowed_dirs=[allowed])


def both_engines(store: Store, spark, path: Path, features: list[str], k: int, **options):
    """(DuckDB engine's result, Spark engine's result) for the same file, features, k and options."""
    duck = segment_path(store, path, features=features, k=k, **options)
    sp = segment_spark(store, str(path), features=features, k=k, spark=spark, **options)
    return duck, sp


def same_segment_count(store: Store, a_run_id: str, b_run_id: str) -> int:
    """Customers (by __row) that two runs put in the same segment."""
    with store.cursor() as cur:
        return cur.execute(
            f"SELECT count(*) FROM {run_table(a_run_id)} a JOIN {run_table(b_run_id)} b "
            f"USING (__row) WHERE a.{SEGMENT} = b.{SEGMENT}"
        ).fetchone()[0]
