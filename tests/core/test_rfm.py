"""RFM from transactions (core/rfm.py, rules in docs/RFM.md): the CDNOW sample against plain-Python
facts and hand-checked customers, a returns/cancellations/duplicates fixture with hand-computed R, F
and M, date orders, column detection, reference dates, errors, atomicity and the segmentation path."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.errors import InputError
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC
from core.rfm import (
    CUSTOMER_COLUMNS,
    RFM_GROUPS,
    TransactionMapping,
    derive_rfm,
    detect_columns,
    inspect_transactions,
    load_transactions,
)

DATA = Path(__file__).resolve().parent.parent / "data"
CDNOW = DATA / "cdnow_sample.txt"
RETURNS = DATA / "transactions_returns.csv"


def rows_by_customer(store, info) -> dict[str, dict]:
    with store.cursor() as cur:
        cur.execute(f"SELECT * FROM {info.table} ORDER BY __row")
        names = [d[0] for d in cur.description]
        return {str(r[1]): dict(zip(names, r)) for r in cur.fetchall()}


def rfm_of(rows: dict, customer: str) -> tuple:
    r = rows[customer]
    return r["recency_days"], r["frequency"], round(r["monetary"], 2)


def finding(info, rule: str):
    found = [f for f in info.quality.findings if f.rule == rule]
    assert len(found) == 1, f"expected one {rule} finding in {[f.rule for f in info.quality.findings]}"
    return found[0]


def write_csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# CDNOW sample (headerless, whitespace-separated, no invoice column)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def cdnow(store):
    info = load_transactions(store, CDNOW)
    return info, rows_by_customer(store, info)


def test_cdnow_customers_and_revenue_equal_the_file(store, cdnow):
    info, rows = cdnow
    # Independent facts, parsed with plain Python (no DuckDB): one customer per distinct first field,
    # revenue = the sum of the last field over every line (repeated lines are purchases, docs/RFM.md).
    lines = [ln.split() for ln in CDNOW.read_text().splitlines() if ln.strip()]
    assert len(lines) == 6919
    customers = {ln[0] for ln in lines}
    revenue = sum(Decimal(ln[4]) for ln in lines)

    assert info.kind == "transactions"
    assert info.rows_loaded == len(customers) == 2357
    assert set(rows) == customers
    with store.cursor() as cur:
        total, n = cur.execute(f"SELECT sum(monetary), count(*) FROM {info.table}").fetchone()
    assert n == len(customers)
    assert Decimal(str(round(total, 2))) == revenue
    assert sum(r["frequency"] for r in rows.values()) == len({(ln[0], ln[2]) for ln in lines})


def test_cdnow_three_customers_checked_by_hand(cdnow):
    _, rows = cdnow
    # The newest date in the file is 1998-06-30, so recency counts days up to 1998-07-01.
    #
    #  00004 0001 19970101  2   29.33
    #  00004 0001 19970118  2   29.73
    #  00004 0001 19970802  1   14.96
    #  00004 0001 19971212  2   26.48
    # -> 4 purchase days; 29.33 + 29.73 + 14.96 + 26.48 = 100.50;
    #    1997-12-12 -> 1998-07-01 = 19 (rest of Dec) + 31 + 28 + 31 + 30 + 31 + 30 + 1 = 201 days
    assert rfm_of(rows, "00004") == (201, 4, 100.50)
    #  01668 0147 19970107  1   13.97
    #  01668 0147 19970207  1   14.39
    #  01668 0147 19970515  2   41.95
    #  01668 0147 19970705  2   43.57
    #  01668 0147 19970731  1    9.77
    #  01668 0147 19970731  1    9.77   (the same line twice: two purchases on one day)
    #  01668 0147 19971211  1   14.99
    # -> 6 purchase days; 13.97 + 14.39 + 41.95 + 43.57 + 9.77 + 9.77 + 14.99 = 148.41;
    #    1997-12-11 -> 1998-07-01 = 202 days
    assert rfm_of(rows, "01668") == (202, 6, 148.41)
    #  18933 1862 19970308  3   45.49
    #  18933 1862 19970308  3   45.49
    # -> 1 purchase day; 2 x 45.49 = 90.98;
    #    1997-03-08 -> 1998-03-08 = 365 days, + 23 (rest of Mar) + 30 + 31 + 30 + 1 = 480 days
    assert rfm_of(rows, "18933") == (480, 1, 90.98)
    assert rows["00004"]["first_purchase"] == "1997-01-01"
    assert rows["00004"]["last_purchase"] == "1997-12-12"
    assert rows["00004"]["returns"] == 0


def test_cdnow_columns_detected_and_report(cdnow):
    info, _ = cdnow
    q = info.quality
    assert q.rows_read == info.rows_read == 6919
    assert q.duplicates_removed == 0  # no invoice column: repeated lines are purchases
    kept = finding(info, "repeated_line")
    assert kept.count == 21 and kept.sample_rows[0] == 403  # 01668's second 19970731 line
    assert any("column_1" in r and "column_3" in r and "column_5" in r and "no invoice" in r for r in q.repairs)
    assert any("1998-07-01" in r and "1998-06-30" in r for r in q.repairs)
    assert any("guessed" in w for w in q.warnings)  # headerless: detection was unsure
    roles = {c.name: c.role for c in info.columns}
    assert [c.name for c in info.columns] == CUSTOMER_COLUMNS
    assert roles["customer_id"] == IDENTIFIER
    assert roles["rfm_score"] == roles["rfm_group"] == CATEGORICAL
    for c in ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"):
        assert roles[c] == NUMERIC


def test_cdnow_detection_from_values():
    lines = [ln.split() for ln in CDNOW.read_text().splitlines()[:500]]
    cols = [f"column_{i}" for i in range(1, 6)]
    m = detect_columns(cols, {c: [ln[i] for ln in lines] for i, c in enumerate(cols)})
    assert (m.customer, m.date, m.amount, m.quantity, m.price, m.invoice) == (
        "column_1", "column_3", "column_5", None, None, None)
    assert m.sure is False and len(m.reasons) == 3


def test_cdnow_scores_and_groups(store, cdnow):
    info, rows = cdnow
    for r in rows.values():
        assert 1 <= r["r_score"] <= 5 and 1 <= r["f_score"] <= 5 and 1 <= r["m_score"] <= 5
        assert r["rfm_score"] == f"{r['r_score']}{r['f_score']}{r['m_score']}"
    # over half the customers bought on one day: F skips 2 (ties share a score, docs/RFM.md)
    assert {r["f_score"] for r in rows.values()} == {1, 3, 4, 5}
    assert all(r["f_score"] == 1 for r in rows.values() if r["frequency"] == 1)
    # M is continuous: five nearly equal quintiles
    counts = [sum(r["m_score"] == s for r in rows.values()) for s in range(1, 6)]
    assert all(abs(c - 2357 / 5) < 20 for c in counts)
    # equal recency -> equal R
    by_recency: dict[int, set] = {}
    for r in rows.values():
        by_recency.setdefault(r["recency_days"], set()).add(r["r_score"])
    assert all(len(s) == 1 for s in by_recency.values())
    assert rows["00004"]["rfm_group"] in {g for g, _, _ in RFM_GROUPS}


# ---------------------------------------------------------------------------------------------
# Returns, cancellations, duplicates, bad lines: tests/data/transactions_returns.csv
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def returns(store):
    info = load_transactions(store, RETURNS)
    return info, rows_by_customer(store, info)


def test_returns_fixture_hand_computed_rfm(returns):
    info, rows = returns
    # Dates are day/month (15/12/2020 ...). Newest date 14/02/2021 -> reference 2021-02-15.
    # 12345: invoice 536001 (lines 1, 2; line 3 duplicates line 2 and is removed) 6 x 2.55 + 6 x 3.39
    #        = 35.64 on 2020-12-01; 536013 2 x 1.25 = 2.50 on 2020-12-28; 536003 4 x 2.10 = 8.40 on
    #        2021-01-03; cancellation C536004 -2 x 2.10 = -4.20.
    #        F = 3 invoices, M = 35.64 + 2.50 + 8.40 - 4.20 = 42.34, R = 2021-01-03 -> 02-15 = 43
    assert rfm_of(rows, "12345") == (43, 3, 42.34)
    # 12346: 536002 12 x 1.85 = 22.20 on 2020-12-15; 536007 has the date 31/02/2021 (unreadable: left
    #        out); 536009 8 x 3.00 + 2 x 5.00 = 34.00 on 2021-02-02 (line 14 duplicates line 13).
    #        F = 2, M = 56.20, R = 13
    assert rfm_of(rows, "12346") == (13, 2, 56.20)
    # 12347: 536005 3 x 3.75 = 11.25 on 2021-01-20; return 536006 -1 x 4.25 = -4.25 (negative
    #        quantity, ordinary invoice); 536011 price "abc" (left out); 536012 2 x 4.50 = 9.00 on
    #        2021-02-14. F = 2, M = 11.25 - 4.25 + 9.00 = 16.00, R = 1
    assert rfm_of(rows, "12347") == (1, 2, 16.00)
    # 12348: only the cancellation C536010 -> no purchase, not a customer row
    assert set(rows) == {"12345", "12346", "12347"}

    # Quintile cut points over 3 customers (quantile_cont):
    #   recency [1, 13, 43] -> 5.8, 10.6, 19, 31   => R: 1 -> 5, 13 -> 3, 43 -> 1
    #   frequency [2, 2, 3] -> 2, 2, 2.2, 2.6      => F: 2 -> 1, 3 -> 5
    #   monetary [16, 42.34, 56.2] -> 26.536, 37.072, 45.112, 50.656 => M: 16 -> 1, 42.34 -> 3, 56.2 -> 5
    got = {c: (r["r_score"], r["f_score"], r["m_score"], r["rfm_score"], r["rfm_group"]) for c, r in rows.items()}
    assert got == {
        "12345": (1, 5, 3, "153", "Cannot lose them"),
        "12346": (3, 1, 5, "315", "About to sleep"),
        "12347": (5, 1, 1, "511", "New customers"),
    }
    assert {c: (r["first_purchase"], r["last_purchase"], r["returns"]) for c, r in rows.items()} == {
        "12345": ("2020-12-01", "2021-01-03", 1),
        "12346": ("2020-12-15", "2021-02-02", 0),
        "12347": ("2021-01-20", "2021-02-14", 1),
    }
    # __row points at the customer's first line in the file
    assert [r["__row"] for r in rows.values()] == [1, 4, 8]


def test_returns_fixture_report(returns):
    info, _ = returns
    q = info.quality
    assert (q.rows_read, q.duplicates_removed, q.rows_loaded) == (17, 2, 3)
    dup = finding(info, "duplicate_line")
    assert (dup.count, dup.sample_rows) == (2, [3, 14])
    ret = finding(info, "return_line")
    assert ret.count == 3 and "2 of them on 'C' invoices" in ret.message
    date = finding(info, "unparseable_date")
    assert (date.count, date.column, date.sample_rows, date.sample_values) == (
        1, "InvoiceDate", [10], ["31/02/2021 13:00"])
    assert "31/02/2021 13:00" in date.message and not date.excludes_rows
    cust = finding(info, "missing_customer")
    assert (cust.count, cust.sample_rows) == (1, [11])
    amount = finding(info, "invalid_amount")
    assert (amount.count, amount.sample_rows, amount.sample_values) == (1, [16], ["1 x abc"])
    only = finding(info, "returns_only_customer")
    assert (only.count, only.sample_values) == (1, ["12348"])
    # every line accounted for: 17 read = 2 duplicates + 3 with a problem + 12 used
    assert any("17 lines read" in r and "12 used" in r and "3 customers" in r for r in q.repairs)
    assert any("day/month/year" in r for r in q.repairs)  # decided by the data: no warning
    assert not any("date_order" in w for w in q.warnings)
    assert any("2021-02-15" in r for r in q.repairs)


def test_report_is_stored_in_the_catalogue(store, returns):
    info, _ = returns
    again = store.get_dataset(info.dataset_id)
    assert again.quality.to_dict() == info.quality.to_dict()
    assert (again.rows_read, again.rows_loaded, again.kind) == (17, 3, "transactions")
    assert again.column("rfm_score").role == CATEGORICAL
    with store.cursor() as cur:
        typ = cur.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = 'rfm_score'",
            [info.table],
        ).fetchone()[0]
    assert typ == "VARCHAR"


def test_duplicates_are_removed_only_with_an_invoice_column(store, tmp_path):
    body = ["1,2021-01-05,10.00", "1,2021-01-05,10.00", "2,2021-01-06,5.00"]
    with_inv = write_csv(tmp_path, "inv.csv", ["invoice,customer,date,amount"] + [f"A1,{ln}" for ln in body[:2]]
                         + [f"A2,{body[2]}"])
    without = write_csv(tmp_path, "noinv.csv", ["customer,date,amount"] + body)
    a = rows_by_customer(store, load_transactions(store, with_inv))
    b = rows_by_customer(store, load_transactions(store, without))
    assert rfm_of(a, "1")[1:] == (1, 10.00)
    assert rfm_of(b, "1")[1:] == (1, 20.00)  # same day: one purchase day, both amounts


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------
def _load_dates(store, tmp_path, dates: list[str], **kw):
    lines = ["customer,date,amount"] + [f"c{i},{d},1" for i, d in enumerate(dates)]
    info = load_transactions(store, write_csv(tmp_path, f"d{len(list(tmp_path.iterdir()))}.csv", lines), **kw)
    rows = rows_by_customer(store, info)
    return info, {c: r["last_purchase"] for c, r in rows.items()}


def test_dmy_decided_by_a_day_above_12_first(store, tmp_path):
    info, got = _load_dates(store, tmp_path, ["03/04/2021", "25/04/2021", "1.5.21"])
    assert got == {"c0": "2021-04-03", "c1": "2021-04-25", "c2": "2021-05-01"}
    assert any("day/month/year" in r for r in info.quality.repairs)
    assert not any("date_order" in w for w in info.quality.warnings)


def test_mdy_decided_by_a_day_above_12_second(store, tmp_path):
    info, got = _load_dates(store, tmp_path, ["03/04/2021", "04/25/2021 10:30", "12-31-2020"])
    assert got == {"c0": "2021-03-04", "c1": "2021-04-25", "c2": "2020-12-31"}
    assert any("month/day/year" in r for r in info.quality.repairs)


def test_ambiguous_dates_read_as_day_month_with_a_warning(store, tmp_path):
    info, got = _load_dates(store, tmp_path, ["03/04/2021", "05/06/2021"])
    assert got == {"c0": "2021-04-03", "c1": "2021-06-05"}
    # the order is a guess: a warning says so in neutral words (no CLI flag, no parameter name)
    warning = next(w for w in info.quality.warnings if "day/month/year" in w)
    assert "choose the date order (day first or month first)" in warning
    assert "date_order" not in warning and "--" not in warning
    _, forced = _load_dates(store, tmp_path, ["03/04/2021", "05/06/2021"], date_order="mdy")
    assert forced == {"c0": "2021-03-04", "c1": "2021-05-06"}


def test_iso_compact_and_timestamps(store, tmp_path):
    info, got = _load_dates(store, tmp_path, [
        "2021-03-04", "2021-03-05 23:59:59", "2021-03-06T08:00:00Z", "20210307", "2021/03/08", " 2021-3-9 ",
    ])
    assert got == {"c0": "2021-03-04", "c1": "2021-03-05", "c2": "2021-03-06", "c3": "2021-03-07",
                   "c4": "2021-03-08", "c5": "2021-03-09"}
    assert not any("date" in w for w in info.quality.warnings)


def test_two_digit_years(store, tmp_path):
    _, got = _load_dates(store, tmp_path, ["25/12/99", "25/12/05"])
    assert got == {"c0": "1999-12-25", "c1": "2005-12-25"}


def test_unparseable_dates_are_reported_never_lost(store, tmp_path):
    info, got = _load_dates(store, tmp_path, ["2021-01-05", "yesterday", "2021-13-01", "0021-01-01", "", "19990231"])
    assert got == {"c0": "2021-01-05"}
    f = finding(info, "unparseable_date")
    assert f.count == 5
    assert f.sample_rows == [2, 3, 4, 5, 6]
    assert f.sample_values[:3] == ["yesterday", "2021-13-01", "0021-01-01"]


def test_mixed_orders_take_the_majority_and_warn(store, tmp_path):
    info, got = _load_dates(store, tmp_path, ["13/01/2021", "14/01/2021", "01/15/2021"])
    assert got == {"c0": "2021-01-13", "c1": "2021-01-14"}
    assert any("mix day/month" in w for w in info.quality.warnings)
    assert finding(info, "unparseable_date").sample_values == ["01/15/2021"]


def test_date_order_ymd_refuses_day_first_dates(store, tmp_path):
    with pytest.raises(InputError, match="no date in column 'date' could be read"):
        _load_dates(store, tmp_path, ["13/01/2021", "14/01/2021"], date_order="ymd")
    with pytest.raises(InputError, match="date order must be one of"):
        _load_dates(store, tmp_path, ["2021-01-01"], date_order="dd/mm")


# ---------------------------------------------------------------------------------------------
# Reference date
# ---------------------------------------------------------------------------------------------
def test_reference_date_replaces_the_day_after_the_newest(store, tmp_path):
    path = write_csv(tmp_path, "ref.csv", ["customer,date,amount", "a,2021-01-01,1", "b,2021-01-31,2"])
    default = rows_by_customer(store, load_transactions(store, path))
    assert {c: r["recency_days"] for c, r in default.items()} == {"a": 31, "b": 1}
    info = load_transactions(store, path, reference_date="2021-03-01")
    chosen = rows_by_customer(store, info)
    assert {c: r["recency_days"] for c, r in chosen.items()} == {"a": 59, "b": 29}
    assert any("given reference date 2021-03-01" in r for r in info.quality.repairs)


def test_reference_date_errors(store, tmp_path):
    path = write_csv(tmp_path, "ref.csv", ["customer,date,amount", "a,2021-01-01,1", "b,2021-01-31,2"])
    with pytest.raises(InputError, match="before the newest purchase"):
        load_transactions(store, path, reference_date="2021-01-15")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        load_transactions(store, path, reference_date="31/01/2021")
    assert store.list_datasets() == []


# ---------------------------------------------------------------------------------------------
# Column detection and mapping
# ---------------------------------------------------------------------------------------------
ONLINE_RETAIL = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
ONLINE_SAMPLE = {
    "Invoice": ["489434", "489434", "C489449"], "StockCode": ["85048", "79323P", "22087"],
    "Description": ["LIGHTS", "CHERRY LIGHTS", "PAPER BUNTING"], "Quantity": ["12", "12", "-12"],
    "InvoiceDate": ["2009-12-01 07:45:00", "2009-12-01 07:45:00", "2009-12-01 10:33:00"],
    "Price": ["6.95", "6.75", "2.95"], "Customer ID": ["13085.0", "13085.0", "16321.0"],
    "Country": ["United Kingdom", "United Kingdom", "Australia"],
}


def test_detect_online_retail_headers_sure():
    m = detect_columns(ONLINE_RETAIL, ONLINE_SAMPLE)
    assert (m.customer, m.date, m.amount, m.quantity, m.price, m.invoice) == (
        "Customer ID", "InvoiceDate", None, "Quantity", "Price", "Invoice")
    assert m.sure and m.reasons == []


def test_online_retail_one_layout_end_to_end(store, tmp_path):
    # UCI "Online Retail" (2010-2011) headers and its month-first dates without leading zeros
    path = write_csv(tmp_path, "online_retail.csv", [
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom",
        "536366,22633,HAND WARMER UNION JACK,6,12/13/2010 8:28,1.85,17850,United Kingdom",
        "C536379,D,Discount,-1,12/13/2010 9:41,27.50,14527,United Kingdom",
        "536380,22961,JAM MAKING SET PRINTED,24,12/1/2010 9:41,1.45,14527,United Kingdom",
    ])
    info = load_transactions(store, path)
    rows = rows_by_customer(store, info)
    # reference 2010-12-14; 17850: 2 invoices, 15.30 + 20.34 + 11.10 = 46.74, last 12/13
    assert rfm_of(rows, "17850") == (1, 2, 46.74)
    # 14527: 34.80 - 27.50 (cancelled discount line) = 7.30, last purchase 12/1
    assert rfm_of(rows, "14527") == (13, 1, 7.30)
    assert any("month/day/year" in r for r in info.quality.repairs)
    assert not any("guessed" in w for w in info.quality.warnings)


@pytest.mark.parametrize(
    "columns, expected",
    [
        (["order_id", "customer_id", "order_date", "total"], ("customer_id", "order_date", "total", "order_id")),
        (["CustomerID", "Date", "Sales"], ("CustomerID", "Date", "Sales", None)),
        (["client", "purchase date", "amount spent", "receipt no"], ("client", "purchase date", "amount spent", "receipt no")),
    ],
)
def test_detect_common_headers(columns, expected):
    sample = {c: ["2021-01-02"] if "date" in c.lower() else ["12.50"] if c in ("total", "Sales", "amount spent")
              else ["A1"] for c in columns}
    m = detect_columns(columns, sample)
    assert (m.customer, m.date, m.amount, m.invoice) == expected
    assert m.sure


def test_detect_is_unsure_for_ambiguous_headers():
    cols = ["Customer", "Date", "Order Date", "Amount"]
    m = detect_columns(cols, {"Customer": ["a"], "Date": ["2021-01-01"], "Order Date": ["2021-01-02"], "Amount": ["1.5"]})
    assert m.sure is False
    assert any("'Date'" in r and "'Order Date'" in r for r in m.reasons)
    # generic names: everything from the values
    m = detect_columns(["a", "b", "c"], {"a": ["x1", "x2"], "b": ["2021-01-01", "2021-02-01"], "c": ["1.25", "3.5"]})
    assert (m.customer, m.date, m.amount, m.sure) == ("a", "b", "c", False)


def test_detect_checks_values_against_names():
    # a "date" column holding no dates is not the date
    m = detect_columns(["customer", "date", "when", "amount"],
                       {"customer": ["1"], "date": ["n/a", "soon"], "when": ["2021-01-01"], "amount": ["2.5"]})
    assert m.date == "when" and not m.sure


def test_mapping_given_and_completed(store):
    info = load_transactions(store, RETURNS, mapping={"customer": "Customer ID", "date": "InvoiceDate"})
    rows = rows_by_customer(store, info)
    assert rfm_of(rows, "12345") == (43, 3, 42.34)  # quantity, price and invoice were detected
    assert any("quantity column was detected as 'Quantity'" in w for w in info.quality.warnings)


def test_inspect_transactions_loads_nothing(store):
    columns, m = inspect_transactions(store, RETURNS)
    assert columns == ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    assert (m.customer, m.date, m.quantity, m.price, m.invoice, m.sure) == (
        "Customer ID", "InvoiceDate", "Quantity", "Price", "Invoice", True)
    assert store.list_datasets() == []


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"customer": "Client", "date": "InvoiceDate", "quantity": "Quantity", "price": "Price"},
         "the customer column 'Client' is not in the file"),
        ({"customer": "Customer ID", "date": "InvoiceDate", "quantity": "Quantity"}, "no price"),
        ({"customer": "Customer ID", "date": "Customer ID", "amount": "Price"}, "cannot play two parts"),
        ({"shop": "Country"}, "unknown mapping key"),
    ],
)
def test_mapping_errors(store, mapping, message):
    with pytest.raises(InputError, match=message):
        load_transactions(store, RETURNS, mapping=mapping)


def test_missing_customer_or_date_column_is_named(store, tmp_path):
    no_customer = write_csv(tmp_path, "nc.csv", ["date,amount", "2021-01-01,1.5", "2021-01-02,2.5"])
    with pytest.raises(InputError, match="no customer id column found") as exc:
        load_transactions(store, no_customer)
    # core errors name the mapping, never a CLI flag (the CLI adds its own words)
    assert "column mapping" in str(exc.value) and "--" not in str(exc.value) and "'date'" in str(exc.value)
    no_date = write_csv(tmp_path, "nd.csv", ["customer,amount", "a,1.5", "b,2.5"])
    with pytest.raises(InputError, match="no date column found"):
        load_transactions(store, no_date)
    no_money = write_csv(tmp_path, "nm.csv", ["customer,date,colour", "a,2021-01-01,red"])
    with pytest.raises(InputError, match=r"no amount \(or quantity and price\) column"):
        load_transactions(store, no_money)


def test_nothing_usable_is_an_error_and_leaves_nothing(store, tmp_path):
    bad = write_csv(tmp_path, "bad.csv", ["customer,date,amount", "a,2021-01-01,x", "b,2021-01-02,y"])
    with pytest.raises(InputError, match="no amount in 'amount' is a number"):
        load_transactions(store, bad)
    only_returns = write_csv(tmp_path, "ret.csv", ["customer,date,amount", "a,2021-01-01,-5"])
    with pytest.raises(InputError, match="every usable line is a return"):
        load_transactions(store, only_returns)
    assert store.list_datasets() == []
    with store.cursor() as cur:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert not [t for t in tables if t.startswith(("ds_", "rfm_"))]
        assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 0


def test_failure_inside_publish_leaves_nothing(store, monkeypatch):
    import core.rfm.publish as publish

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "_finish_dataset", boom)
    with pytest.raises(RuntimeError):
        load_transactions(store, RETURNS)
    assert store.list_datasets() == []
    with store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 0


# ---------------------------------------------------------------------------------------------
# Values, scores, groups
# ---------------------------------------------------------------------------------------------
def test_amount_column_with_currency_and_spreadsheet_ids(store, tmp_path):
    path = write_csv(tmp_path, "amt.csv", [
        "Order ID,Customer Number,Order Date,Total",
        'CA-2017-1,12345.0,2021-01-01,"$1,234.50"',
        "CA-2017-2,12345,2021-01-02,10",
        "CA-2017-3,777,2021-01-03,-4.50",
        "CA-2017-4,777,2021-01-04,5",
    ])
    info = load_transactions(store, path)
    rows = rows_by_customer(store, info)
    # "CA-..." invoices are not cancellations; "12345.0" is customer 12345
    assert rfm_of(rows, "12345") == (3, 2, 1244.50)
    assert rfm_of(rows, "777") == (1, 1, 0.50)  # the negative line is a return
    assert rows["777"]["returns"] == 1
    assert finding(info, "return_line").count == 1


def test_missing_tokens_are_no_customer(store, tmp_path):
    path = write_csv(tmp_path, "na.csv", ["customer,date,amount", "NA,2021-01-01,1", "n/a,2021-01-01,1",
                                          "?,2021-01-01,1", "Nadia,2021-01-02,1"])
    info = load_transactions(store, path)
    assert set(rows_by_customer(store, info)) == {"Nadia"}
    assert finding(info, "missing_customer").sample_rows == [1, 2, 3]


def test_scores_are_quintiles_and_ties_share_a_score(store, tmp_path):
    # ten customers, one purchase each on 2021-01-01, spending 10, 20, ..., 100 (two spend 50)
    spends = [10, 20, 30, 40, 50, 50, 70, 80, 90, 100]
    lines = ["customer,date,amount"] + [f"c{i},2021-01-01,{s}" for i, s in enumerate(spends)]
    rows = rows_by_customer(store, load_transactions(store, write_csv(tmp_path, "q.csv", lines)))
    # cut points (quantile_cont) 28, 46, 58, 82 -> scores 1 1 2 2 3 3 4 4 5 5
    assert [rows[f"c{i}"]["m_score"] for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # everyone bought on the same day: equal R and F for all (5 = most recent; F ties at 1)
    assert {(r["r_score"], r["f_score"]) for r in rows.values()} == {(5, 1)}
    assert {r["rfm_group"] for r in rows.values()} == {"New customers"}


def test_rfm_group_grid_covers_every_cell_once():
    for r, f in itertools.product(range(1, 6), range(1, 6)):
        cells = [g for g, rs, fs in RFM_GROUPS if r in rs and f in fs]
        assert len(cells) == 1, (r, f, cells)
    assert {g for g, _, _ in RFM_GROUPS} == {
        "Champions", "Loyal customers", "Potential loyalists", "New customers", "Promising", "Need attention",
        "About to sleep", "At risk", "Cannot lose them", "Hibernating", "Lost"}


def test_derive_rfm_on_a_typed_staged_table():
    """derive_rfm is usable (and timed) on its own; native DATE/number columns are used as they are."""
    cur = duckdb.connect()
    cur.execute(
        """
        CREATE TABLE staged AS SELECT * FROM (VALUES
            (1, 'a', 'I1', DATE '2021-01-01', 2, 1.5),
            (2, 'a', 'I2', DATE '2021-01-10', 1, 3.0),
            (3, 'b', 'I3', DATE '2021-01-05', -1, 2.0),
            (4, 'b', 'I4', DATE '2021-01-06', 4, 2.0)
        ) t(__row, cust, inv, day, qty, price)
        """
    )
    m = TransactionMapping(customer="cust", date="day", quantity="qty", price="price", invoice="inv")
    stats = derive_rfm(cur, "staged", m, reference_date="2021-01-11")
    got = cur.execute(f"SELECT customer_id, recency_days, frequency, monetary, returns FROM {stats.table} ORDER BY 1").fetchall()
    assert got == [("a", 1, 2, 6.0, 0), ("b", 5, 1, 6.0, 1)]
    assert (stats.lines_read, stats.lines_used, stats.return_lines, stats.customers) == (4, 4, 1, 2)
    assert stats.reference_date == "2021-01-11" and stats.reference_given
    assert stats.seconds > 0


def test_excel_transactions(store, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Customer ID", "InvoiceDate", "Amount"])
    ws.append([1001, dt.datetime(2021, 3, 1, 10, 30), 12.5])
    ws.append([1001, dt.datetime(2021, 3, 20, 9, 0), 7.5])
    ws.append([1002, dt.datetime(2021, 3, 21, 9, 0), 100])
    path = tmp_path / "tx.xlsx"
    wb.save(path)
    rows = rows_by_customer(store, load_transactions(store, path))
    assert rfm_of(rows, "1001") == (2, 2, 20.0)
    assert rfm_of(rows, "1002") == (1, 1, 100.0)


# ---------------------------------------------------------------------------------------------
# The same product afterwards: segmentation on log-scaled R, F, M
# ---------------------------------------------------------------------------------------------
def test_segmentation_on_rfm_speaks_rfm(store, cdnow):
    from core.segmentation import run_segmentation

    info, _ = cdnow
    run = run_segmentation(store, info.dataset_id, features=["recency_days", "frequency", "monetary"],
                           k=4, scale="log")
    assert run.rows_clustered == 2357 and run.k == 4 and run.scale == "log"
    # the outlier group (id k + 1, issue 9) holds the 2 customers far from every segment
    names = [s.name.lower() for s in run.segments if not s.outlier_group]
    assert len(set(names)) == 4
    assert all(any(w in n for w in ("recent", "lapsed", "recency")) for n in names)
    assert all(any(w in n for w in ("frequent", "occasional", "one-time")) for n in names)
    assert all("spend" in n for n in names)  # RFM words (core.rfm_naming) straight from run_segmentation
