"""Cleaning and validation in SQL: duplicates, identifiers, missing-value fill, validation rules."""
from __future__ import annotations

import duckdb

from core.errors import InputError
from core.models import NUMERIC, ROW, DatasetInfo
from core.store import dataset_table, quote_ident

FILL_METHODS = ("median", "mean")


def fill_values(
    cur: duckdb.DuckDBPyConnection, info: DatasetInfo, columns: list[str], method: str = "median"
) -> dict[str, dict]:
    """The value each column's missing entries are filled with, and how many there are.

    Numeric columns: median (default) or mean of the present values; categorical columns: the mode
    (ties broken alphabetically so the result is reproducible). Columns without missing values are
    left out. Returns column -> {"method", "value", "count"}.
    """
    if method not in FILL_METHODS:
        raise InputError(f"fill must be one of {', '.join(FILL_METHODS)}")
    if not columns:
        return {}
    table = dataset_table(info.dataset_id)
    allowed = info.names()
    counts_sql = ", ".join(f"count(*) - count({quote_ident(c, allowed)})" for c in columns)
    counts = cur.execute(f"SELECT {counts_sql} FROM {table}").fetchone()
    out: dict[str, dict] = {}
    for col, missing in zip(columns, counts):
        if not missing:
            continue
        q = quote_ident(col, allowed)
        role = info.column(col).role
        if role == NUMERIC:
            agg = "median" if method == "median" else "avg"
            value = cur.execute(f"SELECT {agg}({q})::DOUBLE FROM {table}").fetchone()[0]
            used = method
        else:
            row = cur.execute(
                f"""
                SELECT {q}::VARCHAR FROM {table} WHERE {q} IS NOT NULL
                GROUP BY {q} ORDER BY count(*) DESC, {q}::VARCHAR LIMIT 1
                """
            ).fetchone()
            value = row[0] if row else None
            used = "mode"
        if value is None:
            raise InputError(f"column '{col}' has no values at all; leave it out of the features")
        out[col] = {"method": used, "value": value, "count": int(missing)}
    return out


def kept_rows_predicate(dataset_id: str, features: list[str]) -> tuple[str, list]:
    """SQL condition over a dataset table aliased `d`: true for rows kept in the fit, i.e. rows with
    no excluding validation finding in any of the chosen feature columns, with its bound parameters."""
    sql = f"""NOT EXISTS (
        SELECT 1 FROM issues i
        WHERE i.dataset_id = ? AND i."row" = d.{ROW} AND i.excludes
          AND list_contains(?::VARCHAR[], i.column_name)
    )"""
    return sql, [dataset_id, list(features)]
