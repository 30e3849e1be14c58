"""core.synth: deterministic, exact row counts, the five groups, and the stated amount of dirt."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from core import synth

ROWS = 20_000


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "customers.csv"
    plan = synth.write_customers(ROWS, out, seed=7)
    return out, plan


def _read(path):
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT * FROM read_csv('{path}', header=true, all_varchar=true)"
        ).fetchall(), [d[0] for d in con.description]
    finally:
        con.close()


def test_same_seed_gives_identical_bytes(tmp_path):
    for fmt in ("csv", "parquet"):
        a, b, c = (tmp_path / f"{n}.{fmt}" for n in "abc")
        synth.write_customers(3000, a, seed=11, fmt=fmt)
        synth.write_customers(3000, b, seed=11, fmt=fmt)
        synth.write_customers(3000, c, seed=12, fmt=fmt)
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()


def test_transactions_are_deterministic(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert synth.write_transactions(5000, a, seed=3) == 5000
    synth.write_transactions(5000, b, seed=3)
    assert a.read_bytes() == b.read_bytes()


def test_row_count_columns_and_header(csv_file):
    path, plan = csv_file
    rows, cols = _read(path)
    assert cols == list(synth.CUSTOMER_COLUMNS)
    assert len(rows) == ROWS == plan.rows
    assert path.read_text().splitlines()[0] == ",".join(synth.CUSTOMER_COLUMNS)


def test_dirt_is_present_in_the_stated_amounts(csv_file):
    path, plan = csv_file
    rows, cols = _read(path)
    col = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    expected = synth.dirt_plan(ROWS)
    assert plan.duplicates == expected.duplicates == round(0.005 * ROWS)
    assert len(rows) - len(set(rows)) == plan.duplicates
    assert len(set(col[synth.ID])) == plan.customers

    for name, n in plan.missing.items():
        assert sum(v is None for v in col[name]) == n > 0, name
    for name, n in plan.unknown_text.items():
        assert sum(v == "?" for v in col[name]) == n > 0, name

    def ints(name):
        return [int(v) for v in col[name] if v not in (None, "?")]

    assert sum(v < 0 for v in ints(synth.INCOME)) == plan.negative_income > 0
    assert sum(not 1 <= v <= 100 for v in ints(synth.SCORE)) == plan.score_out_of_range > 0
    assert sum(not 0 < v < 120 for v in ints(synth.AGE)) == plan.impossible_age > 0
    assert set(col[synth.GENDER]) == {"Female", "Male", None}


def test_parquet_is_typed_and_text_becomes_missing(tmp_path):
    out = tmp_path / "c.parquet"
    plan = synth.write_customers(ROWS, out, fmt="parquet")
    con = duckdb.connect()
    types = dict(con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()[i][:2] for i in range(5))
    assert types[synth.AGE] == "BIGINT" and types[synth.INCOME] == "BIGINT"
    n_null = con.execute(f'SELECT count(*) - count("{synth.AGE}") FROM \'{out}\'').fetchone()[0]
    assert n_null == plan.missing[synth.AGE] == synth.dirt_plan(ROWS).missing[synth.AGE] + synth.dirt_plan(
        ROWS
    ).unknown_text[synth.AGE]
    assert con.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0] == ROWS


def test_the_five_groups_exist():
    ct = synth.customer_table(ROWS, seed=7, fmt="parquet")  # typed: no "?" text
    inc = np.array(ct.table.column(synth.INCOME).to_pylist(), dtype=float)
    sco = np.array(ct.table.column(synth.SCORE).to_pylist(), dtype=float)
    shares = np.bincount(ct.groups, minlength=5) / len(ct.groups)
    for g, group in enumerate(synth.GROUPS):
        assert abs(shares[g] - group.share) < 0.02
        members = ct.groups == g
        assert abs(np.nanmedian(inc[members]) - group.income[0]) < 3
        assert abs(np.nanmedian(sco[members]) - group.score[0]) < 3


def test_groups_are_what_kmeans_finds():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    ct = synth.customer_table(ROWS, seed=7, fmt="parquet")
    t = ct.table
    cols = [np.array(t.column(c).to_pylist(), dtype=float) for c in (synth.INCOME, synth.SCORE)]
    X = np.column_stack(cols)
    ok = np.isfinite(X).all(axis=1) & (X[:, 0] > 0) & (X[:, 1] >= 1) & (X[:, 1] <= 100)
    Xs = StandardScaler().fit_transform(X[ok])
    labels = KMeans(5, n_init=4, random_state=0).fit_predict(Xs)
    assert adjusted_rand_score(ct.groups[ok], labels) > 0.9


def test_transactions_have_returns_and_spread(tmp_path):
    t = synth.transaction_table(20_000, seed=7)
    assert t.column_names == list(synth.TRANSACTION_COLUMNS)
    assert t.num_rows == 20_000
    qty = np.array(t.column("quantity").to_pylist())
    inv = t.column("invoice").to_pylist()
    returns = qty < 0
    assert 0.01 < returns.mean() < 0.03
    assert all(inv[i].startswith("C") for i in np.flatnonzero(returns))
    assert len(set(t.column("customer_id").to_pylist())) == 2000
    dates = t.column("date").to_pylist()
    assert dates == sorted(dates)


def test_cli(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert synth.main(["--rows", "500", "--out", str(out), "--seed", "1"]) == 0
    assert len(out.read_text().splitlines()) == 501
    assert synth.main(["--rows", "0", "--out", str(out)]) == 2
