"""Which bin of an explicit edge list a value falls in: one formula for the pre-aggregated tables
(core/aggregates_build.py) and for the filters that must select exactly the rows those tables counted
(a lasso snapped to the scatter's grid cells, core/filters.py).

Bin j holds edges[j] <= v < edges[j + 1], the last bin closed at the maximum; NULL, NaN and infinities
go to bin -1. The SQL first guesses the bin from the (uniform) width, then corrects the guess against
the explicit edges, so floating point rounding cannot put a row in a different bin than the edges say.
"""
from __future__ import annotations

import numpy as np


def bin_parts(i: int, column: str, edges: tuple[float, ...]) -> tuple[str, list, str, list]:
    """The bin of a column (a quoted identifier or __x / __y) as (inner SQL, params, outer SQL, params):
    the inner select keeps the finite value v<i> and a first guess g<i> from the bin width; the outer
    one corrects the guess against the explicit edges (for a build that bins many columns in one pass)."""
    top = len(edges) - 1
    width = (edges[-1] - edges[0]) / top
    n = int(i)
    value = f"CASE WHEN isfinite({column}::DOUBLE) THEN {column}::DOUBLE END"
    inner = f"{value} AS v{n}, least(greatest(floor(({value} - ?) / ?), 0), ?)::INTEGER AS g{n}"
    # list indexes are 1-based: edges[j] is (e)[j + 1]; greatest() skips NULLs, so test v, not g
    outer = (f"CASE WHEN v{n} IS NULL THEN -1 WHEN v{n} < (?::DOUBLE[])[g{n} + 1] THEN g{n} - 1 "
             f"WHEN g{n} < ? AND v{n} >= (?::DOUBLE[])[g{n} + 2] THEN g{n} + 1 ELSE g{n} END")
    return inner, [edges[0], width if width > 0 else 1.0, top - 1], outer, [list(edges), top - 1, list(edges)]


def bin_sql(column: str, edges: tuple[float, ...]) -> tuple[str, list]:
    """The same bin as one SQL expression over a FINITE column (callers test isfinite first): the guess
    moved down one where the value is below its lower edge, up one where it reaches the next bin's. The
    guess appears four times (the CASE it replaces needed six): planning cost grows with the expression's size."""
    top = len(edges) - 1
    width = (edges[-1] - edges[0]) / top
    guess = f"least(greatest(floor(({column}::DOUBLE - ?) / ?), 0), ?)::INTEGER"
    g = [edges[0], width if width > 0 else 1.0, top - 1]
    sql = (f"({guess} - ({column}::DOUBLE < (?::DOUBLE[])[{guess} + 1])::INTEGER "
           f"+ ({guess} < ? AND {column}::DOUBLE >= (?::DOUBLE[])[{guess} + 2])::INTEGER)")
    # the last bin is closed: a guess of the last bin never moves up
    return sql, g + [list(edges)] + g + g + [top - 1, list(edges)] + g


def bin_of(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """The same bins in numpy: -1 for missing or non-finite values (and below the first edge)."""
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    out = np.minimum(np.searchsorted(e, v, side="right") - 1, len(e) - 2)  # the last bin is closed
    return np.where(np.isfinite(v), out, -1)
