"""core.dates.detect_dates reads a column with few distinct values once per distinct value, weighted by
its count: the reading (counts, layouts, order, message) must be the one of the value-by-value scan."""
from __future__ import annotations

import duckdb
import pytest

import core.dates as dates

VALUES = (
    ["2021-03-04"] * 7 + ["2021-03-04 10:15:00"] * 2 + ["13/05/2021"] * 5 + ["05/13/2021"] * 2
    + ["4/3/21 8:26"] * 3 + ["12-May-2013"] * 2 + ["May 12, 2013"] + ["20210304"] * 4
    + ["31/02/2021", "yesterday", "0021-03-04", "  2021-03-05  ", "", None, None]
)


@pytest.mark.parametrize("order", ["auto", "dmy", "mdy", "ymd"])
def test_grouped_reading_equals_value_by_value(monkeypatch, order):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (d VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in VALUES])
    monkeypatch.setattr(dates, "FEW_DISTINCT_SHARE", 1.0)  # always grouped
    grouped = dates.detect_dates(con, "t", "d", order, min_share=0.0)
    monkeypatch.setattr(dates, "FEW_DISTINCT_SHARE", -1.0)  # never grouped
    plain = dates.detect_dates(con, "t", "d", order, min_share=0.0)
    assert grouped == plain
    present = sum(1 for v in VALUES if v is not None and v.strip())
    assert plain.values == present  # every present value counted once, duplicates included
