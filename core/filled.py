"""Which values of a run were filled (NULL in the file's ds_<id>, filled in run_<id>): per grid row,
per exported row, and in words ("filled with the median 36")."""
from __future__ import annotations

from typing import Any

from core.models import ROW, Run
from core.store import Store, dataset_table, quote_ident

FILLED = "__filled"  # grid rows: the list of this row's filled fields; exports: the "Filled" column


def filled_columns(run: Run, present: list[str]) -> list[str]:
    """The run's columns that had any value filled (Run.filled), among the columns present."""
    return [c for c, f in run.filled.items() if f.get("count") and c in present]


def filled_note(run: Run, column: str) -> str:
    """'filled with the median 36' for a filled column of the run ('' when it filled nothing there)."""
    f = run.filled.get(column) or {}
    if not f.get("count"):
        return ""
    value = f.get("value")
    if isinstance(value, float):
        value = int(value) if value.is_integer() else f"{value:.4g}"
    return f"filled with the {f.get('method', 'fill value')} {value}"


def filled_by_row(store: Store, run: Run, dataset_columns: list[str], rows: list[int]) -> dict[int, list[str]]:
    """Per __row of a grid page (bounded by the page): the fields that were filled. Read from the
    dataset table, which keeps the file's NULLs row for row."""
    columns = filled_columns(run, dataset_columns)
    if not columns or not rows:
        return {}
    nulls = ", ".join(f"{quote_ident(c, dataset_columns)} IS NULL" for c in columns)
    with store.cursor() as cur:
        found = cur.execute(
            f"SELECT {ROW}, {nulls} FROM {dataset_table(run.dataset_id)} "
            f"WHERE {ROW} BETWEEN ? AND ? AND list_contains(?::BIGINT[], {ROW})",  # the range skips row groups
            [min(rows), max(rows), list(rows)],
        ).fetchall()
    out = {}
    for row, *flags in found:
        fields = [c for c, null in zip(columns, flags) if null]
        if fields:
            out[int(row)] = fields
    return out


def filled_export_sql(run: Run, dataset_columns: list[str]) -> tuple[str, list[Any]]:
    """A subquery (alias-free: join it USING (__row)) giving per filled row its filled fields as text
    ("Income, Age"), and its parameters; ("", []) when the run filled nothing."""
    columns = filled_columns(run, dataset_columns)
    if not columns:
        return "", []
    parts = ", ".join(f"CASE WHEN {quote_ident(c, dataset_columns)} IS NULL THEN ? END" for c in columns)
    any_null = " OR ".join(f"{quote_ident(c, dataset_columns)} IS NULL" for c in columns)
    sql = (f"SELECT {ROW}, concat_ws(', ', {parts}) AS {FILLED} "
           f"FROM {dataset_table(run.dataset_id)} WHERE {any_null}")
    return sql, list(columns)
