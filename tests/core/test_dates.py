"""core/dates.py: every common date layout read back to the right day, and the day/month order rule."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from core.dates import DATE_ORDERS, DateReading, date_sql, detect_dates
from core.errors import InputError

D = dt.datetime


@pytest.fixture
def cur():
    con = duckdb.connect()
    yield con
    con.close()


def _read(cur, values: list[str | None], order: str = "auto") -> tuple[DateReading | None, list]:
    cur.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?::VARCHAR[]) AS \"when\"", [values])
    reading = detect_dates(cur, "t", "when", order)
    if reading is None:
        return None, []
    got = [r[0] for r in cur.execute(f'SELECT {date_sql(chr(34) + "when" + chr(34), reading)} FROM t').fetchall()]
    return reading, got


# (written, the day and time it means): expected values written by hand.
LAYOUTS = [
    ("2013-05-12", D(2013, 5, 12)),
    ("2013-05-12 10:15", D(2013, 5, 12, 10, 15)),
    ("2013-05-12 10:15:30", D(2013, 5, 12, 10, 15, 30)),
    ("2013-05-12T10:15:30", D(2013, 5, 12, 10, 15, 30)),
    ("2013-05-12T10:15:30.250Z", D(2013, 5, 12, 10, 15, 30, 250000)),
    ("2013/05/12", D(2013, 5, 12)),
    ("2013.5.12", D(2013, 5, 12)),
    ("20130512", D(2013, 5, 12)),
    ("12-May-2013", D(2013, 5, 12)),
    ("12-May-13", D(2013, 5, 12)),
    ("12 May 2013 18:00", D(2013, 5, 12, 18)),
    ("May 12, 2013", D(2013, 5, 12)),
    ("September 3, 1998 4:05 PM", D(1998, 9, 3, 16, 5)),
]


@pytest.mark.parametrize("text,expected", LAYOUTS)
def test_each_layout_reads_back_to_the_right_day(cur, text, expected):
    reading, got = _read(cur, [text])
    assert reading is not None and reading.share_parsed == 1.0
    assert got == [expected]


# Day or month first: read with the order the column decides (a part above 12 somewhere).
DMY = [
    ("13/05/2013", D(2013, 5, 13)),
    ("1/2/2013", D(2013, 2, 1)),
    ("01.02.13", D(2013, 2, 1)),
    ("1-2-99 7:05", D(1999, 2, 1, 7, 5)),
    ("3/4/2013 09:05:06", D(2013, 4, 3, 9, 5, 6)),
    ("3/4/2013 9:05 PM", D(2013, 4, 3, 21, 5)),
    ("3/4/2013 12:30 AM", D(2013, 4, 3, 0, 30)),
]
MDY = [
    ("12/1/10 8:26", D(2010, 12, 1, 8, 26)),
    ("12/13/10 17:45", D(2010, 12, 13, 17, 45)),
    ("1/2/2011", D(2011, 1, 2)),
    ("05.31.2013", D(2013, 5, 31)),
    ("3/4/68 11:59:59 PM", D(2068, 3, 4, 23, 59, 59)),
    ("3/4/69", D(1969, 3, 4)),
]


def test_day_first_column_is_read_day_first(cur):
    reading, got = _read(cur, [t for t, _ in DMY])
    assert (reading.order, reading.sure) == ("dmy", True)
    assert got == [d for _, d in DMY]
    assert "day/month/year" in reading.message


def test_month_first_two_digit_year_with_time_is_read_month_first(cur):
    reading, got = _read(cur, [t for t, _ in MDY])
    assert (reading.order, reading.sure, reading.layout) == ("mdy", True, "numeric")
    assert got == [d for _, d in MDY]
    assert "month/day/year" in reading.message and "19xx" in reading.message and "20xx" in reading.message


def test_undecided_order_is_not_sure_and_an_explicit_order_reads_it(cur):
    values = ["12/1/10 8:26", "12/1/10 9:01", "12/2/10 10:00"]
    reading, got = _read(cur, values)
    assert reading.sure is False and reading.order == "dmy"
    assert "choose the date order (day first or month first)" in reading.message
    assert "date_order" not in reading.message and "--" not in reading.message
    reading, got = _read(cur, values, "mdy")
    assert (reading.order, reading.sure) == ("mdy", True)
    assert got == [D(2010, 12, 1, 8, 26), D(2010, 12, 1, 9, 1), D(2010, 12, 2, 10)]


def test_the_deciding_value_can_be_anywhere_in_the_column(cur):
    values = ["12/1/10 8:26"] * 500 + ["12/13/10 10:00"] + ["11/1/10"] * 500
    reading, got = _read(cur, values)
    assert (reading.order, reading.sure) == ("mdy", True)
    assert got[0] == D(2010, 12, 1, 8, 26) and got[500] == D(2010, 12, 13, 10) and got[-1] == D(2010, 11, 1)


def test_mixed_orders_take_the_majority_and_are_not_sure(cur):
    values = ["13/1/2020"] * 10 + ["14/1/2020"] * 10 + ["1/15/2020"]
    reading, got = _read(cur, values)
    assert (reading.order, reading.sure, reading.parsed) == ("dmy", False, 20)
    assert (got[0], got[10], got[20]) == (D(2020, 1, 13), D(2020, 1, 14), None)


def test_mixed_layouts_in_one_column(cur):
    values = ["2013-05-12", "20130513", "14/05/2013", "May 15, 2013", "16-May-2013"]
    reading, got = _read(cur, values)
    assert set(reading.layouts) == {"iso", "compact", "numeric", "name_day", "day_name"}
    assert got == [D(2013, 5, d) for d in (12, 13, 14, 15, 16)]


def test_unreadable_values_are_null_and_missing_values_do_not_count(cur):
    values = ["2021-02-28", "2021-02-31", None, "", "2021-03-01"] + ["2021-03-02"] * 20
    reading, got = _read(cur, values)
    assert reading.values == 23 and reading.parsed == 22
    assert got[:5] == [D(2021, 2, 28), None, None, None, D(2021, 3, 1)]


@pytest.mark.parametrize("values", [
    ["hello", "world"], ["1", "2", "3"], ["12345", "67890"], ["0021-03-04"], ["2021-03-04", "x", "y"], [None, None],
    ["31/31/2020"], ["25:61 12/01/2020"],
])
def test_not_a_date_column_gives_none(cur, values):
    assert _read(cur, values)[0] is None


def test_years_outside_1900_2100_and_impossible_times_are_not_dates(cur):
    values = ["2020-01-01"] * 40 + ["1899-12-31", "3/4/2013 13:00 PM", "3/4/2013 24:10"]
    reading, got = _read(cur, values, "dmy")
    assert got[-3:] == [None, None, None]


def test_year_first_order_reads_only_year_first_dates(cur):
    reading, got = _read(cur, ["2020-01-02"] * 10, "ymd")
    assert reading.order == "ymd" and got[0] == D(2020, 1, 2)


def test_unknown_order_is_an_input_error(cur):
    cur.execute("CREATE TABLE t AS SELECT '2020-01-01' AS d")
    with pytest.raises(InputError, match="date order"):
        detect_dates(cur, "t", "d", "ydm")
    assert DATE_ORDERS == ("auto", "ymd", "dmy", "mdy")


def test_native_date_column(cur):
    cur.execute("CREATE TABLE t AS SELECT DATE '2020-01-02' AS d")
    reading = detect_dates(cur, "t", "d")
    assert reading.layout == "native"
    assert cur.execute(f"SELECT {date_sql('d', reading)} FROM t").fetchone()[0] == D(2020, 1, 2)


def test_xlsx_date_cells_come_out_as_the_right_days(tmp_path, cur):
    """Excel stores dates as serial numbers with a date format; the staging reader gives the day."""
    import xlsxwriter

    from core.ingest import stage_file

    path = tmp_path / "dates.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    fmt = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    ws.write_row(0, 0, ["customer", "when"])
    days = [D(2010, 12, 1, 8, 26), D(2011, 1, 13), D(1999, 12, 31, 23, 59)]
    for i, d in enumerate(days, start=1):
        ws.write(i, 0, f"c{i}")
        ws.write_datetime(i, 1, d, fmt)
    wb.close()
    staged = stage_file(cur, path, "staged")
    reading = detect_dates(cur, staged.table, "when")
    assert reading is not None and reading.sure
    got = [r[0] for r in cur.execute(f'SELECT {date_sql(chr(34) + "when" + chr(34), reading)} FROM staged ORDER BY __row').fetchall()]
    assert got == days
