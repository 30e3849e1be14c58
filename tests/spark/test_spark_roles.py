"""Typing on Spark equals the DuckDB engine's: column roles (integer codes, birth years), decorated
numbers (text dates: tests/spark/test_spark_dates.py)."""
from __future__ import annotations

import pytest

from core.ingest import load_file
from core.models import CATEGORICAL, EXCLUDED, NUMERIC
from core.spark.engine import segment_spark

from tests.conftest import DATA_DIR

pytestmark = pytest.mark.spark


def _report(info):
    q = info.quality
    return (q.rows_read, q.rows_loaded, q.duplicates_removed, q.identifier_columns, q.missing,
            q.rejected_values, [(f.rule, f.column, f.count, f.sample_rows, f.message) for f in q.findings],
            q.repairs, q.warnings, [(c.name, c.role, c.sql_type, c.reason) for c in info.columns])


def test_wholesale_channel_and_region_are_categorical_like_the_duckdb_engine(spark, store):
    path = DATA_DIR / "wholesale_customers.csv"
    duck = load_file(store, path)
    sp = segment_spark(store, str(path), features=["Fresh", "Milk", "Grocery"], k=3, spark=spark).dataset
    assert _report(sp) == _report(duck)
    roles = {c.name: (c.role, c.sql_type) for c in sp.columns}
    assert roles["Channel"] == roles["Region"] == (CATEGORICAL, "VARCHAR")
    assert roles["Fresh"][0] == NUMERIC
    with store.cursor() as cur:  # the codes as the file writes them (UCI: Channel 1-2, Region 1-3)
        levels = cur.execute(f"SELECT list(DISTINCT Channel ORDER BY Channel), list(DISTINCT Region ORDER BY Region) "
                             f"FROM {sp.table}").fetchone()
    assert levels == (["1", "2"], ["1", "2", "3"])


def test_decorated_numbers_and_birth_year_like_the_duckdb_engine(spark, store, tmp_path):
    path = tmp_path / "decorated.csv"
    rows = ["CustomerID,Year_Birth,Balance,Discount,Visits"]
    for i in range(1, 31):
        bal = f'"(${i},{i % 10}00)"' if i % 7 == 0 else f'"${i},{i % 10}50"'
        rows.append(f"{i},{1950 + i},{bal},{i * 1.5}%,{i * 3}")
    path.write_text("\n".join(rows) + "\n")
    duck = load_file(store, path)
    sp = segment_spark(store, str(path), features=["Balance", "Discount", "Visits"], k=2, spark=spark).dataset
    assert _report(sp) == _report(duck)
    roles = {c.name: c.role for c in sp.columns}
    assert roles["Year_Birth"] == EXCLUDED and roles["Age (from Year_Birth)"] == NUMERIC
    with store.cursor() as cur:
        got = cur.execute(f'SELECT Balance, Discount FROM {sp.table} WHERE CustomerID IN (7, 8) ORDER BY CustomerID').fetchall()
    assert got == [(-7700, 10.5), (8850, 12.0)]  # hand-read: "($7,700)" -> -7700, "$8,850" -> 8850, "12.0%" -> 12
