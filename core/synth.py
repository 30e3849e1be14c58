"""Realistic synthetic customer and transaction tables, deterministic for a seed, for benchmarks and tests.

`python -m core.synth --rows 1000000 --out customers.csv` writes a table with the bundled sample's
columns (CustomerID, Gender, Age, Annual Income (k$), Spending Score (1-100)) drawn from the five
income/score groups of the mall data, plus a stated, exact amount of dirt: missing values, exact
duplicate rows, negative incomes, scores outside 1-100, impossible ages and "?" text in number columns.
`--transactions` writes an invoice-line table (customer_id, invoice, date, quantity, price; returns
have a "C" invoice and a negative quantity) for the RFM path instead.

Everything is drawn with numpy in whole-array steps and written by DuckDB from Arrow, so a million
rows take about a second and ten million about ten. The same seed gives a byte-identical file.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID = "CustomerID"
GENDER = "Gender"
AGE = "Age"
INCOME = "Annual Income (k$)"
SCORE = "Spending Score (1-100)"
CUSTOMER_COLUMNS = (ID, GENDER, AGE, INCOME, SCORE)
TRANSACTION_COLUMNS = ("customer_id", "invoice", "date", "quantity", "price")

FORMATS = ("csv", "parquet")
DEFAULT_SEED = 7


@dataclass(frozen=True)
class Group:
    """One natural customer group: share of customers and (mean, sd) of each feature."""

    name: str
    share: float
    age: tuple[float, float]
    income: tuple[float, float]
    score: tuple[float, float]
    female: float  # probability of Gender == "Female"


# The five groups of the mall sample (see shared/data/README.md): sizes 81/39/35/23/22 of 200 and
# the published (income, score) means, a little tighter so K-Means finds them at any size.
GROUPS: tuple[Group, ...] = (
    Group("Average income, average spending", 0.405, (45, 6), (55, 7), (50, 6), 0.58),
    Group("High income, high spending", 0.195, (32, 4), (86, 8), (82, 6.5), 0.54),
    Group("High income, low spending", 0.175, (44, 7), (88, 9), (17, 7), 0.46),
    Group("Low income, low spending", 0.115, (52, 7), (26, 6), (20, 7), 0.61),
    Group("Low income, high spending", 0.11, (25, 4), (26, 6), (79, 7), 0.59),
)

# Dirt, as shares of the rows. Counts are exact: round(share * rows) (duplicates) or
# round(share * customers) (the rest, customers = rows - duplicates), in disjoint rows per column.
# Duplicates copy clean rows only, so every other count below is also the count in the file.
DUPLICATE_SHARE = 0.005
MISSING_SHARE = {GENDER: 0.002, AGE: 0.01, INCOME: 0.005, SCORE: 0.005}
NEGATIVE_INCOME_SHARE = 0.001
SCORE_OUT_OF_RANGE_SHARE = 0.001
IMPOSSIBLE_AGE_SHARE = 0.001
UNKNOWN_TEXT = "?"
UNKNOWN_TEXT_SHARE = {AGE: 0.0005, INCOME: 0.0005}  # CSV only; Parquet is typed and stores NULL

VALID_AGE = (18, 90)
VALID_SCORE = (1, 100)
MIN_INCOME = 5

# Transactions: one row per invoice line over two calendar years.
TX_START = dt.date(2023, 1, 1)
TX_DAYS = 731
TX_LINES_PER_CUSTOMER = 10
RETURN_SHARE = 0.02


@dataclass
class DirtPlan:
    """How many of each kind of dirt a generated customer table holds (what the tests check)."""

    rows: int
    customers: int
    duplicates: int
    missing: dict[str, int] = field(default_factory=dict)
    negative_income: int = 0
    score_out_of_range: int = 0
    impossible_age: int = 0
    unknown_text: dict[str, int] = field(default_factory=dict)


def dirt_plan(rows: int) -> DirtPlan:
    """The exact dirt counts for a table of `rows` data rows."""
    duplicates = int(round(DUPLICATE_SHARE * rows)) if rows > 1 else 0
    customers = rows - duplicates
    return DirtPlan(
        rows=rows,
        customers=customers,
        duplicates=duplicates,
        missing={c: int(round(s * customers)) for c, s in MISSING_SHARE.items()},
        negative_income=int(round(NEGATIVE_INCOME_SHARE * customers)),
        score_out_of_range=int(round(SCORE_OUT_OF_RANGE_SHARE * customers)),
        impossible_age=int(round(IMPOSSIBLE_AGE_SHARE * customers)),
        unknown_text={c: int(round(s * customers)) for c, s in UNKNOWN_TEXT_SHARE.items()},
    )


@dataclass
class CustomerTable:
    table: pa.Table  # the file's rows, in file order
    groups: np.ndarray  # group index (0..4) of every row, in file order
    plan: DirtPlan


def _make_dirty(rng: np.random.Generator, plan: DirtPlan, n: int, age: np.ndarray, income: np.ndarray,
                score: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Mark the plan's dirty rows (disjoint per column) and change age, income and score in place:
    (dirty mask, missing rows per column, "?" text rows per column). Same random draws, same order."""
    # Disjoint dirty rows per column: one draw without replacement, sliced.
    def pick(total: int) -> np.ndarray:
        return rng.choice(n, size=total, replace=False) if total else np.empty(0, np.int64)

    dirty = np.zeros(n, dtype=bool)
    missing: dict[str, np.ndarray] = {}
    text: dict[str, np.ndarray] = {}

    idx = pick(plan.missing[GENDER])
    missing[GENDER] = idx
    dirty[idx] = True

    a_miss, a_text, a_bad = plan.missing[AGE], plan.unknown_text[AGE], plan.impossible_age
    idx = pick(a_miss + a_text + a_bad)
    missing[AGE], text[AGE], bad_age = idx[:a_miss], idx[a_miss : a_miss + a_text], idx[a_miss + a_text :]
    age[bad_age] = _impossible_ages(rng, len(bad_age))
    dirty[idx] = True

    i_miss, i_text, i_neg = plan.missing[INCOME], plan.unknown_text[INCOME], plan.negative_income
    idx = pick(i_miss + i_text + i_neg)
    missing[INCOME], text[INCOME], neg = idx[:i_miss], idx[i_miss : i_miss + i_text], idx[i_miss + i_text :]
    income[neg] = -rng.integers(1, 150, size=len(neg))
    dirty[idx] = True

    s_miss, s_bad = plan.missing[SCORE], plan.score_out_of_range
    idx = pick(s_miss + s_bad)
    missing[SCORE], bad_score = idx[:s_miss], idx[s_miss:]
    score[bad_score] = _scores_out_of_range(rng, len(bad_score))
    dirty[idx] = True

    return dirty, missing, text


def customer_table(rows: int, seed: int = DEFAULT_SEED, fmt: str = "csv") -> CustomerTable:
    """Draw a customer table of exactly `rows` data rows (duplicates included)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    plan = dirt_plan(rows)
    n = plan.customers
    rng = np.random.default_rng(seed)

    shares = np.array([g.share for g in GROUPS])
    group = rng.choice(len(GROUPS), size=n, p=shares / shares.sum())

    def draw(attr: str) -> np.ndarray:
        mean = np.array([getattr(g, attr)[0] for g in GROUPS])[group]
        sd = np.array([getattr(g, attr)[1] for g in GROUPS])[group]
        return rng.normal(mean, sd)

    age = np.clip(np.rint(draw("age")), *VALID_AGE).astype(np.int64)
    income = np.maximum(np.rint(draw("income")), MIN_INCOME).astype(np.int64)
    score = np.clip(np.rint(draw("score")), *VALID_SCORE).astype(np.int64)
    female = rng.random(n) < np.array([g.female for g in GROUPS])[group]
    gender = np.where(female, "Female", "Male")

    dirty, missing, text = _make_dirty(rng, plan, n, age, income, score)

    # Exact duplicates of clean rows, inserted at random places (the file stays in id order otherwise).
    clean = np.flatnonzero(~dirty)
    dup_n = min(plan.duplicates, len(clean))
    plan.duplicates, plan.rows = dup_n, n + dup_n
    src = np.sort(rng.choice(clean, size=dup_n, replace=False)) if dup_n else np.empty(0, np.int64)
    where = np.sort(rng.integers(0, n + 1, size=dup_n))
    order = np.insert(np.arange(n), where, src)

    def number(values: np.ndarray, col: str) -> pa.Array:
        mask = np.zeros(n, dtype=bool)
        mask[missing.get(col, [])] = True
        arr = pa.array(values, type=pa.int64(), mask=mask)
        if col in text and fmt == "csv":
            arr = pc.cast(arr, pa.string())
            is_text = np.zeros(n, dtype=bool)
            is_text[text[col]] = True
            arr = pc.if_else(pa.array(is_text), pa.scalar(UNKNOWN_TEXT), arr)
        elif col in text:
            arr = pc.if_else(pa.array(_mask(n, text[col])), pa.scalar(None, pa.int64()), arr)
        return arr.take(pa.array(order))

    gender_arr = pa.array(gender, type=pa.string(), mask=_mask(n, missing[GENDER]))
    table = pa.table(
        {
            ID: pa.array(np.arange(1, n + 1, dtype=np.int64)[order]),
            GENDER: gender_arr.take(pa.array(order)),
            AGE: number(age, AGE),
            INCOME: number(income, INCOME),
            SCORE: number(score, SCORE),
        }
    )
    if fmt == "parquet":  # "?" cannot live in a typed column: those values are missing instead
        for col, k in plan.unknown_text.items():
            plan.missing[col] += k
        plan.unknown_text = {c: 0 for c in plan.unknown_text}
    return CustomerTable(table=table, groups=group[order], plan=plan)


def _mask(n: int, idx: np.ndarray) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m


def _impossible_ages(rng: np.random.Generator, k: int) -> np.ndarray:
    # half below zero or zero, half far too old
    low = -rng.integers(0, 6, size=k)
    high = rng.integers(130, 250, size=k)
    return np.where(rng.random(k) < 0.5, low, high)


def _scores_out_of_range(rng: np.random.Generator, k: int) -> np.ndarray:
    low = -rng.integers(0, 21, size=k)  # 0 and below
    high = rng.integers(101, 200, size=k)
    return np.where(rng.random(k) < 0.5, low, high)


def transaction_table(rows: int, seed: int = DEFAULT_SEED) -> pa.Table:
    """Invoice lines: customer_id, invoice, date, quantity, price (returns: "C" invoice, quantity < 0).

    Customers differ in how often they buy (log-normal), how much they spend, and when they were
    active (some lapsed, some new), so R, F and M spread out like a real shop's.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    customers = max(1, rows // TX_LINES_PER_CUSTOMER)

    activity = rng.lognormal(0.0, 1.0, size=customers)
    spend = rng.lognormal(np.log(12.0), 0.6, size=customers)
    first = rng.integers(0, TX_DAYS // 2, size=customers)
    first = np.where(rng.random(customers) < 0.15, rng.integers(TX_DAYS // 2, TX_DAYS, customers), first)
    lapsed = rng.random(customers) < 0.3
    last = np.where(lapsed, first + (TX_DAYS - first) * rng.random(customers) * 0.6, TX_DAYS - 1)
    last = np.maximum(last.astype(np.int64), first)

    # Every customer buys at least once; the remaining lines follow activity.
    extra = rows - customers
    cust = np.arange(customers, dtype=np.int64)
    if extra > 0:
        p = activity / activity.sum()
        cust = np.concatenate([cust, np.searchsorted(np.cumsum(p), rng.random(extra) * p.sum())])
        cust = np.minimum(cust, customers - 1)
    day = first[cust] + np.floor(rng.random(rows) * (last[cust] - first[cust] + 1)).astype(np.int64)
    quantity = rng.geometric(0.45, size=rows)  # 1, 2, 3, ... mostly small
    price = np.round(spend[cust] * rng.lognormal(0.0, 0.35, size=rows), 2)
    price = np.maximum(price, 0.01)

    order = np.lexsort((cust, day))  # by date, then customer
    cust, day, quantity, price = cust[order], day[order], quantity[order], price[order]
    new_invoice = np.ones(rows, dtype=bool)
    new_invoice[1:] = (day[1:] != day[:-1]) | (cust[1:] != cust[:-1])
    invoice_no = 500000 + np.cumsum(new_invoice)
    is_return = rng.random(rows) < RETURN_SHARE
    quantity = np.where(is_return, -quantity, quantity)

    invoice = pc.cast(pa.array(invoice_no), pa.string())
    invoice = pc.if_else(pa.array(is_return), pc.binary_join_element_wise("C", invoice, ""), invoice)
    epoch = (TX_START - dt.date(1970, 1, 1)).days
    return pa.table(
        {
            "customer_id": pa.array(cust + 10001),
            "invoice": invoice,
            "date": pa.array((day + epoch).astype(np.int32), type=pa.int32()).cast(pa.date32()),
            "quantity": pa.array(quantity),
            "price": pa.array(price).cast(pa.decimal128(12, 2)),
        }
    )


def write_table(table: pa.Table, out: str | Path, fmt: str = "csv") -> Path:
    """Write with DuckDB (parallel, order-preserving: same table -> same bytes)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    con = duckdb.connect(config={"preserve_insertion_order": True})
    try:
        rel = con.from_arrow(table)
        if fmt == "csv":
            rel.write_csv(str(out), sep=",", header=True)
        elif fmt == "parquet":
            rel.write_parquet(str(out), compression="zstd")
        else:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    finally:
        con.close()
    return out


def write_customers(rows: int, out: str | Path, seed: int = DEFAULT_SEED, fmt: str = "csv") -> DirtPlan:
    ct = customer_table(rows, seed, fmt)
    write_table(ct.table, out, fmt)
    return ct.plan


def write_transactions(rows: int, out: str | Path, seed: int = DEFAULT_SEED, fmt: str = "csv") -> int:
    table = transaction_table(rows, seed)
    write_table(table, out, fmt)
    return table.num_rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, required=True, help="data rows in the file (duplicates included)")
    ap.add_argument("--out", required=True, help="file to write")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--format", choices=FORMATS, default=None, help="default: from the file suffix, else csv")
    ap.add_argument("--transactions", action="store_true", help="write invoice lines for RFM instead")
    args = ap.parse_args(argv)
    if args.rows < 1:
        print("error: --rows must be at least 1", file=sys.stderr)
        return 2
    fmt = args.format or ("parquet" if args.out.lower().endswith(".parquet") else "csv")
    if args.transactions:
        n = write_transactions(args.rows, args.out, args.seed, fmt)
        print(f"wrote {n:,} transaction lines to {args.out}")
    else:
        plan = write_customers(args.rows, args.out, args.seed, fmt)
        print(
            f"wrote {plan.rows:,} rows ({plan.customers:,} customers, {plan.duplicates:,} duplicate rows) "
            f"to {args.out}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
