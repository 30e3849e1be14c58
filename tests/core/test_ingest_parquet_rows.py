"""Parquet staging numbers rows by their position in the file (one pass with DuckDB's
file_row_number), and still does when the file has its own column of that name (the older two-step
path): row numbers, values and types are the file's, checked against a hand-written table."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.store import quote_ident

# Deliberately not sorted by any column, so a numbering that followed a sort would show.
INCOME = [70.5, 12.0, 99.25, 45.0, 12.0, 88.0, 30.5]
NAMES = ["c", "a", "g", "d", "b", "f", "e"]


@pytest.mark.parametrize("own_column", [False, True])
def test_rows_are_numbered_in_file_order(store, tmp_path, own_column):
    from core.ingest import load_file

    columns = {"Name": NAMES, "Income": INCOME}
    if own_column:  # a column named like the reader's position column: the fallback path
        columns["file_row_number"] = [9, 9, 8, 8, 7, 7, 6]
    path = tmp_path / "customers.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=3)  # several row groups

    info = load_file(store, path)

    assert info.rows_read == len(NAMES) and info.rows_loaded == len(NAMES)
    cols = ", ".join(quote_ident(c) for c in columns)
    with store.cursor() as cur:
        rows = cur.execute(f"SELECT __row, {cols} FROM {info.table} ORDER BY __row").fetchall()
    expected = [(i + 1, *values) for i, values in enumerate(zip(*columns.values()))]
    assert rows == expected
    assert info.column("Income").sql_type == "DOUBLE"
