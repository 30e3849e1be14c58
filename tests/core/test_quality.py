"""core/quality.py through a real ingest of tests/data/dirty_customers.csv: every count in the report
equals what the hand-made fixture holds, the issues table lists the invalid rows, fill values are right."""
from __future__ import annotations

import pytest

from core import quality
from core.ingest import load_file
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC
from tests.conftest import DATA_DIR

DIRTY = DATA_DIR / "dirty_customers.csv"
AGE, INCOME, SCORE = "Age", "Annual Income (k$)", "Spending Score (1-100)"

# What the fixture holds (data row numbers, header excluded), counted by hand:
#  33 data rows; row 7 repeats row 6 and row 29 repeats row 28 exactly -> 2 removed, 31 loaded
#  CustomerID: 30 distinct ids in 31 rows (>= 95%) -> identifier; id 28 on rows 30 and 32 -> duplicate_id
#  Age: "?" (row 8) and "" (row 14) missing; 150 (row 12) and -3 (row 13) impossible
#  Income: "abc" (row 9) and "x1" (row 30) not numbers; "NA" (row 15) missing; -19 (row 10), -5 (row 17) negative
#  Score (1-100): 150 (row 11) and 0 (row 18) out of range; "" (row 16) missing
#  Gender: "N/A" (row 21) missing; Region: "" (row 19) and "null" (row 20) missing
EXPECTED_FINDINGS = {
    # (rule, column): (count, sample rows, sample values, excludes rows)
    ("duplicate_id", "CustomerID"): (2, [30, 32], ["28", "28"], False),
    ("impossible_age", AGE): (2, [12, 13], [150, -3], True),
    ("non_numeric", INCOME): (2, [9, 30], ["abc", "x1"], False),
    ("negative", INCOME): (2, [10, 17], [-19, -5], True),
    ("out_of_range", SCORE): (2, [11, 18], [150, 0], True),
}


@pytest.fixture
def dirty(store):
    return load_file(store, DIRTY, "dirty")


def test_report_counts_match_the_fixture(dirty):
    q = dirty.quality
    assert (q.rows_read, q.rows_loaded, q.duplicates_removed) == (33, 31, 2)
    assert (dirty.rows_read, dirty.rows_loaded) == (33, 31)
    assert q.identifier_columns == ["CustomerID"] and dirty.id_column == "CustomerID"
    assert [(c.name, c.role) for c in dirty.columns] == [
        ("CustomerID", IDENTIFIER), ("Gender", CATEGORICAL), (AGE, NUMERIC), (INCOME, NUMERIC),
        (SCORE, NUMERIC), ("Region", CATEGORICAL),
    ]
    # missing includes the untypable values ("abc", "x1")
    assert q.missing == {"Gender": 1, AGE: 2, INCOME: 3, SCORE: 1, "Region": 2}
    assert q.rejected_values == {INCOME: 2}
    got = {(f.rule, f.column): (f.count, f.sample_rows, f.sample_values, f.excludes_rows) for f in q.findings}
    assert got == EXPECTED_FINDINGS
    for f in q.findings:
        assert f.message and f.action
    assert q.repairs == [] and q.warnings == []


def test_issues_table_lists_every_invalid_row(store, dirty):
    with store.cursor() as cur:
        rows = cur.execute(
            'SELECT "row", column_name, rule, value, excludes FROM issues WHERE dataset_id = ? ORDER BY "row", rule',
            [dirty.dataset_id],
        ).fetchall()
        rejects = cur.execute(
            'SELECT "row", column_name, raw_value FROM rejects WHERE dataset_id = ? ORDER BY "row"',
            [dirty.dataset_id],
        ).fetchall()
    assert rows == [
        (9, INCOME, "non_numeric", "abc", False),
        (10, INCOME, "negative", "-19", True),
        (11, SCORE, "out_of_range", "150", True),
        (12, AGE, "impossible_age", "150", True),
        (13, AGE, "impossible_age", "-3", True),
        (17, INCOME, "negative", "-5", True),
        (18, SCORE, "out_of_range", "0", True),
        (30, "CustomerID", "duplicate_id", "28", False),
        (30, INCOME, "non_numeric", "x1", False),
        (32, "CustomerID", "duplicate_id", "28", False),
    ]
    assert rejects == [(9, INCOME, "abc"), (30, INCOME, "x1")]


def test_duplicates_keep_the_first_row(store, dirty):
    with store.cursor() as cur:
        kept = [r[0] for r in cur.execute(f"SELECT __row FROM {dirty.table} ORDER BY __row").fetchall()]
    assert 7 not in kept and 29 not in kept and 6 in kept and 28 in kept and len(kept) == 31


def test_fill_values(store, dirty):
    cols = [AGE, INCOME, SCORE, "Gender", "Region", "CustomerID"]
    with store.cursor() as cur:
        median = quality.fill_values(cur, dirty, cols, "median")
        mean = quality.fill_values(cur, dirty, [AGE], "mean")
    # Age (29 values, invalid ones included): sorted middle value 31; sum 1060
    # Income (28 values): 14th/15th are 20 and 21; Score (30 values): 15th/16th are 61 and 66
    # Gender: 15 Female, 15 Male -> tie broken alphabetically; Region: North 8, others 7
    assert median == {
        AGE: {"method": "median", "value": 31.0, "count": 2},
        INCOME: {"method": "median", "value": 20.5, "count": 3},
        SCORE: {"method": "median", "value": 63.5, "count": 1},
        "Gender": {"method": "mode", "value": "Female", "count": 1},
        "Region": {"method": "mode", "value": "North", "count": 2},
    }
    assert mean[AGE]["method"] == "mean" and mean[AGE]["count"] == 2
    assert mean[AGE]["value"] == pytest.approx(1060 / 29)


def test_kept_rows_predicate_excludes_only_chosen_features(store, dirty):
    def kept(features):
        sql, params = quality.kept_rows_predicate(dirty.dataset_id, features)
        with store.cursor() as cur:
            return cur.execute(f"SELECT count(*) FROM {dirty.table} d WHERE {sql}", params).fetchone()[0]

    assert kept([]) == 31
    assert kept([AGE, INCOME]) == 31 - 4  # rows 12, 13 (age) and 10, 17 (negative income); non_numeric keeps
    assert kept([AGE, INCOME, SCORE]) == 31 - 6  # + rows 11, 18
    assert kept(["CustomerID"]) == 31  # duplicate ids are flagged, not excluded


def test_constant_and_not_finite(store, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("Plan,Spend,Visits\nbasic,10,1\nbasic,inf,2\nbasic,1e400,3\nbasic,-inf,4\nbasic,5,5\n")
    info = load_file(store, p)
    f = {(x.rule, x.column): x for x in info.quality.findings}
    assert f[("constant_column", "Plan")].excludes_rows is False
    assert f[("constant_column", "Plan")].sample_values == ["basic"]
    nf = f[("not_finite", "Spend")]
    assert (nf.count, nf.sample_rows, nf.excludes_rows) == (3, [2, 3, 4], True)
    assert nf.sample_values == ["inf", "1e400", "-inf"]
    assert info.quality.missing == {"Spend": 3}
    with store.cursor() as cur:
        assert cur.execute(f'SELECT max("Spend") FROM {info.table}').fetchone()[0] == 10


@pytest.mark.parametrize(
    "name, id_like",
    [("CustomerID", True), ("ID", True), ("Id", True), ("CUST_ID", True), ("customer_id", True),
     ("client id", True), ("Customer Number", True), ("custid", True), ("Paid", False), ("Video", False),
     ("Valid", False), ("Income", False)],
)
def test_is_id_like(name, id_like):
    assert quality.is_id_like(name) is id_like


def test_name_rules():
    assert quality.declared_range("Spending Score (1-100)") == (1.0, 100.0)
    assert quality.declared_range("rating [0 to 5]") == (0.0, 5.0)
    assert quality.declared_range("Income (k$)") is None
    assert quality.is_quantity("Annual Income (k$)") and quality.is_quantity("num_orders")
    assert not quality.is_quantity("Country") and not quality.is_quantity("Account Balance")
    assert quality.is_age("Age") and quality.is_age("customer_age") and not quality.is_age("Average spend")


def test_identifier_needs_a_unique_id_like_name(store, tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("StoreID,Serial,Spend\n1,a1,10\n1,a2,20\n2,a3,30\n2,a4,40\n")
    info = load_file(store, p)
    assert info.column("StoreID").role == CATEGORICAL  # id-like but repeats: a code, not a number
    assert info.column("Serial").role == CATEGORICAL  # unique but not id-like
    assert info.id_column is None
    assert any("'StoreID' looks like an identifier" in w for w in info.quality.warnings)


def test_magnitudes_beyond_1e150_are_not_finite(store, tmp_path):
    p = tmp_path / "big.csv"
    p.write_text("Spend,Visits\n1e150,1\n-1e151,2\n1e300,3\n5,4\nnan,5\n")
    info = load_file(store, p)
    nf = next(f for f in info.quality.findings if f.rule == "not_finite")
    assert (nf.count, nf.sample_rows) == (2, [2, 3])  # 1e150 itself is kept; "nan" is simply missing
    assert info.quality.missing == {"Spend": 3}
    with store.cursor() as cur:
        assert cur.execute(f'SELECT max("Spend") FROM {info.table}').fetchone()[0] == 1e150
