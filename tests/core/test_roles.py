"""Column roles decided at ingest (core/roles.py rules, core/ingest): integer codes and yes/no flags as
categories, birth years excluded with a derived age, dates with a derived days-since column, numbers
written with currency signs, percent signs, thousands separators and accounting brackets.

Expected values come from the files themselves, read independently with pandas / the csv module, and
from the published facts in tests/data/README.md.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from core import roles
from core.ingest import load_file
from core.models import CATEGORICAL, DATE, EXCLUDED, IDENTIFIER, NUMERIC
from core.roles import column_roles, default_features
from core.store import quote_ident

DATA = Path(__file__).resolve().parents[1] / "data"
WHOLESALE = DATA / "wholesale_customers.csv"
MARKETING = DATA / "marketing_campaign.csv"


def _values(store, info, column: str, order: str = "__row") -> list:
    with store.cursor() as cur:
        q = quote_ident(column, info.names())
        return [r[0] for r in cur.execute(f"SELECT {q} FROM {info.table} ORDER BY {order}").fetchall()]


def _types(store, info) -> dict[str, str]:
    with store.cursor() as cur:
        return {r[0]: r[1] for r in cur.execute(f"DESCRIBE {info.table}").fetchall()}


# -- the rules themselves ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, distinct, lo, hi, expected",
    [
        ("Channel", 2, 1, 2, "integer codes: 2 distinct values, name 'Channel'"),
        ("Region", 3, 1, 3, "integer codes: 3 distinct values, name 'Region'"),
        ("Complain", 2, 0, 1, "yes/no flag"),
        ("Segment", 6, 0, 5, "integer codes: 6 distinct values, name 'Segment'"),
        ("Satisfaction", 5, 1, 5, "integer codes: values 1..5"),
        ("Kidhome", 3, 0, 2, None),  # a count: 0, 1 or 2 children
        ("Children", 4, 1, 4, None),  # values 1..n, but a count-like name
        ("NumWebVisits", 5, 1, 5, None),
        ("Store visits", 4, 1, 4, None),  # "store" is code-like, "visits" a count: count wins
        ("Rating (1-5)", 5, 1, 5, None),  # a declared range: a score
        ("Score", 5, 1, 5, None),
        ("Recency", 100, 0, 99, None),  # many values
        ("Age", 2, 0, 1, None),
    ],
)
def test_integer_code_rule(name, distinct, lo, hi, expected):
    assert roles.integer_code_reason(name, distinct, lo, hi, rows=440) == expected


def test_codes_need_rows_that_repeat_them():
    assert roles.integer_code_reason("Region", 3, 1, 3, rows=8) is None  # fewer than 3 rows per value
    assert roles.integer_code_reason("Region", 3, 1, 3, rows=9) is not None


@pytest.mark.parametrize(
    "name, ok", [("Year_Birth", True), ("YearOfBirth", True), ("birth year", True), ("BirthYear", True),
                 ("YOB", True), ("Year", False), ("Birthday", False), ("Year_Joined", False)],
)
def test_birth_year_names(name, ok):
    assert roles.is_birth_year(name, 1940, 2000, this_year=2025) is ok


def test_birth_year_values_must_be_years():
    assert not roles.is_birth_year("Year_Birth", 1940, 2031, this_year=2025)
    assert not roles.is_birth_year("Year_Birth", 40, 99, this_year=2025)


# -- UCI Wholesale customers ---------------------------------------------------------------------
def test_wholesale_channel_and_region_are_categories(store):
    info = load_file(store, WHOLESALE)
    frame = pd.read_csv(WHOLESALE)
    got = column_roles(info)
    assert {c: r["role"] for c, r in got.items()} == {
        "Channel": CATEGORICAL, "Region": CATEGORICAL, "Fresh": NUMERIC, "Milk": NUMERIC,
        "Grocery": NUMERIC, "Frozen": NUMERIC, "Detergents_Paper": NUMERIC, "Delicassen": NUMERIC,
    }
    assert got["Channel"]["reason"] == "integer codes: 2 distinct values, name 'Channel'"
    assert got["Region"]["reason"] == "integer codes: 3 distinct values, name 'Region'"
    # stored as text categories "1", "2", ... with the file's counts
    assert _types(store, info)["Channel"] == "VARCHAR"
    for col in ("Channel", "Region"):
        expected = frame[col].astype(str).value_counts().to_dict()
        assert pd.Series(_values(store, info, col)).value_counts().to_dict() == expected
    assert expected == {"3": 316, "1": 77, "2": 47}  # Region, the published counts
    assert default_features(info) == ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    assert any("'Channel' read as categories" in r for r in info.quality.repairs)


# -- Kaggle Customer Personality Analysis ----------------------------------------------------------
@pytest.fixture
def marketing(store):
    return load_file(store, MARKETING), pd.read_csv(MARKETING, sep="\t")


def test_marketing_roles_of_every_column(marketing):
    info, frame = marketing
    got = column_roles(info)
    flags = ["AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "AcceptedCmp1", "AcceptedCmp2", "Complain", "Response"]
    numeric = ["Income", "Kidhome", "Teenhome", "Recency", "MntWines", "MntFruits", "MntMeatProducts",
               "MntFishProducts", "MntSweetProducts", "MntGoldProds", "NumDealsPurchases", "NumWebPurchases",
               "NumCatalogPurchases", "NumStorePurchases", "NumWebVisitsMonth"]
    expected = {"ID": IDENTIFIER, "Year_Birth": EXCLUDED, "Age (from Year_Birth)": NUMERIC,
                "Education": CATEGORICAL, "Marital_Status": CATEGORICAL, "Dt_Customer": DATE,
                "Dt_Customer (days since)": NUMERIC, "Z_CostContact": EXCLUDED, "Z_Revenue": EXCLUDED}
    expected.update({c: NUMERIC for c in numeric})
    expected.update({c: CATEGORICAL for c in flags})
    assert {c: r["role"] for c, r in got.items()} == expected
    # every source column is there, each derived column right after its source
    names = list(got)
    assert [n for n in names if "(" not in n] == list(frame.columns)
    assert names[names.index("Year_Birth") + 1] == "Age (from Year_Birth)"
    assert names[names.index("Dt_Customer") + 1] == "Dt_Customer (days since)"
    assert all(got[c]["reason"] == "yes/no flag" for c in flags)
    assert got["Year_Birth"]["reason"] == "birth year: use the derived age"
    assert got["Z_CostContact"]["reason"] == got["Z_Revenue"]["reason"] == "the same value in every row"
    assert got["Dt_Customer"]["reason"].startswith("dates")
    assert got["ID"]["reason"] == "identifier: id-like name, 2240 distinct values in 2240 rows"
    assert got["Education"]["reason"] == "text values"
    assert all(got[c]["reason"] for c in got)
    assert info.quality.missing["Income"] == 24
    feats = default_features(info)
    assert "Year_Birth" not in feats and "Z_Revenue" not in feats and "Complain" not in feats
    assert {"Age (from Year_Birth)", "Dt_Customer (days since)", "Income", "Kidhome"} <= set(feats)


def test_marketing_dates_and_days_since(store, marketing):
    info, frame = marketing
    dates = pd.to_datetime(frame["Dt_Customer"], format="%d-%m-%Y")
    assert _types(store, info)["Dt_Customer"] == "DATE"
    assert _values(store, info, "Dt_Customer") == [d.date() for d in dates]
    expected_days = [(dates.max() - d).days for d in dates]
    assert _values(store, info, "Dt_Customer (days since)") == expected_days
    assert dates.max().date() == dt.date(2014, 6, 29) and max(expected_days) == 699
    assert any("Dt_Customer (days since)' added" in r for r in info.quality.repairs)


def test_marketing_age_from_birth_year(store, marketing):
    info, frame = marketing
    # reference year: the latest date in the data (29-06-2014)
    assert _values(store, info, "Age (from Year_Birth)") == [2014 - y for y in frame["Year_Birth"]]
    assert _values(store, info, "Year_Birth") == list(frame["Year_Birth"])  # kept for display and export
    ages = [f for f in info.quality.findings if f.rule == "impossible_age"]
    assert [(f.column, f.count) for f in ages] == [("Age (from Year_Birth)", int((2014 - frame["Year_Birth"] > 120).sum()))]
    assert ages[0].count == 1  # born 1893


def test_marketing_flags_are_text_categories(store, marketing):
    info, frame = marketing
    assert pd.Series(_values(store, info, "Response")).value_counts().to_dict() == {"0": 1906, "1": 334}
    assert pd.Series(_values(store, info, "Complain")).value_counts().to_dict() == (
        frame["Complain"].astype(str).value_counts().to_dict())


# -- Mall sample: unchanged --------------------------------------------------------------------------
def test_mall_keeps_its_numbers(store, mall_csv):
    info = load_file(store, mall_csv)
    got = {c: r["role"] for c, r in column_roles(info).items()}
    assert got == {"CustomerID": IDENTIFIER, "Gender": CATEGORICAL, "Age": NUMERIC,
                   "Annual Income (k$)": NUMERIC, "Spending Score (1-100)": NUMERIC}
    assert not info.quality.repairs


# -- numbers with currency and percent signs, thousands separators, accounting negatives ---------------
def test_currency_percent_thousands_accounting(store, tmp_path):
    path = tmp_path / "money.csv"
    path.write_text(
        'Customer,Spend,Discount,Balance\n'
        'a,"$1,234.50",45%,"(1,000)"\n'
        'b,€ 99,12.5%,"2,500"\n'
        'c,12 £,0%,($7.25)\n'
        'd,¥5,100 %,-30\n'
        'e,-$7,?,"1,000,000"\n',
        encoding="utf-8",
    )
    info = load_file(store, path)
    got = column_roles(info)
    assert got["Spend"]["role"] == got["Discount"]["role"] == got["Balance"]["role"] == NUMERIC
    assert _values(store, info, "Spend") == [1234.5, 99.0, 12.0, 5.0, -7.0]
    assert _values(store, info, "Discount") == [45.0, 12.5, 0.0, 100.0, None]
    assert _values(store, info, "Balance") == [-1000.0, 2500.0, -7.25, -30.0, 1000000.0]
    assert "percent" in got["Discount"]["reason"]
    assert "currency" in got["Spend"]["reason"]
    assert not info.quality.rejected_values
    assert any("'Discount' percent" in r for r in info.quality.repairs)


def test_euro_decimal_commas_in_a_semicolon_file(store, tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text("Kunde;Betrag;Anteil\nx;1.234,50 €;12,5 %\ny;12,5 €;3 %\nz;(3,00 €);0,5%\n", encoding="utf-8")
    info = load_file(store, path)
    assert _values(store, info, "Betrag") == [1234.5, 12.5, -3.0]
    assert _values(store, info, "Anteil") == [12.5, 3.0, 0.5]


def test_text_that_only_looks_like_money_is_rejected_not_guessed(store, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("Customer,Spend\na,$10\nb,$20\nc,$ 30\nd,ten dollars\n", encoding="utf-8")
    info = load_file(store, path)
    assert _values(store, info, "Spend") == [10.0, 20.0, 30.0, None]
    assert info.quality.rejected_values == {"Spend": 1}


# -- dates and birth years in small customer tables ----------------------------------------------------
def test_iso_dates_and_an_unreadable_one(store, tmp_path):
    path = tmp_path / "signup.csv"
    rows = ["Customer,Signup,Spend"] + [f"c{i},2021-03-{i + 1:02d},{10 * i}" for i in range(20)] + ["x,soon,5"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    info = load_file(store, path)
    got = column_roles(info)
    assert got["Signup"]["role"] == DATE and got["Signup (days since)"]["role"] == NUMERIC
    assert _values(store, info, "Signup (days since)") == [19 - i for i in range(20)] + [None]
    assert info.quality.rejected_values == {"Signup": 1}


def test_birth_year_without_dates_uses_the_current_year(store, tmp_path):
    path = tmp_path / "born.csv"
    path.write_text("Customer,YearOfBirth,Spend\n" + "".join(f"c{i},{1950 + i},{i}\n" for i in range(30)),
                    encoding="utf-8")
    info = load_file(store, path)
    this_year = dt.date.today().year
    assert column_roles(info)["YearOfBirth"]["role"] == EXCLUDED
    assert _values(store, info, "Age (from YearOfBirth)") == [this_year - 1950 - i for i in range(30)]
    assert "current year" in column_roles(info)["Age (from YearOfBirth)"]["reason"]


def test_values_one_to_n_without_a_code_name(store, tmp_path):
    path = tmp_path / "tiers.csv"
    path.write_text("Customer,Plan,Visits,Spend\n" + "".join(
        f"c{i},{i % 4 + 1},{i % 4 + 1},{i * 3}\n" for i in range(40)), encoding="utf-8")
    info = load_file(store, path)
    got = column_roles(info)
    assert got["Plan"]["role"] == CATEGORICAL  # code-like name
    assert got["Visits"]["role"] == NUMERIC  # a count, although its values are 1..4
    assert sorted(set(_values(store, info, "Plan"))) == ["1", "2", "3", "4"]


def test_parquet_integer_codes_and_native_dates(store, tmp_path):
    path = tmp_path / "customers.parquet"
    frame = pd.DataFrame({
        "CustomerID": range(1, 31),
        "Region": [i % 3 + 1 for i in range(30)],
        "Spend": [float(i) * 1.5 for i in range(30)],
        "Joined": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(30)],
    })
    frame.to_parquet(path)
    info = load_file(store, path)
    got = column_roles(info)
    assert got["Region"]["role"] == CATEGORICAL and got["Spend"]["role"] == NUMERIC
    assert _values(store, info, "Region") == [str(i % 3 + 1) for i in range(30)]
    assert got["Joined"]["role"] == DATE
    assert _values(store, info, "Joined (days since)") == [29 - i for i in range(30)]


def test_yyyymmdd_numbers_with_a_date_name(store, tmp_path):
    path = tmp_path / "compact.csv"
    path.write_text("Customer,SignupDate,Spend\n" + "".join(f"c{i},202103{i + 1:02d},{i}\n" for i in range(20)),
                    encoding="utf-8")
    info = load_file(store, path)
    assert column_roles(info)["SignupDate"]["role"] == DATE
    assert _values(store, info, "SignupDate") == [dt.date(2021, 3, i + 1) for i in range(20)]
    assert _values(store, info, "SignupDate (days since)") == [19 - i for i in range(20)]
