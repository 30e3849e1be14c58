"""The feature matrix of a run, prepared in DuckDB: invalid rows excluded, missing values filled,
categoricals one-hot encoded, fetched in one columnar fetch (step 2 of core.segmentation)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np

from core.errors import InputError
from core.kmeans import K_MAX
from core.models import IDENTIFIER, NUMERIC, ROW, DatasetInfo
from core.quality import fill_values, kept_rows_predicate
from core.store import quote_ident

MAX_CATEGORY_LEVELS = 20  # one-hot columns per categorical feature


@dataclass
class PreparedData:
    """The feature matrix of the kept rows, in __row order, and what preparing it did."""

    rows: np.ndarray  # __row of every kept row (int64)
    raw: np.ndarray  # n x m: filled values in original units; one-hot columns are 0/1
    encoded: list[str]  # m encoded feature names ("Gender=Female" for one-hot columns)
    numeric: list[str]
    categorical: list[str]
    onehot: dict[str, tuple[str, str]]  # encoded name -> (column, value)
    fill: dict[str, dict]  # every dataset column with a fill value (whole table): the fill used
    filled: dict[str, dict]  # Run.filled: the same, counted over the kept rows (columns with any)
    rows_excluded: int
    excluded_by_rule: dict[str, int]
    distinct: int  # distinct feature vectors, counted up to K_MAX + 1

    @property
    def numeric_mask(self) -> np.ndarray:
        return np.array([e not in self.onehot for e in self.encoded], dtype=bool)


def _filled_expr(info: DatasetInfo, col: str, fill: dict[str, dict]) -> tuple[str, list]:
    """SQL for a dataset column (alias d) with its missing values filled, and its parameter."""
    q = "d." + quote_ident(col, info.names())
    if col not in fill:
        return q, []
    value = fill[col]["value"]
    if info.column(col).role == NUMERIC:
        v = float(value)
        # An integral fill keeps an integer column integer; a fractional median makes it DOUBLE.
        return f"COALESCE({q}, ?)", [int(v) if v.is_integer() else v]
    return f"COALESCE({q}::VARCHAR, ?)", [str(value)]


def prepare_features(
    cur: duckdb.DuckDBPyConnection,
    info: DatasetInfo,
    numeric: list[str],
    categorical: list[str],
    fill: str = "median",
) -> PreparedData:
    """Exclude invalid rows, fill missing values and one-hot encode, in SQL; fetch the matrix."""
    features = numeric + categorical
    kept_sql, kept_params = kept_rows_predicate(info.dataset_id, features)
    fill_map = _fill_map(cur, info, features, fill)
    kept, total, filled, excluded_by_rule = _kept_counts(cur, info, features, fill_map, kept_sql, kept_params)
    exprs, params, encoded, onehot = _encode(cur, info, numeric, categorical, fill_map, kept_sql, kept_params)
    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    distinct = int(
        cur.execute(
            f"""
            SELECT count(*) FROM (
                SELECT DISTINCT {select} FROM {info.table} d WHERE {kept_sql} LIMIT {K_MAX + 1}
            )
            """,
            params + kept_params,
        ).fetchone()[0]
    )
    result = cur.execute(
        f"SELECT d.{ROW} AS r, {select} FROM {info.table} d WHERE {kept_sql} ORDER BY d.{ROW}",
        params + kept_params,
    ).fetchnumpy()
    rows = np.asarray(result["r"], dtype=np.int64)
    raw = np.empty((len(rows), len(exprs)), dtype=np.float64)
    for i in range(len(exprs)):
        raw[:, i] = np.ma.filled(result[f"c{i}"], np.nan)
    bad = ~np.isfinite(raw).all(axis=0)
    if bad.any():
        col = encoded[int(np.argmax(bad))]
        raise InputError(
            f"column '{col}' has infinite or undefined values that no validation rule excluded; "
            "fix the file or leave the column out of the features"
        )
    return PreparedData(
        rows=rows, raw=raw, encoded=encoded, numeric=numeric, categorical=categorical, onehot=onehot,
        fill=fill_map, filled=filled, rows_excluded=total - kept, excluded_by_rule=excluded_by_rule,
        distinct=distinct,
    )


def _fill_map(cur: duckdb.DuckDBPyConnection, info: DatasetInfo, features: list[str], fill: str) -> dict:
    """Fill values of every column that has at least one value; an empty feature cannot be used."""
    names = info.names()
    fillable = [c.name for c in info.columns if c.role != IDENTIFIER and c.name != info.id_column]
    present = {}
    if fillable:
        counts_sql = ", ".join(f"count({quote_ident(c, names)})" for c in fillable)
        present = dict(zip(fillable, cur.execute(f"SELECT {counts_sql} FROM {info.table}").fetchone()))
    for f in features:
        if not present.get(f):
            raise InputError(f"column '{f}' has no values at all; leave it out of the features")
    return fill_values(cur, info, [c for c in fillable if present.get(c)], fill)


def _kept_counts(cur: duckdb.DuckDBPyConnection, info: DatasetInfo, features: list[str], fill_map: dict,
                 kept_sql: str, kept_params: list) -> tuple[int, int, dict, dict[str, int]]:
    """(rows kept, rows in the table, Run.filled, Run.excluded_by_rule); InputError when none is kept.
    Fills are counted over the kept rows only: those are the values the run fills."""
    names = info.names()
    missing_sql = "".join(f", count(*) - count({quote_ident(c, names)})" for c in fill_map)
    counts = cur.execute(
        f"SELECT count(*){missing_sql} FROM {info.table} d WHERE {kept_sql}", kept_params
    ).fetchone()
    kept = int(counts[0])
    total = int(cur.execute(f"SELECT count(*) FROM {info.table}").fetchone()[0])
    filled = {
        c: {"method": f["method"], "value": _json_value(f["value"]), "count": int(n)}
        for (c, f), n in zip(fill_map.items(), counts[1:])
        if n
    }
    by_rule = cur.execute(
        f"""
        SELECT i.rule || ':' || i.column_name AS rule_column, count(DISTINCT i."row") AS n
        FROM issues i
        JOIN {info.table} d ON d.{ROW} = i."row"
        WHERE i.dataset_id = ? AND i.excludes AND list_contains(?::VARCHAR[], i.column_name)
        GROUP BY rule_column
        ORDER BY rule_column
        """,
        [info.dataset_id, features],
    ).fetchall()
    if kept == 0:
        raise InputError(
            f"no customers left to segment: all {total} rows have invalid values in the chosen features "
            "(see the data-quality report); choose other features"
        )
    return kept, total, filled, {r[0]: int(r[1]) for r in by_rule}


def _encode(cur: duckdb.DuckDBPyConnection, info: DatasetInfo, numeric: list[str], categorical: list[str],
            fill_map: dict, kept_sql: str, kept_params: list) -> tuple[list[str], list, list[str], dict]:
    """(SQL expressions, their parameters, encoded names, one-hot map): numeric features as DOUBLE,
    one 0/1 column per level of each categorical feature (levels over the kept rows, filled)."""
    exprs: list[str] = []
    params: list = []
    encoded: list[str] = list(numeric)
    onehot: dict[str, tuple[str, str]] = {}
    for col in numeric:
        sql, p = _filled_expr(info, col, fill_map)
        exprs.append(f"({sql})::DOUBLE")
        params += p
    for col in categorical:
        sql, p = _filled_expr(info, col, fill_map)
        levels = cur.execute(
            f"""
            SELECT DISTINCT ({sql})::VARCHAR AS level FROM {info.table} d
            WHERE {kept_sql} ORDER BY level LIMIT {MAX_CATEGORY_LEVELS + 1}
            """,
            p + kept_params,
        ).fetchall()
        if len(levels) > MAX_CATEGORY_LEVELS:
            raise InputError(
                f"column '{col}' has more than {MAX_CATEGORY_LEVELS} different values; one-hot encoding "
                "allows at most that many, so leave it out of the features or group its values first"
            )
        for (level,) in levels:
            enc = f"{col}={level}"
            onehot[enc] = (col, level)
            encoded.append(enc)
            exprs.append(f"(({sql})::VARCHAR = ?)::DOUBLE")
            params += p + [level]
    return exprs, params, encoded, onehot


def _json_value(v):
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
