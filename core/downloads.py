"""Exports of any size as CSV or Parquet, written by DuckDB straight to a file (constant memory).

The columns are those of the Excel export's Customers sheet (core.export), in the same order, with the
same header names. CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a
tab or a carriage return) get a leading apostrophe, as OWASP recommends for CSV injection; Parquet keeps
the values typed and needs no such guard. Excel stays core.export.export_workbook.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.export import _customer_columns, customer_source
from core.filters import FilterSpec
from core.models import ROW
from core.store import Store, quote_ident
from core.views import run_where

FORMATS = ("xlsx", "csv", "parquet")
_FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


@dataclass
class FlatExport:
    rows: int
    path: str
    fmt: str


def export_flat(store: Store, spec: FilterSpec, out: str | os.PathLike, fmt: str) -> FlatExport:
    """Write the customers `spec` selects to `out` as CSV or Parquet; return the row count."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"export format must be one of {', '.join(FORMATS)}")
    ctx, where, params = run_where(store, spec)
    select, headers, kinds, values = _customer_columns(ctx, spec.transition)  # the Excel sheet's columns
    source, source_params = customer_source(ctx)
    cols, col_params, bound = [], [], iter(values)
    for expr, header, kind in zip(select, headers, kinds):
        if "?" in expr:  # a server-made value (segment names, a transition's previous segment): bound
            col_params.append(next(bound))
        elif fmt == "csv" and kind == "text":  # a quote prefix where a spreadsheet would see a formula
            expr = f"CASE WHEN left({expr}, 1) IN (SELECT unnest(?::VARCHAR[])) THEN chr(39) || {expr} ELSE {expr} END"
            col_params.append(_FORMULA_STARTS)
        cols.append(f"{expr} AS {quote_ident(header)}")
    options = "(FORMAT csv, HEADER true)" if fmt == "csv" else "(FORMAT parquet, COMPRESSION zstd)"
    final = Path(out)
    part = final.with_name(final.name + ".part")
    query = f"SELECT {', '.join(cols)} FROM {source} WHERE {where} ORDER BY {ROW}"
    with store.cursor() as cur:
        cur.execute(f"COPY ({query}) TO ? {options}", col_params + source_params + params + [str(part)])
        rows = cur.execute(f"SELECT count(*) FROM {ctx.table} WHERE {where}", params).fetchone()[0]
    os.replace(part, final)
    return FlatExport(rows=int(rows), path=str(final), fmt=fmt)
