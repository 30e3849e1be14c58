"""Text dates on Spark read as the DuckDB engine reads them (core/dates.py decides, core/spark/dates.py
translates): value by value, on the Kaggle marketing file (Dt_Customer) and on a dirty Mall-like
folder whose two files write the dates in two layouts (ISO and day-first)."""
from __future__ import annotations

import csv
import datetime as dt

import duckdb
import pytest

from core import dates
from core.models import DATE, NUMERIC
from core.pipeline import segment_path
from core.spark import dates as spark_dates
from core.spark.engine import segment_spark
from core.store import run_table

from tests.conftest import DATA_DIR, MALL_CSV
from tests.spark.engines import both_engines, fresh_store

pytestmark = pytest.mark.spark

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
MALL_SIZES = [81, 39, 35, 23, 22]  # the classic five Mall segments (tests/spark/test_spark_engine.py)

# Every layout, both orders, times and zones, AM/PM, two-digit years, impossible dates, out-of-range
# years, DuckDB's ISO cast's oddities (24:00:00, 'epoch', zone names) and shapes that are no date.
VALUES = [
    "2013-05-12", "2013-5-1", "2013/05/12", "2013 05 12", "2013.05.12", "2013-05-12 10:00", "2013-05-12T10:00:00",
    "2013-05-12 10:00:00.123", "2013-05-12 10:00:00+02", "2013-05-12T10:00:00Z", "2013-05-12 10:00:00 UTC",
    "2013-05-12 10:00:00 Europe/Paris", "2013-05-12 10:00:00+2", "2013-05-12 10:00:00-0530", "2013-05-12  10:00",
    "2013-05/12", "2013-05-12t10:00", "2013-05-12T 10:00", "2013-05-12 T10:00", "2013-05-12 10:00 PM",
    "2013-05-12 24:00:00", "2013-05-12 24:00:01", "1899-12-31 24:00:00", "2100-12-31 24:00:00", "EPOCH",
    "20130512", "20131340", "2013-05", "2013", "2013-02-30", "0021-03-04", "2013-05-12 25:00", "2013-05-12 10",
    "2013-05-12 10:00:60", "12/05/2013", "05/12/2013", "12-05-13", "5.1.2013", "31/12/1999 11:30 PM",
    "12/31/1999 11:30 pm", "12/31/1999 0:30 AM", "13/13/2013", "29/02/2001", "29/02/2000", "12/05-2013",
    "12-May-2013", "May 12, 2013", "12th May 2013", "Sept 3rd, 2020", "12 may 13", "Foo 12, 2013",
    "2013/5/12 3:04:05 PM", "01/02/03", "1/2/1969", "1/2/68", "not a date", "NA", "",
]


def _duckdb_dates(con, reading: dates.DateReading) -> dict:
    # (the column is not called v: core/dates.py's SQL names its lambda variables v and s)
    return dict(con.execute(f"SELECT val, CAST({dates.date_sql('val', reading)} AS DATE) FROM t").fetchall())


def test_every_value_reads_as_in_the_duckdb_engine(spark):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS val", [VALUES])
    frame = spark.createDataFrame([(v,) for v in VALUES], "v string")
    for order in ("dmy", "mdy", "ymd"):
        reading = dates.DateReading("iso", order, True, 1.0, "", dates.LAYOUT_KEYS)
        got = dict(frame.select("v", spark_dates.date_column("v", reading)).collect())
        assert got == _duckdb_dates(con, reading), order
    # hand-read spot checks of the same values
    dmy = dict(frame.select("v", spark_dates.date_column(
        "v", dates.DateReading("iso", "dmy", True, 1.0, "", dates.LAYOUT_KEYS))).collect())
    assert dmy["31/12/1999 11:30 PM"] == dt.date(1999, 12, 31) and dmy["12-05-13"] == dt.date(2013, 5, 12)
    assert dmy["2013-05-12 24:00:00"] == dt.date(2013, 5, 13) and dmy["1/2/68"] == dt.date(2068, 2, 1)
    assert dmy["29/02/2001"] is None and dmy["Sept 3rd, 2020"] == dt.date(2020, 9, 3)
    # the counts behind the decision, hence the decision and its message, for every order
    counts = spark_dates.date_counts(frame, ["v"])["v"]
    for order in ("auto", "dmy", "mdy", "ymd"):
        assert dates.decide_reading(counts, order, min_share=0.0) == dates.detect_dates(
            con, "t", "val", order, min_share=0.0)


def _report(info):
    q = info.quality
    return (q.rows_read, q.rows_loaded, q.duplicates_removed, q.identifier_columns, q.missing,
            q.rejected_values, [(f.rule, f.column, f.count, f.sample_rows, f.message) for f in q.findings],
            q.repairs, q.warnings, [(c.name, c.role, c.sql_type, c.reason) for c in info.columns])


def _per_customer(store, table: str, id_col: str, col: str) -> dict:
    with store.cursor() as cur:
        return dict(cur.execute(f'SELECT "{id_col}", "{col}" FROM {table}').fetchall())


@pytest.fixture(scope="module")
def marketing_runs(spark, tmp_path_factory):
    store = fresh_store(tmp_path_factory.mktemp("marketing"), DATA_DIR)
    duck, sp = both_engines(store, spark, DATA_DIR / "marketing_campaign.csv", ["Income", "Dt_Customer (days since)"], 3)
    yield store, duck, sp
    store.close()


def test_marketing_campaign_dt_customer_like_the_duckdb_engine(marketing_runs):
    store, duck, sp = marketing_runs
    assert _report(sp.dataset) == _report(duck.dataset)
    roles = {c.name: c.role for c in sp.dataset.columns}
    assert roles["Dt_Customer"] == DATE and roles["Dt_Customer (days since)"] == NUMERIC
    days = "Dt_Customer (days since)"
    got = _per_customer(store, run_table(sp.run.run_id), "ID", days)
    assert got == _per_customer(store, run_table(duck.run.run_id), "ID", days)
    # hand-read: ID 5524 joined 04-09-2012 (day first), the latest date in the file is 29-06-2014
    assert got[5524] == (dt.date(2014, 6, 29) - dt.date(2012, 9, 4)).days
    # the ages are counted from the latest year of the dates (2014), as the DuckDB engine counts them
    assert _per_customer(store, sp.dataset.table, "ID", "Age (from Year_Birth)")[5524] == 2014 - 1957
    assert [s.size for s in sp.run.segments] == [s.size for s in duck.run.segments]


def _joined(i: int) -> dt.date:
    return dt.date(2012, 1, 1) + dt.timedelta(days=i * 37 % 1500)


@pytest.fixture(scope="module")
def mall_dates(tmp_path_factory):
    """The Mall sample plus a 'Joined' date: rows 1-100 in one file written ISO, rows 101-200 in a
    second file written day first; dirt: an unreadable and an impossible date, two missing ones and
    one exact duplicate row. Also the two files as one (the DuckDB engine reads one file)."""
    tmp = tmp_path_factory.mktemp("malldates")
    with open(MALL_CSV, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0] + ["Joined"], rows[1:]
    dirt = {5: "not a date", 120: "31/02/2014", 10: "", 130: "NA"}
    lines = []
    for r in body:
        i = int(r[0])
        d = _joined(i)
        text = d.isoformat() if i <= 100 else d.strftime("%d/%m/%Y")
        lines.append(r + [dirt.get(i, text)])
        if i == 50:
            lines.append(r + [text])  # an exact duplicate
    folder = tmp / "parts"
    folder.mkdir()
    for name, part in (("a.csv", lines[:101]), ("b.csv", lines[101:])):
        with open(folder / name, "w", newline="") as fh:
            csv.writer(fh).writerows([header] + part)
    whole = tmp / "mall_dates.csv"
    with open(whole, "w", newline="") as fh:
        csv.writer(fh).writerows([header] + lines)
    return folder, whole, dirt


@pytest.fixture(scope="module")
def mall_date_runs(spark, mall_dates, tmp_path_factory):
    from core.config import Settings
    from core.store import Store

    folder, whole, _ = mall_dates
    tmp = tmp_path_factory.mktemp("malldates_store")
    store = Store(tmp / "t.duckdb", Settings(data_dir=tmp, memory_limit="1GB", threads=1),
                  allowed_dirs=[folder.parent])
    duck = segment_path(store, whole, features=MALL_FEATURES, k=5)
    sp = segment_spark(store, str(folder), features=MALL_FEATURES, k=5, spark=spark)
    yield store, duck, sp
    store.close()


def test_two_layouts_across_files_give_the_duckdb_engine_report(mall_date_runs, mall_dates):
    store, duck, sp = mall_date_runs
    assert _report(sp.dataset) == _report(duck.dataset)
    q = sp.dataset.quality
    assert (q.rows_read, q.duplicates_removed) == (201, 1)
    assert q.rejected_values == {"Joined": 2}  # hand count: "not a date" and 31 February
    assert q.missing["Joined"] == 4  # those two, plus the empty value and "NA"
    assert {c.name: c.role for c in sp.dataset.columns}["Joined (days since)"] == NUMERIC
    assert any("ISO" in r and "day/month/year" in r for r in q.repairs)
    with store.cursor() as cur:
        rejected = cur.execute("SELECT raw_value FROM rejects WHERE dataset_id = ? ORDER BY raw_value",
                               [sp.dataset.dataset_id]).fetchall()
    assert rejected == [("31/02/2014",), ("not a date",)]


def test_days_since_and_segments_equal_the_duckdb_engine(mall_date_runs, mall_dates):
    store, duck, sp = mall_date_runs
    _, _, dirt = mall_dates
    days = "Joined (days since)"
    got = _per_customer(store, run_table(sp.run.run_id), "CustomerID", days)
    assert got == _per_customer(store, run_table(duck.run.run_id), "CustomerID", days)
    # computed in Python: days from each readable date to the latest one (the run fills the four
    # unread ones with the median)
    latest = max(_joined(i) for i in range(1, 201) if i not in dirt)
    expected = {i: (latest - _joined(i)).days for i in range(1, 201) if i not in dirt}
    assert {i: v for i, v in got.items() if i not in dirt} == expected
    assert [s.size for s in sp.run.segments] == [s.size for s in duck.run.segments] == MALL_SIZES


def test_yyyymmdd_numbers_with_a_date_name_like_the_duckdb_engine(spark, store, tmp_path):
    from core.ingest import load_file

    path = tmp_path / "signups.csv"
    rows = ["CustomerID,SignupDate,Income,Score"]
    for i in range(1, 31):
        day = "20131340" if i == 7 else (dt.date(2013, 1, 1) + dt.timedelta(days=11 * i)).strftime("%Y%m%d")
        rows.append(f"{i},{day},{20 + i * 3},{(i * 37) % 100}")
    path.write_text("\n".join(rows) + "\n")
    duck = load_file(store, path)
    sp = segment_spark(store, str(path), features=["Income", "Score"], k=2, spark=spark).dataset
    assert _report(sp) == _report(duck)
    assert {c.name: c.role for c in sp.columns}["SignupDate"] == DATE
    assert sp.quality.rejected_values == {"SignupDate": 1}  # hand count: month 13 of row 7
    # hand-read: row 30 signed up on 2013-01-01 + 330 days, the latest date
    assert _per_customer(store, sp.table, "CustomerID", "SignupDate (days since)")[30] == 0
    assert _per_customer(store, sp.table, "CustomerID", "SignupDate (days since)")[1] == 11 * 29
